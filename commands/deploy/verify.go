package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/announce"
	"github.com/devy-chatops/devy/commands/deploy/pipeline"
	"github.com/devy-chatops/devy/commands/deploy/verify"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// This file is the Etsy step: each author confirms their change on staging
// before it is promoted. The new-staging-release message lists the commits
// new since production by author, with a Verified on staging button; a
// click (or /deploy verify) verifies the clicker's own commits and vouches
// for those of authors who have no Slack user. The promotion request shows
// who is left, and with DEVY_REQUIRE_VERIFIED Approve waits for everyone.

// Users finds a Slack user by e-mail (Slack's users.lookupByEmail).
type Users interface {
	// LookupByEmail returns the user's id, or "" when nobody in the
	// workspace has that e-mail.
	LookupByEmail(ctx context.Context, email string) (string, error)
}

// VerifyStore is the state the Etsy step keeps.
type VerifyStore interface {
	Verify(in store.VerifyInput) ([]store.Verification, error)
	Verifications(pipeline string, shas []string) (map[string]store.Verification, error)
	OverrideVerification(id uint64, by, reason string, unverified []string) (store.PromotionRequest, error)
	ClaimWebhookDelivery(key string) (bool, error)
	ForgetWebhookDelivery(key string) error
	Signal(key string) (json.RawMessage, bool, error)
	UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error)
	TakeSlot(key string) (bool, error)
}

// Action and view ids of the Etsy step.
const (
	ActionVerify = verify.Action
	ViewOverride = "deploy.override"
)

// stagingRange is staging's release and the commits production lacks,
// each with its author's Slack user.
type stagingRange struct {
	snap    pipeline.Snapshot
	commits []store.CommitInfo
}

func (d *Desk) readRange(ctx context.Context) (stagingRange, error) {
	s, err := d.pipe.Snapshot(ctx)
	if err != nil {
		return stagingRange{}, err
	}
	rg := stagingRange{snap: s}
	base, head := s.Production[0].Release.Commit, s.Staging.Release.Commit
	if d.github == nil || base == "" || head == "" || pipeline.SameCode(s.Staging.Release, s.Production[0].Release) {
		return rg, nil
	}
	cmp, err := d.pipe.Compare(ctx, base, head) // remembered: status and promote compare the same pair
	if err != nil {
		return rg, fmt.Errorf("compare production with staging: %w", err)
	}
	rg.commits = d.owners.Commits(ctx, cmp.Commits)
	return rg, nil
}

// verifyState reads what is verified of commits on pipeline.
func (d *Desk) verifyState(pipeline string, commits []store.CommitInfo) ([]verify.Author, error) {
	shas := make([]string, len(commits))
	for i, c := range commits {
		shas[i] = c.SHA
	}
	vs, err := d.store.Verifications(pipeline, shas)
	if err != nil {
		return nil, err
	}
	return verify.Group(commits, vs), nil
}

// verificationText is the request's verification section; "" when the
// request lists no commits.
func (d *Desk) verificationText(r store.PromotionRequest) string {
	if len(r.Commits) == 0 {
		return ""
	}
	as, err := d.verifyState(r.Pipeline, r.Commits)
	if err != nil {
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("reading verifications failed; the request shows none")
		return "*Verified on staging*: unknown (I couldn't read the verifications)."
	}
	s := "*Verified on staging*\n" + verify.Lines(as)
	if o := r.Override; o != nil {
		s += fmt.Sprintf("\n⚠️ <@%s> approved with unverified commits: “%s”", o.By, format.Escape(o.Reason))
	}
	return s
}

