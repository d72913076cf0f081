package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/semaphore"
	"github.com/devy-chatops/devy/store"
)

// requestOf reads the request a button points at. The value comes from Slack
// and may have been tampered with, so it is parsed strictly.
func (d *Desk) requestOf(ctx context.Context, a commands.Action) (store.PromotionRequest, error) {
	id, ok := parseRequestID(a.Value)
	if !ok {
		return store.PromotionRequest{}, commands.Userf("That button does not point at a promotion request I know; run `/deploy status` to see what is pending.")
	}
	r, err := d.store.Request(id)
	if errors.Is(err, store.ErrNotFound) {
		return r, commands.Userf("Promotion request #%d does not exist; run `/deploy status` to see what is pending.", id)
	}
	if err != nil {
		return r, err
	}
	// The message is live as soon as Slack has it, a moment before its ts
	// is recorded; a click from that moment waits for it (briefly), so that
	// it can be matched to its message.
	for wait := 0; r.MessageTS == "" && a.MessageTS != "" && r.Status == store.StatusPending && wait < 20; wait++ {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if r, err = d.store.Request(id); err != nil {
			return r, err
		}
	}
	// A button decides only the request of the message it sits on: what was
	// reviewed is that message's diff.
	if r.MessageTS != "" && (a.MessageTS != "" && a.MessageTS != r.MessageTS || a.ChannelID != "" && a.ChannelID != r.Channel) {
		return r, commands.Userf("That button does not belong to promotion request #%d's message, so it decides nothing; use the buttons on the request itself.", id)
	}
	return r, nil
}

// parseRequestID reads a button's value: a request id in plain decimal,
// nothing else (no sign, no spaces, no zero).
func parseRequestID(v string) (uint64, bool) {
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 || strconv.FormatUint(id, 10) != v {
		return 0, false
	}
	return id, true
}

// alreadyDecided tells a late clicker what happened to the request.
func (d *Desk) alreadyDecided(r store.PromotionRequest) error {
	switch r.Status {
	case store.StatusRejected:
		return commands.Userf("Request #%d was already rejected by <@%s> at %s.", r.ID, r.DecidedBy, format.Stamp(r.DecidedAt))
	case store.StatusCancelled:
		return commands.Userf("Request #%d was withdrawn; nothing will be promoted.", r.ID)
	case store.StatusExpired:
		return commands.Userf("Request #%d expired; run `/deploy promote` for a fresh one.", r.ID)
	case store.StatusPending:
		return nil
	}
	return commands.Userf("Request #%d was already approved by <@%s> at %s; it is %s.", r.ID, r.DecidedBy, format.Stamp(r.DecidedAt), r.Status)
}

// mayApprove refuses a user who may not approve r, whatever staging, CI and
// the lock say: the requester (four eyes) and anyone DEVY_APPROVERS leaves out.
func (d *Desk) mayApprove(ctx context.Context, user string, r store.PromotionRequest) error {
	if user == r.RequestedBy && !d.cfg.AllowSelfApproval {
		return commands.Userf("You asked for this promotion, so someone else has to approve it: that is the point of a second pair of eyes.")
	}
	return d.checkApprover(ctx, user, r)
}

// approveCheck is Approve's precheck: the refusals that depend on who clicks
// and on what was already decided, so that the shell refuses them before its
// "Promote to production?" confirm. It changes nothing: an expired request is
// left for the click to expire.
func (d *Desk) approveCheck(ctx context.Context, a commands.Action) error {
	r, err := d.requestOf(ctx, a)
	if err != nil {
		return err
	}
	if err := d.alreadyDecided(r); err != nil {
		return err
	}
	if !d.store.Now().Before(r.ExpiresAt) {
		return nil
	}
	return d.mayApprove(ctx, a.UserID, r)
}

