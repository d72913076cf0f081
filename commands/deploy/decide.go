package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/integrations/semaphore"
	"github.com/devy-chatops/devy/store"
)

// requestOf reads the request a button points at. The value comes from Slack
// and may have been tampered with, so it is parsed strictly.
func (d *Desk) requestOf(ctx context.Context, a commands.Action) (store.PromotionRequest, error) {
	id, err := strconv.ParseUint(a.Value, 10, 64)
	if err != nil || id == 0 {
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
	if a.UserID == r.RequestedBy && !d.cfg.AllowSelfApproval {
		return commands.Reply{}, commands.Userf("You asked for this promotion, so someone else has to approve it: that is the point of a second pair of eyes.")
	}
	if err := d.checkApprover(ctx, a.UserID, r); err != nil {
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
		return commands.Reply{}, commands.Userf("%s Nothing was promoted; approve again once it is lifted.", lockText(*l))
	}
	cur, err := d.heroku.CurrentRelease(ctx, r.StagingAppID)
	if err != nil {
		return commands.Reply{}, fmt.Errorf("check staging before approving: %w", err)
	}
	if cur.ID != r.ReleaseID {
		note := fmt.Sprintf("Staging moved on from v%d to v%d after this request, so its approval was refused as stale; run `/deploy promote` for a fresh diff.", r.ReleaseVersion, cur.Version)
		return commands.Reply{}, d.expire(ctx, r, note)
	}
	if r.SkipCIReason == "" && d.ci != nil {
		ci := d.ciOf(ctx, r.SHA)
		if ci.Err != nil {
			return commands.Reply{}, fmt.Errorf("check CI before approving: %w", ci.Err)
		}
		if ci.State != semaphore.Passed {
			return commands.Reply{}, commands.Userf("CI for %s is %s now, so I won't promote it; nothing was promoted.", format.Short(r.SHA), ci.State)
		}
	}

	r, err = d.store.Approve(r.ID, a.UserID)
	var de *store.DecisionError
	if errors.As(err, &de) {
		switch de.Reason {
		case "locked":
			return commands.Reply{}, commands.Userf("%s Nothing was promoted.", lockText(*de.Lock))
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
		d.run(ctx, r)
	})
	return commands.Reply{}, nil
}

// expire closes a pending request that can no longer be approved and redraws
// it; the returned error tells the clicker why.
func (d *Desk) expire(ctx context.Context, r store.PromotionRequest, note string) error {
	closed, err := d.store.CloseRequest(r.ID, store.StatusExpired, "devy", note)
	var de *store.DecisionError
	if errors.As(err, &de) {
		return d.alreadyDecided(de.Request)
	}
	if err != nil {
		return err
	}
	d.redraw(ctx, closed)
	if note != "" {
		return commands.Userf("%s", note)
	}
	return commands.Userf("Request #%d expired at %s; run `/deploy promote` for a fresh one.", r.ID, format.Stamp(r.ExpiresAt))
}

// checkApprover applies DEVY_APPROVERS and DEVY_APPROVER_NOT_AUTHOR.
func (d *Desk) checkApprover(ctx context.Context, user string, r store.PromotionRequest) error {
	if len(d.cfg.Approvers) > 0 {
		allowed := false
		for _, id := range d.cfg.Approvers {
			if id == user {
				allowed = true
				break
			}
			if strings.HasPrefix(id, "S") {
				members, err := d.dir.GroupMembers(ctx, id)
				if err != nil {
					// Fail closed, but say so plainly: this is not the clicker's fault.
					d.log.Warn().Err(err).Str("group", id).Msg("reading an approver group failed")
					return commands.Userf("I couldn't check whether you are in <!subteam^%s>, so nothing was promoted; try again, or ask an admin to check DEVY_APPROVERS.", id)
				}
				for _, m := range members {
					if m == user {
						allowed = true
					}
				}
			}
			if allowed {
				break
			}
		}
		if !allowed {
			var who []string
			for _, id := range d.cfg.Approvers {
				if strings.HasPrefix(id, "S") {
					who = append(who, "<!subteam^"+id+">")
				} else {
					who = append(who, "<@"+id+">")
				}
			}
			return commands.Userf("Only %s can approve promotions; ask one of them.", strings.Join(who, ", "))
		}
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
	r, err = d.store.CloseRequest(r.ID, store.StatusRejected, a.UserID, "")
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
	pipelineID, err := d.pipelineKey(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	now := d.store.Now()
	l, err := d.store.AcquireLock(store.Lock{Pipeline: pipelineID, Holder: req.UserID, Reason: reason, Until: now.Add(dur)})
	var le *store.LockedError
	if errors.As(err, &le) {
		return commands.Reply{}, commands.Userf("%s Ask them to `/deploy unlock`, or wait.", lockText(le.Lock))
	}
	if err != nil {
		return commands.Reply{}, err
	}
	return commands.Reply{Message: commands.Message{Text: "🔒 " + lockText(l) + " `/deploy unlock` lifts it."}}, nil
}

// lockDuration takes a trailing "for 2h" (or "for 2 hours") off a lock's
// words. "for" followed by words that are no duration is part of the reason,
// as in "waiting for QA"; a number that is no duration is refused.
func lockDuration(args []string, def time.Duration) (time.Duration, []string, error) {
	n := len(args)
	switch {
	case n >= 3 && strings.EqualFold(args[n-3], "for") && startsWithDigit(args[n-2]):
		if unit, ok := lockUnits[strings.ToLower(args[n-1])]; ok {
			d, err := parseLockDuration(args[n-2] + unit)
			return d, args[:n-3], err
		}
	case n >= 2 && strings.EqualFold(args[n-2], "for") && startsWithDigit(args[n-1]):
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

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func parseLockDuration(s string) (time.Duration, error) {
	bad := commands.Userf("I couldn't read “for %s”; give a duration such as `for 30m`, `for 2h` or `for 1d` (at most 7 days).", s)
	var d time.Duration
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d < time.Minute || d > 7*24*time.Hour {
		return 0, bad
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
	l, err := d.store.ReleaseLock(pipelineID, req.UserID, d.isAdmin(req.UserID))
	var le *store.LockedError
	switch {
	case errors.Is(err, store.ErrNotLocked):
		return commands.Reply{}, commands.Userf("Production is not locked; nothing to unlock.")
	case errors.As(err, &le) && le.Lock.RequestID != 0:
		return commands.Reply{}, commands.Userf("%s It unlocks by itself when the promotion ends.", lockText(le.Lock))
	case errors.As(err, &le):
		return commands.Reply{}, commands.Userf("%s Only they or a Devy admin can unlock it.", lockText(le.Lock))
	case err != nil:
		return commands.Reply{}, err
	}
	text := fmt.Sprintf("🔓 <@%s> unlocked production promotions.", req.UserID)
	if l.Holder != req.UserID {
		text = fmt.Sprintf("🔓 <@%s> lifted <@%s>'s lock on production promotions.", req.UserID, l.Holder)
	}
	return commands.Reply{Message: commands.Message{Text: text}}, nil
}

func (d *Desk) history(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	if len(args) > 0 {
		return commands.Reply{}, commands.Userf("`/deploy history` takes no arguments; it lists the recent promotions.")
	}
	entries, err := d.store.AuditLog(10, "promotion.finished")
	if err != nil {
		return commands.Reply{}, err
	}
	if len(entries) == 0 {
		return commands.Say("No promotions yet. `/deploy promote` asks for the first one."), nil
	}
	var lines []string
	for _, e := range entries {
		lines = append(lines, d.historyLine(e))
	}
	return commands.Reply{Message: commands.Message{Text: "Recent promotions", Blocks: []commands.Block{
		commands.Header{Text: "Recent promotions"},
		commands.Section{Text: strings.Join(lines, "\n")},
	}}, Ephemeral: true}, nil
}

func (d *Desk) historyLine(e store.AuditEntry) string {
	x := e.Detail
	rng := d.shaLink(x["base_sha"]) + "…" + d.shaLink(x["sha"])
	if x["compare_url"] != "" {
		rng = fmt.Sprintf("<%s|%s…%s>", x["compare_url"], format.Short(x["base_sha"]), format.Short(x["sha"]))
	}
	icon := map[string]string{store.StatusSucceeded: "✅", store.StatusFailed: "❌", store.StatusUnknown: "⚠️"}[x["outcome"]]
	return fmt.Sprintf("%s %s — %s v%s %s, requested by <@%s>, approved by <@%s>: %s",
		icon, format.Stamp(e.At), x["staging_app"], x["release"], rng, x["requested_by"], x["approved_by"], x["outcome"])
}

// promoteCallTimeout bounds the promotion call itself.
const promoteCallTimeout = 30 * time.Second

// run promotes an approved request and follows it to the end. The request is
// already "promoting" in the store (the intent is recorded before the call),
// so a crash from here on never leads to a second promotion: on restart,
// Resume follows it or settles it from what production runs.
func (d *Desk) run(ctx context.Context, r store.PromotionRequest) {
	var targets []string
	for _, t := range r.Targets {
		targets = append(targets, t.AppID)
	}
	// The call is not cut off by a shutdown: Heroku's answer (the
	// promotion's id) is what lets the next start follow it rather than
	// guess from production's releases.
	call, cancel := context.WithTimeout(context.WithoutCancel(ctx), promoteCallTimeout)
	p, err := d.heroku.Promote(call, r.Pipeline, r.StagingAppID, r.ReleaseID, targets)
	cancel()
	if err != nil {
		code := apierr.StatusCode(err)
		if code >= 400 && code < 500 {
			// Heroku answered and refused: nothing was promoted.
			var ae *apierr.Error
			msg := err.Error()
			if errors.As(err, &ae) && ae.Message != "" {
				msg = ae.Message
			}
			d.finish(ctx, r, store.StatusFailed, r.Targets, "Heroku refused the promotion: "+format.Escape(msg))
			return
		}
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("promotion call did not return; settling from production's releases")
		// An error Heroku sent means it did not take the call; with no
		// answer at all it may have, so production is watched a while.
		wait := d.cfg.SettleWithin
		if code >= 500 {
			wait = 0
		}
		d.settle(ctx, r, "Heroku did not confirm the promotion call", wait)
		return
	}
	if err := d.store.StartPromotion(r.ID, p.ID); err != nil {
		d.log.Error().Err(err).Uint64("request", r.ID).Str("promotion", p.ID).Msg("recording the promotion id failed")
	}
	r.PromotionID = p.ID
	d.follow(ctx, r)
}

// follow polls the promotion's targets with back-off until each succeeded or
// failed, redrawing the message when something changes.
func (d *Desk) follow(ctx context.Context, r store.PromotionRequest) {
	poll := commands.Backoff{Next: d.cfg.PollInterval, Max: d.cfg.MaxPoll}
	deadline := r.DecidedAt.Add(d.cfg.PromotionTimeout)
	for {
		ts, err := d.heroku.PromotionTargets(ctx, r.PromotionID)
		if err == nil {
			targets, changed, done := mergeTargets(r.Targets, ts)
			if changed {
				r.Targets = targets
				if err := d.store.SetTargets(r.ID, targets); err != nil {
					d.log.Warn().Err(err).Uint64("request", r.ID).Msg("recording target states failed")
				}
				d.redraw(ctx, r)
			}
			if done {
				status := store.StatusSucceeded
				for _, t := range targets {
					if t.Status != "succeeded" {
						status = store.StatusFailed
					}
				}
				d.finish(ctx, r, status, targets, "")
				return
			}
		} else if ctx.Err() == nil {
			d.log.Warn().Err(err).Uint64("request", r.ID).Msg("reading promotion targets failed; will retry")
		}
		if d.timeNow().After(deadline) {
			d.finish(ctx, r, store.StatusUnknown, r.Targets, fmt.Sprintf("Heroku still reported the promotion as pending after %s; check the apps on Heroku.", d.cfg.PromotionTimeout))
			return
		}
		if !poll.Wait(ctx) {
			return // Devy is stopping; Resume picks this up at the next start.
		}
	}
}

func mergeTargets(known []store.Target, got []heroku.PromotionTarget) (out []store.Target, changed, done bool) {
	out = append([]store.Target(nil), known...)
	done = len(got) > 0
	for _, g := range got {
		if g.Status == "pending" || g.Status == "" {
			done = false
		}
		for i := range out {
			if out[i].AppID != g.AppID {
				continue
			}
			before := out[i].Status
			if before == "" {
				before = "pending" // never heard of is the same as pending
			}
			if before != g.Status || out[i].Error != g.ErrorMessage || out[i].ReleaseID != g.ReleaseID {
				out[i].Status, out[i].Error, out[i].ReleaseID = g.Status, g.ErrorMessage, g.ReleaseID
				changed = true
			}
		}
	}
	return out, changed, done
}

// settle decides the outcome of a promotion whose Heroku id is unknown (the
// call's answer was lost, or Devy stopped before recording it) by looking at
// what production runs. It never promotes again.
func (d *Desk) settle(ctx context.Context, r store.PromotionRequest, why string, within time.Duration) {
	deadline := d.timeNow().Add(within)
	wait := d.cfg.PollInterval
	for {
		targets := append([]store.Target(nil), r.Targets...)
		all := true
		var behind []string
		for i, t := range targets {
			rel, err := d.heroku.CurrentRelease(ctx, t.AppID)
			if err != nil {
				if ctx.Err() != nil {
					return // still promoting: the next start settles it
				}
				all = false
				behind = append(behind, t.AppName+" (could not be read)")
				continue
			}
			if rel.SlugID != "" && rel.SlugID == r.SlugID {
				targets[i].Status, targets[i].ReleaseID = "succeeded", rel.ID
			} else {
				all = false
				behind = append(behind, fmt.Sprintf("%s (still v%d)", t.AppName, rel.Version))
			}
		}
		if all {
			d.finish(ctx, r, store.StatusSucceeded, targets, why+"; production's current releases show the reviewed build.")
			return
		}
		if !d.timeNow().Add(wait).Before(deadline) {
			d.finish(ctx, r, store.StatusUnknown, targets, fmt.Sprintf("%s, and production does not run the reviewed build: %s. I did not promote again; check Heroku, then `/deploy promote` if it is still needed.", why, strings.Join(behind, ", ")))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, d.cfg.MaxPoll)
	}
}

func (d *Desk) finish(ctx context.Context, r store.PromotionRequest, status string, targets []store.Target, note string) {
	d.forgetStatus()
	done, err := d.store.FinishPromotion(r.ID, status, targets, note)
	if err != nil {
		d.log.Error().Err(err).Uint64("request", r.ID).Msg("recording the promotion outcome failed")
		return
	}
	d.log.Info().Uint64("request", r.ID).Str("outcome", status).Msg("promotion finished")
	if d.finished != nil {
		defer d.finished(ctx, done)
	}
	d.redraw(ctx, done)
	if done.MessageTS == "" {
		return
	}
	words := map[string]string{
		store.StatusSucceeded: "🚀 is live on " + targetNames(done),
		store.StatusFailed:    "❌ failed; the message above shows Heroku's error for each app",
		store.StatusUnknown:   "⚠️ ended in a state I can't confirm; see the message above",
	}[status]
	msg := commands.Message{Text: fmt.Sprintf("<@%s> your promotion #%d (%s v%d) %s.", done.RequestedBy, done.ID, done.StagingAppName, done.ReleaseVersion, words)}
	if _, err := d.poster.Post(ctx, done.Channel, done.MessageTS, msg); err != nil {
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("thread reply failed")
	}
}

// Resume finds promotions nobody follows — left running when Devy stopped,
// or by another Devy process that died — and sees each through: following
// it when Heroku's id is known, otherwise settling it from production's
// releases without promoting again. It then keeps looking, every
// TakeoverEvery, until ctx ends.
func (d *Desk) Resume(ctx context.Context) error {
	d.bg.Go(d.Warm)
	if err := d.adoptOrphans(); err != nil {
		return fmt.Errorf("resume promotions: %w", err)
	}
	d.bg.Go(func(ctx context.Context) {
		t := time.NewTicker(d.cfg.TakeoverEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := d.adoptOrphans(); err != nil {
				d.log.Warn().Err(err).Msg("looking for promotions to take over failed; will retry")
			}
		}
	})
	return nil
}

func (d *Desk) adoptOrphans() error {
	rs, err := d.store.OrphanedPromotions(d.cfg.LeaseTTL)
	if err != nil {
		return err
	}
	for _, r := range rs {
		d.adopt(r, false, d.resume)
	}
	return nil
}

// resume sees through a promotion this process took over.
func (d *Desk) resume(ctx context.Context, r store.PromotionRequest) {
	// Re-read it: its previous follower may have recorded more since the
	// list was made.
	if cur, err := d.store.Request(r.ID); err == nil {
		r = cur
	}
	if r.Status != store.StatusPromoting {
		return
	}
	d.log.Info().Uint64("request", r.ID).Str("promotion", r.PromotionID).Msg("resuming promotion")
	if r.PromotionID != "" {
		d.follow(ctx, r)
		return
	}
	d.settle(ctx, r, "Devy restarted before Heroku confirmed the promotion call", d.cfg.SettleWithin)
}

// adopt claims the lease on promotion r and, if this process got it, runs
// work (promote, follow or settle) in the background, renewing the lease
// as it goes; work's context ends if another process takes the promotion
// over. approved says this process's Approve just won: then work runs even
// if the lease cannot be recorded, since only the approver ever calls
// Heroku's promotion and a lease is about following once, not about safety.
func (d *Desk) adopt(r store.PromotionRequest, approved bool, work func(context.Context, store.PromotionRequest)) {
	d.followMu.Lock()
	if d.following[r.ID] {
		d.followMu.Unlock()
		return
	}
	d.following[r.ID] = true
	d.followMu.Unlock()
	done := func() {
		d.followMu.Lock()
		delete(d.following, r.ID)
		d.followMu.Unlock()
	}
	ok, err := d.store.ClaimPromotion(r.ID, d.cfg.Follower, d.cfg.LeaseTTL)
	switch {
	case err != nil && !approved:
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("claiming a promotion to take over failed; will retry")
		done()
		return
	case err != nil:
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("recording this process as the promotion's follower failed; following anyway")
	case !ok:
		d.log.Info().Uint64("request", r.ID).Msg("another Devy process follows this promotion")
		done()
		return
	}
	d.bg.Work("a promotion", func(ctx context.Context) {
		defer done()
		ctx, cancel := context.WithCancel(ctx)
		renewing := make(chan struct{})
		go func() {
			defer close(renewing)
			d.keepLease(ctx, cancel, r.ID)
		}()
		work(ctx, r)
		cancel()
		<-renewing
		// Devy is stopping (or the promotion ended, which already ended
		// the lease): let another process take over at once.
		if err := d.store.ReleasePromotion(r.ID, d.cfg.Follower); err != nil {
			d.log.Warn().Err(err).Uint64("request", r.ID).Msg("releasing the promotion's lease failed; it expires by itself")
		}
	})
}

// keepLease renews the lease on request id every third of its length until
// ctx ends; if another process took the promotion over, it calls lost.
func (d *Desk) keepLease(ctx context.Context, lost context.CancelFunc, id uint64) {
	t := time.NewTicker(d.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := d.store.ClaimPromotion(id, d.cfg.Follower, d.cfg.LeaseTTL)
		if err != nil {
			d.log.Warn().Err(err).Uint64("request", id).Msg("renewing the promotion's lease failed; will retry")
			continue
		}
		if ok {
			continue
		}
		if r, err := d.store.Request(id); err == nil && r.Status != store.StatusPromoting {
			return // it ended; the work is finishing
		}
		d.log.Warn().Uint64("request", id).Msg("another Devy process took over following this promotion; stopping here")
		lost()
		return
	}
}

// processName names this process in promotion leases: which host and pid,
// and a random part so that a restarted process with a reused pid is
// someone else.
func processName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