// ReleaseBlocks claims the message of staging release id: ok is false when
// it was claimed already (by another Devy process, or for a redelivered
// webhook), and then nothing is to be posted. Otherwise blocks are the
// Etsy step's part of the message: the commits new since production by
// author, each mentioned, and the Verified on staging button. The caller
// reports where the message landed with ReleasePosted.
func (d *Desk) ReleaseBlocks(ctx context.Context, id string) (blocks []commands.Block, ok bool, err error) {
	first, err := d.store.ClaimWebhookDelivery("release:" + id)
	if err != nil || !first {
		return nil, false, err
	}
	rg, err := d.readRange(ctx)
	if err != nil {
		if ferr := d.store.ForgetWebhookDelivery("release:" + id); ferr != nil {
			d.log.Warn().Err(ferr).Msg("forgetting a release's claim failed")
		}
		return nil, false, err
	}
	if rg.snap.Staging.Release.ID != id || len(rg.commits) == 0 {
		// An older release than staging runs now, or nothing to verify.
		return nil, true, nil
	}
	as, err := d.verifyState(rg.snap.Pipeline.ID, rg.commits)
	if err != nil {
		return nil, false, err
	}
	rel := verify.Release{ID: id, Version: rg.snap.Staging.Release.Version, Pipeline: rg.snap.Pipeline.ID, At: d.store.Now()}
	if err := d.releases.Put(rel); err != nil {
		return nil, false, err
	}
	return verify.Blocks(rel, rg.commits, as, d.shaLink), true, nil
}

// ReleasePosted records where release id's message landed (its thread gets
// the reminder; its button is matched to it), or, when posting failed,
// gives the claim back so that a redelivery posts it.
func (d *Desk) ReleasePosted(ctx context.Context, id string, p commands.Posted, postErr error) {
	if postErr != nil {
		if err := d.store.ForgetWebhookDelivery("release:" + id); err != nil {
			d.log.Warn().Err(err).Msg("forgetting a release's claim failed")
		}
		return
	}
	if err := d.releases.Posted(id, p.Channel, p.TS); err != nil {
		d.log.Warn().Err(err).Str("release", id).Msg("remembering the release message failed")
	}
}

// verifyButton is the Verified on staging button.
func (d *Desk) verifyButton(ctx context.Context, a commands.Action) (commands.Reply, error) {
	if !verify.ValidReleaseID(a.Value) {
		return commands.Reply{}, commands.Userf("That button does not point at a staging release I know, so nothing was verified; type `/deploy verify` instead.")
	}
	rel, ok, err := d.releases.Get(a.Value)
	if err != nil {
		return commands.Reply{}, err
	}
	if !ok || (rel.TS != "" && a.MessageTS != "" && a.MessageTS != rel.TS) {
		return commands.Reply{}, commands.Userf("That button does not belong to a staging release message of mine, so nothing was verified; type `/deploy verify` instead.")
	}
	return d.verify(ctx, a.UserID, "", &rel)
}

// verifyCommand is /deploy verify [@user].
func (d *Desk) verifyCommand(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	switch {
	case len(args) == 0:
		return d.verify(ctx, req.UserID, "", nil)
	case len(args) == 1:
		if user, ok := commands.Mentioned(args[0]); ok {
			if !d.isAdmin(req.UserID) {
				return commands.Reply{}, commands.Userf("Only Devy admins can verify someone else's commits; type `/deploy verify` to verify your own.")
			}
			return d.verify(ctx, user, req.UserID, nil)
		}
	}
	return commands.Reply{}, commands.Userf("`/deploy verify` takes no arguments, or one person (`/deploy verify @carol`, admins only).")
}

