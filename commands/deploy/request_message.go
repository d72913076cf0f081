package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// This file is the one renderer of a promotion request's message. The
// message is posted once and redrawn at every step from the stored request
// alone, so whatever it should show (a new state, a link) is added here and
// reaches every step at once.

// requestMessage draws the request as it stands, linking commits when
// GitHub is configured.
func (d *Desk) requestMessage(r store.PromotionRequest) commands.Message {
	return renderRequest(r, d.shaLink, d.verificationText(r))
}

// renderRequest draws request r; commit shows a SHA; verified is the
// verification section ("" for none).
func renderRequest(r store.PromotionRequest, commit func(sha string) string, verified string) commands.Message {
	var targets []string
	for _, t := range r.Targets {
		targets = append(targets, fmt.Sprintf("%s v%d · %s", t.AppName, t.FromVersion, commit(t.FromSHA)))
	}
	blocks := []commands.Block{
		commands.Header{Text: fmt.Sprintf("Promotion request #%d: staging → production", r.ID)},
		commands.Section{Fields: []string{
			"*Requested by*\n<@" + r.RequestedBy + ">",
			fmt.Sprintf("*Staging release*\n%s v%d · %s", r.StagingAppName, r.ReleaseVersion, commit(r.SHA)),
			"*Production now*\n" + strings.Join(targets, "\n"),
			"*CI*\n" + ciWord(r),
		}},
	}
	for _, s := range r.Diff {
		blocks = append(blocks, commands.Section{Text: s})
	}
	if verified != "" {
		blocks = append(blocks, commands.Section{Text: verified})
	}
	blocks = append(blocks, commands.Divider{}, commands.Section{Text: stateText(r)})
	if r.Status == store.StatusPending {
		blocks = append(blocks, commands.Actions{ID: fmt.Sprintf("deploy.request.%d", r.ID), Buttons: []commands.Button{
			{ActionID: ActionApprove, Text: "Approve", Value: fmt.Sprint(r.ID), Style: "primary", Confirm: &commands.Confirm{
				Title: "Promote to production?",
				Text:  fmt.Sprintf("This promotes %s v%d (%s) to %s.", r.StagingAppName, r.ReleaseVersion, format.Short(r.SHA), targetNames(r)),
				Yes:   "Promote", No: "Not yet",
			}},
			{ActionID: ActionReject, Text: "Reject", Value: fmt.Sprint(r.ID), Style: "danger"},
		}})
	}
	return commands.Message{Text: fmt.Sprintf("Promotion request #%d by <@%s>: %s v%d → %s (%s)", r.ID, r.RequestedBy, r.StagingAppName, r.ReleaseVersion, targetNames(r), r.Status), Blocks: blocks}
}

func ciWord(r store.PromotionRequest) string {
	s := r.CIState
	if s == "" {
		s = "unknown"
	}
	if r.CIURL != "" {
		s = format.Link(r.CIURL, s)
	}
	if r.SkipCIReason != "" {
		s += fmt.Sprintf(" — check skipped by an admin: “%s”", r.SkipCIReason)
	}
	return s
}

func targetNames(r store.PromotionRequest) string {
	var names []string
	for _, t := range r.Targets {
		names = append(names, t.AppName)
	}
	return strings.Join(names, ", ")
}

func stateText(r store.PromotionRequest) string {
	switch r.Status {
	case store.StatusPending:
		return fmt.Sprintf("⏳ Waiting for someone other than <@%s> to approve; this request expires at %s.", r.RequestedBy, format.Stamp(r.ExpiresAt))
	case store.StatusPromoting:
		return fmt.Sprintf("✅ Approved by <@%s> at %s — promoting…\n%s", r.DecidedBy, format.Stamp(r.DecidedAt), targetStates(r))
	case store.StatusSucceeded:
		return fmt.Sprintf("🚀 Promoted to production, approved by <@%s>.\n%s", r.DecidedBy, targetStates(r))
	case store.StatusFailed:
		s := fmt.Sprintf("❌ The promotion failed (approved by <@%s>).\n%s", r.DecidedBy, targetStates(r))
		if r.Note != "" {
			s += "\n" + r.Note
		}
		return s
	case store.StatusUnknown:
		return fmt.Sprintf("⚠️ I lost track of this promotion (approved by <@%s>). %s", r.DecidedBy, r.Note)
	case store.StatusRejected:
		return fmt.Sprintf("✋ Rejected by <@%s> at %s.", r.DecidedBy, format.Stamp(r.DecidedAt))
	case store.StatusCancelled:
		if r.Note != "" {
			return "Withdrawn: " + r.Note + "."
		}
		return fmt.Sprintf("Withdrawn by <@%s> at %s.", r.RequestedBy, format.Stamp(r.FinishedAt))
	case store.StatusExpired:
		if r.Note != "" {
			return "⌛ " + r.Note
		}
		return fmt.Sprintf("⌛ Expired at %s without a decision; run `/deploy promote` again.", format.Stamp(r.ExpiresAt))
	}
	return r.Status
}

func targetStates(r store.PromotionRequest) string {
	var lines []string
	for _, t := range r.Targets {
		icon := map[string]string{"succeeded": "✅", "failed": "❌", "pending": "⏳", "": "⏳"}[t.Status]
		if icon == "" {
			icon = "•"
		}
		status := t.Status
		if status == "" {
			status = "pending"
		}
		line := fmt.Sprintf("%s *%s*: %s", icon, t.AppName, status)
		if t.Error != "" {
			line += " — Heroku says: " + format.Escape(t.Error)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// redraw updates the request's message; a failure is logged, not fatal: the
// store holds the truth and the next redraw catches up.
func (d *Desk) redraw(ctx context.Context, r store.PromotionRequest) {
	if err := d.update(ctx, r); err != nil {
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("updating the request message failed")
	}
}

// update draws request r over its message, if it has one.
func (d *Desk) update(ctx context.Context, r store.PromotionRequest) error {
	if r.MessageTS == "" {
		return nil
	}
	if err := d.poster.Update(ctx, r.Channel, r.MessageTS, d.requestMessage(r)); err != nil {
		return fmt.Errorf("update request %d's message: %w", r.ID, err)
	}
	return nil
}
