package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// This file is the one renderer of a promotion request's message. The
// message is posted once and redrawn at every step from the stored request
// alone, so whatever it should show (a new state, a link) is added here, or
// to describe's State for a state's words, and reaches every step at once.

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
			"*CI*\n" + describe.CI(r),
		}},
	}
	for _, s := range r.Diff {
		blocks = append(blocks, commands.Section{Text: s})
	}
	if verified != "" {
		blocks = append(blocks, commands.Section{Text: verified})
	}
	blocks = append(blocks, commands.Divider{}, commands.Section{Text: describe.State(r)})
	if r.Status == store.StatusPending {
		blocks = append(blocks, commands.Actions{ID: fmt.Sprintf("deploy.request.%d", r.ID), Buttons: []commands.Button{
			{ActionID: ActionApprove, Text: "Approve", Value: fmt.Sprint(r.ID), Style: "primary", Confirm: &commands.Confirm{
				Title: "Promote to production?",
				Text:  fmt.Sprintf("This promotes %s v%d (%s) to %s.", r.StagingAppName, r.ReleaseVersion, format.Short(r.SHA), describe.TargetNames(r)),
				Yes:   "Promote", No: "Not yet",
			}},
			{ActionID: ActionReject, Text: "Reject", Value: fmt.Sprint(r.ID), Style: "danger"},
		}})
	}
	return commands.Message{Text: fmt.Sprintf("Promotion request #%d by <@%s>: %s v%d → %s (%s)", r.ID, r.RequestedBy, r.StagingAppName, r.ReleaseVersion, describe.TargetNames(r), r.Status), Blocks: blocks}
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