// verify marks user's commits in staging's range verified; actor is the
// admin acting for them ("" when user asked). rel, for a click, is the
// release whose message was clicked.
func (d *Desk) verify(ctx context.Context, user, actor string, rel *verify.Release) (commands.Reply, error) {
	rg, err := d.readRange(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	st := rg.snap.Staging.Release
	if rel != nil && rel.ID != st.ID {
		return commands.Reply{}, commands.Userf("That message is about staging v%d, but staging now runs v%d; nothing was verified, so use the newest release message or type `/deploy verify`.", rel.Version, st.Version)
	}
	if len(rg.commits) == 0 {
		return commands.Say("Staging v%d has no commits that production lacks, so there is nothing to verify.", st.Version), nil
	}
	owners := make([]store.CommitOwner, len(rg.commits))
	for i, c := range rg.commits {
		owners[i] = store.CommitOwner{SHA: c.SHA, Owner: c.SlackUser}
	}
	done, err := d.store.Verify(store.VerifyInput{Pipeline: rg.snap.Pipeline.ID, User: user, Actor: actor, Vouch: actor == "", Commits: owners})
	if err != nil {
		return commands.Reply{}, err
	}
	whose := "You have"
	if actor != "" {
		whose = fmt.Sprintf("<@%s> has", user)
	}
	if len(done) == 0 {
		return commands.Say("%s nothing left to verify in staging v%d; nothing changed.", whose, st.Version), nil
	}
	d.redrawOpen(ctx, rg.snap.Pipeline.ID)
	vouched := 0
	for _, v := range done {
		if v.Vouched {
			vouched++
		}
	}
	msg := fmt.Sprintf("Marked %d commit%s in staging v%d verified", len(done), format.Plural(len(done)), st.Version)
	if actor != "" {
		msg += fmt.Sprintf(" for <@%s>", user)
	}
	if vouched > 0 {
		msg += fmt.Sprintf(" (%d vouched for, their authors have no Slack user)", vouched)
	}
	return commands.Say("%s.", msg), nil
}

// redrawOpen redraws the pipeline's pending request, whose verification
// section just changed.
func (d *Desk) redrawOpen(ctx context.Context, pipeline string) {
	r, err := d.store.OpenRequest(pipeline)
	if err != nil {
		d.log.Warn().Err(err).Msg("reading the open request to redraw it failed")
		return
	}
	if r != nil && r.Status == store.StatusPending {
		d.redraw(ctx, *r)
	}
}

// overrideKey carries an admin's reason from the override modal into
// approve, whose other checks then run as for any click.
type overrideKey struct{}

// verifiedGate refuses an approval while commits of r are unverified and
// DEVY_REQUIRE_VERIFIED is set; an admin's click opens the override modal
// instead (errModalOpened), and their submission approves with a reason.
func (d *Desk) verifiedGate(ctx context.Context, a commands.Action, r store.PromotionRequest) error {
	if !d.cfg.RequireVerified || len(r.Commits) == 0 {
		return nil
	}
	as, err := d.verifyState(r.Pipeline, r.Commits)
	if err != nil {
		return fmt.Errorf("check verifications before approving: %w", err)
	}
	who := verify.Left(as)
	if len(who) == 0 {
		return nil
	}
	if reason, ok := ctx.Value(overrideKey{}).(string); ok && d.isAdmin(a.UserID) {
		if _, err := d.store.OverrideVerification(r.ID, a.UserID, reason, who); err != nil {
			return err
		}
		return nil
	}
	if d.isAdmin(a.UserID) && d.modals != nil && a.TriggerID != "" {
		err := d.modals.OpenModal(ctx, a.TriggerID, commands.Modal{
			CallbackID: ViewOverride, Title: "Approve unverified?", Submit: "Approve", Channel: a.ChannelID, ResponseURL: a.ResponseURL,
			Metadata: strconv.FormatUint(r.ID, 10) + " " + a.MessageTS,
			Inputs:   []commands.Input{{ID: "reason", Label: "Why promote before " + strings.Join(verify.LeftLogins(as), ", ") + " verified?", Kind: commands.InputMultiline}},
		})
		if err != nil {
			return fmt.Errorf("open the override modal: %w", err)
		}
		return errModalOpened
	}
	return commands.Userf("Not everyone has verified their commits on staging yet: %s still %s to; nothing was promoted, so approve again once they have (`/deploy verify`).", strings.Join(who, ", "), map[bool]string{true: "has", false: "have"}[len(who) == 1])
}

// errModalOpened ends an approval that continues in the override modal.
var errModalOpened = errors.New("deploy: the override modal is open")

// overrideSubmit approves the request of the modal with the admin's reason.
func (d *Desk) overrideSubmit(ctx context.Context, v commands.View) (commands.Reply, error) {
	idText, ts, _ := strings.Cut(v.Metadata, " ")
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id == 0 {
		return commands.Reply{}, commands.Userf("That form does not point at a promotion request I know; nothing was promoted.")
	}
	if !d.isAdmin(v.UserID) {
		return commands.Reply{}, commands.Userf("Only Devy admins can approve unverified commits; nothing was promoted.")
	}
	ctx = context.WithValue(ctx, overrideKey{}, strings.TrimSpace(v.Value("reason")))
	return d.approve(ctx, commands.Action{ActionID: ActionApprove, Value: idText, UserID: v.UserID, ChannelID: v.Channel, MessageTS: ts})
}

func validateOverride(v commands.View) map[string]string {
	if strings.TrimSpace(v.Value("reason")) == "" {
		return map[string]string{"reason": "Say why it should ship before its authors verified it."}
	}
	return nil
}

// verifyLine is /deploy status's line on the range's verification.
func (d *Desk) verifyLine(v pipeline.Status) string {
	if len(v.Commits) == 0 {
		return verify.StatusLine(0, nil)
	}
	as, err := d.verifyState(v.Snapshot.Pipeline.ID, v.Commits)
	if err != nil {
		return "Verified on staging: unknown (" + format.Failure(err) + ")."
	}
	return verify.StatusLine(len(v.Commits), as)
}

// Announcer posts the new-staging-release message of a release (the
// notifications' Release, wired in internal/app): without a Heroku webhook
// nobody else tells #devy that staging changed.
type Announcer interface {
	Release(ctx context.Context, e commands.ReleaseEvent) error
}

// AnnounceReleases makes /deploy status and promote post the staging
// release message of a release they see that nobody announced, once per
// release (the same claim as the webhook's). For Devy without a Heroku
// webhook; call it before the bot runs.
func (d *Desk) AnnounceReleases(a Announcer) {
	if a == nil {
		d.notices = nil
		return
	}
	d.notices = announce.New(a.Release, d.bg, d.log)
}

// noticeRelease has staging's release announced when nothing else does.
func (d *Desk) noticeRelease(s pipeline.Snapshot) {
	if d.notices != nil {
		d.notices.Notice(s)
	}
}

// RunNudges reminds, once per release, the authors who have not verified
// their commits halfway through DEVY_APPROVAL_TTL after the staging release
// message, in its thread; it checks a few times per TTL until ctx ends.
func (d *Desk) RunNudges(ctx context.Context) {
	every := min(max(d.cfg.TTL/20, 100*time.Millisecond), 30*time.Second)
	commands.Every(ctx, every, func(ctx context.Context) {
		if err := d.nudge(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("reminding authors to verify on staging failed; trying again soon")
		}
	})
}

// nudge posts the reminder of the newest release when it is due. The
// store's slot makes it one reminder across restarts and processes; the
// release's Reminded mark saves looking again.
func (d *Desk) nudge(ctx context.Context) error {
	rel, ok, err := d.releases.Latest()
	if err != nil || !ok || rel.Reminded || rel.TS == "" || d.store.Now().Before(rel.At.Add(d.cfg.TTL/2)) {
		return err
	}
	id := rel.ID
	rg, err := d.readRange(ctx)
	if err != nil {
		return err
	}
	var who []string
	if rg.snap.Staging.Release.ID == id { // else a newer release has its own message
		as, err := d.verifyState(rg.snap.Pipeline.ID, rg.commits)
		if err != nil {
			return err
		}
		who = verify.Left(as)
	}
	if len(who) > 0 {
		took, err := d.store.TakeSlot("verify-nudge:" + id)
		if err != nil {
			return err
		}
		if took {
			text := fmt.Sprintf("%s: staging v%d still waits for you to verify your commits; test them on staging, then click *Verified on staging* above or type `/deploy verify`.", strings.Join(who, ", "), rel.Version)
			if _, err := d.poster.Post(ctx, rel.Channel, rel.TS, commands.Message{Text: text}); err != nil {
				d.log.Warn().Err(err).Str("release", id).Msg("posting the reminder to verify failed; it is not sent again")
			}
		}
	}
	return d.releases.Reminded(id)
}
