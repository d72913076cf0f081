package reviewapp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/store"
)

// Each review app is recorded as a GitHub deployment of the pull request's
// head to environment pr-<N>, so that the pull request's page links the app:
// success with its URL once it is ready, failure when Heroku could not build
// it, inactive once it is deleted. The records are outbox effects (see
// store.Effect): a GitHub that is down never holds up a review app, and
// what it missed is sent when it is back, also after a restart.

// EffectDeployment brings a review app's GitHub deployment to the state in
// its payload.
const EffectDeployment = "reviewapp.deployment"

// Deployments records deployments on GitHub (integrations/github).
type Deployments interface {
	CreateDeployment(ctx context.Context, d github.Deployment) (int64, error)
	CreateDeploymentStatus(ctx context.Context, id int64, s github.DeploymentStatus) error
}

// DeploymentStore keeps each PR's deployment id, which later statuses need,
// in the store's small JSON store (shared with signals and /deploy's
// deployments, under keys of its own), and takes the effects.
type DeploymentStore interface {
	Enqueue(effects ...store.Effect) error
	Signal(key string) (json.RawMessage, bool, error)
	UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error)
}

// deploymentEffect is an effect's payload: what the review app was when
// the effect was recorded, since its record may be gone by the time the
// effect runs.
type deploymentEffect struct {
	PR        int    `json:"pr"`
	ReviewApp string `json:"review_app"` // Heroku's id: a new review app of the PR is a new deployment
	SHA       string `json:"sha,omitempty"`
	AppName   string `json:"app_name,omitempty"`
	State     string `json:"state"`
	URL       string `json:"url,omitempty"`
}

// deploymentRecord is what is kept of a PR's deployment.
type deploymentRecord struct {
	ID        int64  `json:"id"`
	ReviewApp string `json:"review_app"`
	State     string `json:"state,omitempty"` // the last status set
}

func deploymentKey(pr int) string { return "github-deployment:pr-" + strconv.Itoa(pr) }

// deploymentState is the GitHub state of review app rec, "" when it has
// none to show yet (building, or ready with no URL known).
func deploymentState(rec store.ReviewApp) string {
	switch rec.Status {
	case store.ReviewCreated:
		if rec.WebURL != "" {
			return "success"
		}
	case store.ReviewErrored:
		return "failure"
	case store.ReviewDeleting, store.ReviewDeleted:
		return "inactive"
	}
	return ""
}

// recordDeployment asks the outbox to bring rec's GitHub deployment up to
// date. It never fails the review app: a failure to record is logged.
func (ra *Apps) recordDeployment(rec store.ReviewApp) {
	state := deploymentState(rec)
	if ra.deployments == nil || state == "" || rec.ID == "" {
		return
	}
	payload, err := json.Marshal(deploymentEffect{PR: rec.PR, ReviewApp: rec.ID, SHA: rec.SHA, AppName: rec.AppName, State: state, URL: rec.WebURL})
	if err == nil {
		err = ra.deploymentStore.Enqueue(store.Effect{Kind: EffectDeployment, Payload: payload})
	}
	if err != nil {
		ra.log.Warn().Err(err).Int("pr", rec.PR).Str("state", state).Msg("recording the review app's GitHub deployment failed")
		return
	}
	ra.outbox.Kick()
}

// handleDeployment carries out an EffectDeployment: the deployment is
// created once per review app, then each state is set once.
func (ra *Apps) handleDeployment(ctx context.Context, e store.Effect) error {
	var p deploymentEffect
	if err := json.Unmarshal(e.Payload, &p); err != nil || p.PR <= 0 || p.State == "" {
		// Nothing can ever carry it out: dropped, not retried.
		ra.log.Error().Uint64("effect", e.ID).RawJSON("payload", e.Payload).Msg("dropping a review app deployment effect that names no pull request")
		return nil
	}
	key := deploymentKey(p.PR)
	raw, ok, err := ra.deploymentStore.Signal(key)
	if err != nil {
		return fmt.Errorf("read the GitHub deployment of #%d: %w", p.PR, err)
	}
	var rec deploymentRecord
	if ok {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("read the GitHub deployment of #%d: %w", p.PR, err)
		}
	}
	if rec.ReviewApp != p.ReviewApp {
		if p.State == "inactive" {
			return nil // deleted before it was ever shown on GitHub
		}
		rec = deploymentRecord{ReviewApp: p.ReviewApp}
	}
	if rec.State == p.State {
		return nil // set already
	}
	if rec.ID == 0 {
		if p.SHA == "" {
			return nil // a review app Devy knows no commit of
		}
		desc := fmt.Sprintf("Review app of #%d", p.PR)
		if p.AppName != "" {
			desc += " (" + p.AppName + ")"
		}
		id, err := ra.deployments.CreateDeployment(ctx, github.Deployment{Ref: p.SHA, Environment: "pr-" + strconv.Itoa(p.PR), Description: desc})
		if err != nil {
			return err
		}
		rec.ID = id
		if err := ra.saveDeployment(key, rec); err != nil {
			return err
		}
	}
	st := github.DeploymentStatus{State: p.State, Description: deploymentDescription(p.State)}
	if p.State == "success" {
		st.EnvironmentURL = p.URL
	}
	if err := ra.deployments.CreateDeploymentStatus(ctx, rec.ID, st); err != nil {
		return err
	}
	rec.State = p.State
	return ra.saveDeployment(key, rec)
}

func deploymentDescription(state string) string {
	switch state {
	case "success":
		return "The review app is ready"
	case "failure":
		return "Heroku could not build the review app"
	}
	return "The review app was deleted"
}

func (ra *Apps) saveDeployment(key string, rec deploymentRecord) error {
	_, err := ra.deploymentStore.UpdateSignal(key, func(json.RawMessage) (json.RawMessage, error) {
		return json.Marshal(rec)
	})
	if err != nil {
		return fmt.Errorf("keep GitHub deployment %d: %w", rec.ID, err)
	}
	return nil
}

// handleDeployments registers the deployment effects' handler on o.
func (ra *Apps) handleDeployments(o *commands.Outbox) {
	o.Handle(EffectDeployment, ra.handleDeployment)
}
