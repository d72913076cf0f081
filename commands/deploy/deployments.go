package deploy

import (
	"context"

	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/commands/deploy/ghdeploy"
	"github.com/devy-chatops/devy/store"
)

// Each production promotion is recorded as a GitHub deployment per
// production app, so that pull requests show where a change is live. The
// records are effects like the reports (effects.go): a GitHub that is down
// never holds up a promotion, and what it missed is sent when it is back,
// also after a restart. The start effect is recorded just after Heroku's
// promotion call, the end effect with the outcome.
const (
	// EffectDeploymentStarted creates the request's deployments and sets
	// them in_progress.
	EffectDeploymentStarted = "deploy.deployment.started"
	// EffectDeploymentFinished creates them if the start did not, and
	// sets how the promotion ended.
	EffectDeploymentFinished = "deploy.deployment.finished"
)

// Deployments records deployments on GitHub (integrations/github); the
// recording itself is ghdeploy's.
type Deployments = ghdeploy.GitHub

// Permalinks links a Slack message (chat.getPermalink).
type Permalinks = ghdeploy.Permalinks

// deploymentEffects are the effects of kinds when deployments are recorded,
// none otherwise (an effect nobody handles would wait forever).
func (d *Desk) deploymentEffects(id uint64, kinds ...string) []store.Effect {
	if d.deployments == nil {
		return nil
	}
	return effects(id, kinds...)
}

// deploymentStarted records that request r's promotion started, off the
// path of the promotion: a failure to record it is only logged, and the
// end's effect records the deployment anyway.
func (d *Desk) deploymentStarted(r store.PromotionRequest) {
	es := d.deploymentEffects(r.ID, EffectDeploymentStarted)
	if len(es) == 0 {
		return
	}
	if err := d.store.Enqueue(es...); err != nil {
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("recording the GitHub deployment's start failed; the end is still recorded")
		return
	}
	d.outbox.Kick()
}

// recordDeployments brings request r's deployments on GitHub up to date:
// each production app's created once, then in_progress while promoting,
// then the outcome.
func (d *Desk) recordDeployments(ctx context.Context, r store.PromotionRequest) error {
	state, desc := deploymentState(r)
	if state == "" || d.deployments == nil {
		return nil // never promoted (rejected, expired, cancelled)
	}
	return d.deployments.Record(ctx, r, state, desc)
}

// deploymentState is the GitHub deployment state of request r, with a
// description; "" for requests that promoted nothing.
func deploymentState(r store.PromotionRequest) (state, desc string) {
	switch r.Status {
	case store.StatusPromoting:
		return "in_progress", "Promoting"
	case store.StatusSucceeded:
		return "success", "Live on " + describe.TargetNames(r)
	case store.StatusFailed:
		return "failure", "The promotion failed"
	case store.StatusUnknown:
		return "error", "Devy could not confirm how the promotion ended"
	}
	return "", ""
}
