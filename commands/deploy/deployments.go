package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/devy-chatops/devy/integrations/github"
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

// Deployments records deployments on GitHub (integrations/github).
type Deployments interface {
	CreateDeployment(ctx context.Context, d github.Deployment) (int64, error)
	CreateDeploymentStatus(ctx context.Context, id int64, s github.DeploymentStatus) error
	CommitSHA(ctx context.Context, ref string) (string, error)
}

// Permalinks links a Slack message (chat.getPermalink).
type Permalinks interface {
	Permalink(ctx context.Context, channel, ts string) (string, error)
}

// DeploymentStore keeps, per request and production app, the GitHub
// deployment made for it: the later statuses need its id. It is the store's
// small JSON store shared with signals, under keys of their own.
type DeploymentStore interface {
	Signal(key string) (json.RawMessage, bool, error)
	UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error)
}

// deploymentKeyPrefix starts the keys of GitHub deployments in the JSON
// store.
const deploymentKeyPrefix = "github-deployment:"

// deploymentRecord is what is kept of one deployment.
type deploymentRecord struct {
	ID    int64  `json:"id"`
	State string `json:"state,omitempty"` // the last status set
}

func deploymentKey(request uint64, appID string) string {
	return fmt.Sprintf("%s%d:%s", deploymentKeyPrefix, request, appID)
}

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
	sha, err := d.fullSHA(ctx, r)
	if err != nil {
		return err
	}
	var logURL string
	if d.permalinks != nil && r.MessageTS != "" {
		if logURL, err = d.permalinks.Permalink(ctx, r.Channel, r.MessageTS); err != nil {
			return fmt.Errorf("link request %d's message: %w", r.ID, err)
		}
	}
	urls := map[string]string{}
	if p, err := d.resolvePipeline(ctx); err == nil {
		for _, a := range p.Production {
			urls[a.ID] = a.WebURL
		}
	} else {
		// The deployment is worth more than its link: sent without it.
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("reading production's web URLs for the GitHub deployment failed; recording it without them")
	}
	for _, t := range r.Targets {
		env := "production"
		if len(r.Targets) > 1 {
			env = t.AppName
		}
		if err := d.recordDeployment(ctx, r, t, sha, env, state, desc, logURL, urls[t.AppID]); err != nil {
			return err
		}
	}
	return nil
}

func (d *Desk) recordDeployment(ctx context.Context, r store.PromotionRequest, t store.Target, sha, env, state, desc, logURL, envURL string) error {
	key := deploymentKey(r.ID, t.AppID)
	raw, ok, err := d.deploymentStore.Signal(key)
	if err != nil {
		return fmt.Errorf("read the GitHub deployment of request %d to %s: %w", r.ID, t.AppName, err)
	}
	var rec deploymentRecord
	if ok {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("read the GitHub deployment of request %d to %s: %w", r.ID, t.AppName, err)
		}
	}
	if rec.State == state || (state == "in_progress" && rec.State != "") {
		return nil // sent already, or the outcome overtook the start
	}
	if rec.ID == 0 {
		id, err := d.deployments.CreateDeployment(ctx, github.Deployment{
			Ref: sha, Environment: env, Production: true,
			Description: fmt.Sprintf("Devy promotion #%d of %s v%d", r.ID, r.StagingAppName, r.ReleaseVersion),
		})
		if err != nil {
			return err
		}
		rec.ID = id
		if err := d.saveDeployment(key, rec); err != nil {
			return err
		}
	}
	if err := d.deployments.CreateDeploymentStatus(ctx, rec.ID, github.DeploymentStatus{
		State: state, Description: desc, LogURL: logURL, EnvironmentURL: envURL,
	}); err != nil {
		return err
	}
	rec.State = state
	return d.saveDeployment(key, rec)
}

func (d *Desk) saveDeployment(key string, rec deploymentRecord) error {
	_, err := d.deploymentStore.UpdateSignal(key, func(json.RawMessage) (json.RawMessage, error) {
		return json.Marshal(rec)
	})
	if err != nil {
		return fmt.Errorf("keep GitHub deployment %d: %w", rec.ID, err)
	}
	return nil
}

// deploymentState is the GitHub deployment state of request r, with a
// description; "" for requests that promoted nothing.
func deploymentState(r store.PromotionRequest) (state, desc string) {
	switch r.Status {
	case store.StatusPromoting:
		return "in_progress", "Promoting"
	case store.StatusSucceeded:
		return "success", "Live on " + targetNames(r)
	case store.StatusFailed:
		return "failure", "The promotion failed"
	case store.StatusUnknown:
		return "error", "Devy could not confirm how the promotion ended"
	}
	return "", ""
}

// fullSHA is the promoted commit's full SHA, as GitHub's deployments take
// it: a short one from Heroku is looked up among the compared commits, then
// on GitHub.
func (d *Desk) fullSHA(ctx context.Context, r store.PromotionRequest) (string, error) {
	if isFullSHA(r.SHA) {
		return r.SHA, nil
	}
	if r.SHA == "" {
		return "", fmt.Errorf("request %d names no commit", r.ID)
	}
	for _, c := range r.Commits {
		if isFullSHA(c.SHA) && strings.HasPrefix(c.SHA, strings.ToLower(r.SHA)) {
			return c.SHA, nil
		}
	}
	return d.deployments.CommitSHA(ctx, r.SHA)
}

func isFullSHA(s string) bool {
	return len(s) == 40 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}