func (d *Desk) approve(ctx context.Context, a commands.Action) (commands.Reply, error) {
	r, err := d.requestOf(ctx, a)
	if err != nil {
		return commands.Reply{}, err
	}
	if err := d.alreadyDecided(r); err != nil {
		return commands.Reply{}, err
	}
	now := d.store.Now()
	if !now.Before(r.ExpiresAt) {
		return commands.Reply{}, d.expire(ctx, r, "")
	}
	if err := d.mayApprove(ctx, a.UserID, r); err != nil {
		return commands.Reply{}, err
	}
	// Every gate again, now: time has passed since the request was made.
	// Any failure to check refuses (fail closed).
	if l, err := d.store.Lock(r.Pipeline); err != nil {
		return commands.Reply{}, err
	} else if l != nil && l.RequestID == r.ID {
		// Someone approved this very request a moment ago.
		if cur, err := d.store.Request(r.ID); err == nil {
			return commands.Reply{}, d.alreadyDecided(cur)
		}
		return commands.Reply{}, commands.Userf("Request #%d is already being promoted.", r.ID)
	} else if l != nil && (l.RequestID != 0 || l.Holder != r.RequestedBy) {
		return commands.Reply{}, commands.Userf("%s Nothing was promoted; approve again once it is lifted.", describe.Lock(*l))
	}
	// Staging's release and CI are read fresh and side by side; staging's
	// answer is looked at first, as a stale request needs no CI verdict.
	checkCI := r.SkipCIReason == "" && d.ci != nil
	ciDone := make(chan format.CI, 1)
	if checkCI {
		go func() { ciDone <- d.ciOf(ctx, r.SHA) }()
	}
	cur, err := d.heroku.CurrentRelease(ctx, r.StagingAppID)
	if err != nil {
		return commands.Reply{}, fmt.Errorf("check staging before approving: %w", err)
	}
	if cur.ID != r.ReleaseID {
		note := fmt.Sprintf("Staging moved on from v%d to v%d after this request, so its approval was refused as stale; run `/deploy promote` for a fresh diff.", r.ReleaseVersion, cur.Version)
		return commands.Reply{}, d.expire(ctx, r, note)
	}
	if checkCI {
		ci := <-ciDone
		if ci.Err != nil {
			return commands.Reply{}, fmt.Errorf("check CI before approving: %w", ci.Err)
		}
		if ci.State != semaphore.Passed {
			return commands.Reply{}, commands.Userf("CI for %s is %s now, so I won't promote it; nothing was promoted.", format.Short(r.SHA), ci.State)
		}
	}

	if err := d.verifiedGate(ctx, a, r); errors.Is(err, errModalOpened) {
		return commands.Reply{}, nil
	} else if err != nil {
		return commands.Reply{}, err
	}

	r, err = d.store.Approve(r.ID, a.UserID)
	var de *store.DecisionError
	if errors.As(err, &de) {
		switch de.Reason {
		case "locked":
			return commands.Reply{}, commands.Userf("%s Nothing was promoted.", describe.Lock(*de.Lock))
		case "expired":
			return commands.Reply{}, d.expire(ctx, de.Request, "")
		}
		return commands.Reply{}, d.alreadyDecided(de.Request)
	}
	if err != nil {
		return commands.Reply{}, err
	}
	d.log.Info().Uint64("request", r.ID).Str("approver", a.UserID).Str("follower", d.cfg.Follower).Msg("promotion approved")
	// The lease is taken before anything else that can be slow: an
	// approved promotion without a follower looks abandoned to the other
	// processes' (and this one's) takeover after LeaseTTL, and a slow
	// chat.update must not let it be settled before it was ever called.
	// The redraw runs first inside the work, so the message cannot go back
	// to "promoting…" after the progress the work shows.
	d.adopt(r, true, func(ctx context.Context, r store.PromotionRequest) {
		d.redraw(ctx, r)
		d.carryOut(ctx, r)
	})
	return commands.Reply{}, nil
}

// expire closes a pending request that can no longer be approved; the
// store records the expiry's notice (redraw, thread reply) with it, and the
// outbox carries it out. The returned error tells the clicker why.
func (d *Desk) expire(_ context.Context, r store.PromotionRequest, note string) error {
	_, err := d.store.CloseRequest(r.ID, store.StatusExpired, "devy", note)
	var de *store.DecisionError
	if errors.As(err, &de) {
		return d.alreadyDecided(de.Request)
	}
	if err != nil {
		return err
	}
	d.outbox.Flush(d.bg, "an expiry's notice")
	if note != "" {
		return commands.Userf("%s", note)
	}
	return commands.Userf("Request #%d expired at %s; run `/deploy promote` for a fresh one.", r.ID, format.Stamp(r.ExpiresAt))
}

// isApprover says whether user is in DEVY_APPROVERS (by id or through a
// user group); with none set, everyone is. A group that cannot be read
// gives an error saying so, to refuse on (fail closed).
func (d *Desk) isApprover(ctx context.Context, user string) (bool, error) {
	if len(d.cfg.Approvers) == 0 {
		return true, nil
	}
	for _, id := range d.cfg.Approvers {
		if id == user {
			return true, nil
		}
		if !strings.HasPrefix(id, "S") || d.dir == nil {
			continue
		}
		members, err := d.dir.GroupMembers(ctx, id)
		if err != nil {
			// Fail closed, but say so plainly: this is not the clicker's fault.
			d.log.Warn().Err(err).Str("group", id).Msg("reading an approver group failed")
			return false, commands.Userf("I couldn't check whether you are in <!subteam^%s>, so nothing was done; try again, or %s.", id, d.askAdmin("to check DEVY_APPROVERS"))
		}
		for _, m := range members {
			if m == user {
				return true, nil
			}
		}
	}
	return false, nil
}

// askAdmin is the end of a refusal that needs an admin: ask one, or, with
// none configured, how to configure one. what says what for ("to check
// DEVY_APPROVERS").
func (d *Desk) askAdmin(what string) string {
	if len(d.cfg.Admins) == 0 {
		return "set DEVY_ADMINS to the Slack user ids of Devy's admins " + what
	}
	return "ask a Devy admin " + what
}

// checkApprover applies DEVY_APPROVERS and DEVY_APPROVER_NOT_AUTHOR.
func (d *Desk) checkApprover(ctx context.Context, user string, r store.PromotionRequest) error {
	ok, err := d.isApprover(ctx, user)
	if err != nil {
		return err
	}
	if !ok {
		return commands.Userf("Only %s can approve promotions; ask one of them.", describe.Approvers(d.cfg.Approvers))
	}
	if d.cfg.ApproverNotAuthor {
		if r.CompareURL == "" && !d.isAdmin(user) {
			// No commit list was read (Heroku did not know a release's
			// commit): the check cannot be made, so it refuses.
			next := "a Devy admin can approve it"
			if len(d.cfg.Admins) == 0 {
				next = "no Devy admins are set (DEVY_ADMINS) to approve it instead"
			}
			return commands.Userf("I couldn't tell who wrote the commits in this promotion (Heroku does not know its commit), and DEVY_APPROVER_NOT_AUTHOR asks me to check, so nothing was promoted; %s.", next)
		}
		for _, login := range r.Authors {
			if d.cfg.UserMap[strings.ToLower(login)] == user {
				return commands.Userf("You wrote commits in this promotion (as %s), so someone who didn't has to approve it.", login)
			}
		}
	}
	return nil
}

func (d *Desk) reject(ctx context.Context, a commands.Action) (commands.Reply, error) {
	r, err := d.requestOf(ctx, a)
	if err != nil {
		return commands.Reply{}, err
	}
	if err := d.alreadyDecided(r); err != nil {
		return commands.Reply{}, err
	}
	if a.UserID != r.RequestedBy {
		ok, err := d.isApprover(ctx, a.UserID)
		if err != nil {
			return commands.Reply{}, err
		}
		if !ok {
			return commands.Reply{}, commands.Userf("Only %s or the requester can reject promotions; ask one of them.", describe.Approvers(d.cfg.Approvers))
		}
	}
	r, err = d.store.CloseRequest(r.ID, store.StatusRejected, a.UserID, "", effects(r.ID, EffectReport)...)
	var de *store.DecisionError
	if errors.As(err, &de) {
		if de.Reason == "expired" {
			return commands.Reply{}, d.expire(ctx, de.Request, "")
		}
		return commands.Reply{}, d.alreadyDecided(de.Request)
	}
	if err != nil {
		return commands.Reply{}, err
	}
	d.redraw(ctx, r)
	d.outbox.Flush(d.bg, "a rejection's report")
	return commands.Reply{}, nil
}

func (d *Desk) cancel(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	if len(args) > 0 {
		return commands.Reply{}, commands.Userf("`/deploy cancel` takes no arguments; it withdraws your pending request.")
	}
	pipelineID, err := d.pipelineKey(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	r, err := d.store.OpenRequest(pipelineID)
	if err != nil {
		return commands.Reply{}, err
	}
	if r == nil || r.Status != store.StatusPending {
		if r != nil {
			return commands.Reply{}, commands.Userf("Request #%d is already being promoted; it can't be withdrawn now.", r.ID)
		}
		return commands.Reply{}, commands.Userf("You have no pending promotion request; `/deploy status` shows what is going on.")
	}
	if r.RequestedBy != req.UserID {
		return commands.Reply{}, commands.Userf("Request #%d is <@%s>'s, so only they can withdraw it; press Reject on it if it should not ship.", r.ID, r.RequestedBy)
	}
	closed, err := d.store.CloseRequest(r.ID, store.StatusCancelled, req.UserID, "")
	var de *store.DecisionError
	if errors.As(err, &de) {
		return commands.Reply{}, d.alreadyDecided(de.Request)
	}
	if err != nil {
		return commands.Reply{}, err
	}
	d.redraw(ctx, closed)
	return commands.Say("Withdrew your promotion request #%d.", r.ID), nil
}

func (d *Desk) lock(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	dur, args, err := lockDuration(args, d.cfg.LockDuration)
	if err != nil {
		return commands.Reply{}, err
	}
	reason := strings.Join(args, " ")
	if ok, err := d.isApprover(ctx, req.UserID); err != nil {
		return commands.Reply{}, err
	} else if !ok {
		return commands.Reply{}, commands.Userf("Only %s can lock production promotions; ask one of them.", describe.Approvers(d.cfg.Approvers))
	}
	pipelineID, err := d.pipelineKey(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	now := d.store.Now()
	l, err := d.store.AcquireLock(store.Lock{Pipeline: pipelineID, Holder: req.UserID, Reason: reason, Until: now.Add(dur)})
	var le *store.LockedError
	if errors.As(err, &le) {
		return commands.Reply{}, commands.Userf("%s Ask them to `/deploy unlock`, or wait.", describe.Lock(le.Lock))
	}
	if err != nil {
		return commands.Reply{}, err
	}
	return d.announce(ctx, req, "🔒 "+describe.Lock(l)+" `/deploy unlock` lifts it."), nil
}

// announce answers a lock change where it was typed and, typed elsewhere,
// also in the deploy channel, where people look before promoting.
func (d *Desk) announce(ctx context.Context, req commands.Request, text string) commands.Reply {
	msg := commands.Message{Text: text}
	if !d.inDeployChannel(ctx, req) {
		if _, err := d.poster.Post(ctx, d.cfg.Channel, "", msg); err != nil {
			d.log.Warn().Err(err).Str("channel", d.cfg.Channel).Msg("announcing a lock change in the deploy channel failed")
		}
	}
	return commands.Reply{Message: msg}
}

// maxLock is the longest manual lock.
const maxLock = 7 * 24 * time.Hour

// lockDuration takes a trailing "for 2h" (or "for 2 hours") off a lock's
// words, in any case. "for" followed by words that are no duration is part
// of the reason, as in "waiting for QA"; a number that is no duration, a
// negative one or one over the limit is refused.
func lockDuration(args []string, def time.Duration) (time.Duration, []string, error) {
	n := len(args)
	switch {
	case n >= 3 && strings.EqualFold(args[n-3], "for") && numeric(args[n-2]):
		if unit, ok := lockUnits[strings.ToLower(args[n-1])]; ok {
			d, err := parseLockDuration(args[n-2] + unit)
			return d, args[:n-3], err
		}
	case n >= 2 && strings.EqualFold(args[n-2], "for") && numeric(args[n-1]):
		d, err := parseLockDuration(args[n-1])
		return d, args[:n-2], err
	}
	return def, args, nil
}

var lockUnits = map[string]string{
	"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	"d": "d", "day": "d", "days": "d",
}

var unitLengths = map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}

// numeric says s starts like a number, signed or not: "-1h" is a (refused)
// duration, not words of the reason.
func numeric(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

func parseLockDuration(s string) (time.Duration, error) {
	s = strings.ToLower(s)
	if strings.HasPrefix(s, "-") {
		return 0, commands.Userf("A lock can't last a negative time (“for %s”); give a duration such as `for 2h` (at most 7 days).", s)
	}
	tooLong := commands.Userf("A lock lasts at most 7 days, so “for %s” is too long; give at most `for 7d`, and lock again when it ends if needed.", s)
	// A plain number and unit is checked against the limit before it is
	// multiplied, so that a huge one cannot overflow into a short lock.
	digits := strings.TrimRight(strings.TrimPrefix(s, "+"), "mhd")
	if unit, ok := unitLengths[strings.TrimPrefix(strings.TrimPrefix(s, "+"), digits)]; ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
		n, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || n > uint64(maxLock/unit) {
			return 0, tooLong
		}
		return checkLock(s, time.Duration(n)*unit, tooLong)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, commands.Userf("I couldn't read “for %s”; give a duration such as `for 30m`, `for 2h` or `for 1d` (at most 7 days).", s)
	}
	return checkLock(s, d, tooLong)
}

func checkLock(s string, d time.Duration, tooLong error) (time.Duration, error) {
	switch {
	case d > maxLock:
		return 0, tooLong
	case d < time.Minute:
		return 0, commands.Userf("A lock lasts at least a minute, so “for %s” is too short; give a duration such as `for 30m`.", s)
	}
	return d, nil
}

func (d *Desk) unlock(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	if len(args) > 0 {
		return commands.Reply{}, commands.Userf("`/deploy unlock` takes no arguments; it lifts your lock.")
	}
	pipelineID, err := d.pipelineKey(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	// The holder or an admin lifts a lock; with no admins configured, any
	// approver may (the audit log records who, and the announcement
	// mentions the holder).
	force := d.isAdmin(req.UserID)
	if !force && len(d.cfg.Admins) == 0 {
		if force, err = d.isApprover(ctx, req.UserID); err != nil {
			return commands.Reply{}, err
		}
	}
	l, err := d.store.ReleaseLock(pipelineID, req.UserID, force)
	var le *store.LockedError
	switch {
	case errors.Is(err, store.ErrNotLocked):
		return commands.Reply{}, commands.Userf("Production is not locked; nothing to unlock.")
	case errors.As(err, &le) && le.Lock.RequestID != 0:
		return commands.Reply{}, commands.Userf("%s It unlocks by itself when the promotion ends.", describe.Lock(le.Lock))
	case errors.As(err, &le) && len(d.cfg.Admins) == 0:
		return commands.Reply{}, commands.Userf("%s Only they or one of %s can unlock it.", describe.Lock(le.Lock), describe.Approvers(d.cfg.Approvers))
	case errors.As(err, &le):
		return commands.Reply{}, commands.Userf("%s Only they or a Devy admin can unlock it.", describe.Lock(le.Lock))
	case err != nil:
		return commands.Reply{}, err
	}
	text := fmt.Sprintf("🔓 <@%s> unlocked production promotions.", req.UserID)
	if l.Holder != req.UserID {
		text = fmt.Sprintf("🔓 <@%s> lifted <@%s>'s lock on production promotions.", req.UserID, l.Holder)
	}
	return d.announce(ctx, req, text), nil
}

// historySize is how many requests /deploy history lists.
const historySize = 10

// promoted are the statuses of requests that were approved and promoted
// (however it ended); ended adds those that ended without a promotion.
var (
	promoted = []string{store.StatusSucceeded, store.StatusFailed, store.StatusUnknown}
	ended    = append([]string{store.StatusRejected, store.StatusCancelled, store.StatusExpired}, promoted...)
)

// history lists the recent requests that ended, however they ended, or with
// "promoted" only the promotions.
func (d *Desk) history(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	onlyPromoted := len(args) == 1 && strings.EqualFold(args[0], "promoted")
	if len(args) > 0 && !onlyPromoted {
		return commands.Reply{}, commands.Userf("`/deploy history` lists the recent promotion requests, and `/deploy history promoted` only the promotions; it takes no other arguments.")
	}
	all, err := d.store.Requests(ended...)
	if err != nil {
		return commands.Reply{}, err
	}
	title, rs := "Recent promotions and requests", all
	if onlyPromoted {
		title, rs = "Recent promotions", nil
		for _, r := range all {
			if slices.Contains(promoted, r.Status) {
				rs = append(rs, r)
			}
		}
	}
	switch {
	case len(all) == 0:
		return commands.Say("No promotion requests yet. `/deploy promote` asks for the first one."), nil
	case len(rs) == 0:
		return commands.Say("None of the %d recent promotion requests was promoted; `/deploy history` lists them with how each ended.", len(all)), nil
	}
	var lines []string
	for _, r := range rs[:min(len(rs), historySize)] {
		lines = append(lines, describe.Ended(r, d.shaLink))
	}
	return commands.Reply{Message: commands.Message{Text: title, Blocks: []commands.Block{
		commands.Header{Text: title},
		commands.Section{Text: strings.Join(lines, "\n")},
	}}, Ephemeral: true}, nil
}
