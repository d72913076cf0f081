// Package ghdeploy records /deploy's production promotions as GitHub
// deployments, one per production app, so that pull requests show where a
// change is live. Each deployment is created once, then given the states a
// promotion goes through; what was sent is kept so that a retried record
// (the outbox retries until GitHub answers) sends nothing twice.
package ghdeploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/store"
)

// GitHub records deployments (integrations/github).
type GitHub interface {
	CreateDeployment(ctx context.Context, d github.Deployment) (int64, error)
	CreateDeploymentStatus(ctx context.Context, id int64, s github.DeploymentStatus) error
	CommitSHA(ctx context.Context, ref string) (string, error)
}

// Permalinks links a Slack message (chat.getPermalink).
type Permalinks interface {
	Permalink(ctx context.Context, channel, ts string) (string, error)
}

// Store keeps, per request and production app, the GitHub deployment made
// for it: the later statuses need its id. It is the store's small JSON
// store shared with signals, under keys of their own.
type Store interface {
	Signal(key string) (json.RawMessage, bool, error)
	UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error)
}

// Pipelines gives the production apps' web URLs.
type Pipelines interface {
	Pipeline(ctx context.Context) (heroku.Pipeline, error)
}

// Recorder records promotions as GitHub deployments.
type Recorder struct {
	github     GitHub
	permalinks Permalinks // nil: deployments are not linked to the request's message
	store      Store
	pipelines  Pipelines
	log        zerolog.Logger
}

// New builds a Recorder; links may be nil.
func New(gh GitHub, links Permalinks, st Store, pipelines Pipelines, log zerolog.Logger) *Recorder {
	return &Recorder{github: gh, permalinks: links, store: st, pipelines: pipelines, log: log}
}

// keyPrefix starts the keys of GitHub deployments in the JSON store.
const keyPrefix = "github-deployment:"

// record is what is kept of one deployment.
type record struct {
	ID    int64  `json:"id"`
	State string `json:"state,omitempty"` // the last status set
}

func key(request uint64, appID string) string {
	return fmt.Sprintf("%s%d:%s", keyPrefix, request, appID)
}

// Record brings request r's deployments on GitHub up to state (with desc):
// each production app's created once, then given the state.
func (rc *Recorder) Record(ctx context.Context, r store.PromotionRequest, state, desc string) error {
	sha, err := rc.fullSHA(ctx, r)
	if err != nil {
		return err
	}
	var logURL string
	if rc.permalinks != nil && r.MessageTS != "" {
		if logURL, err = rc.permalinks.Permalink(ctx, r.Channel, r.MessageTS); err != nil {
			return fmt.Errorf("link request %d's message: %w", r.ID, err)
		}
	}
	urls := map[string]string{}
	if p, err := rc.pipelines.Pipeline(ctx); err == nil {
		for _, a := range p.Production {
			urls[a.ID] = a.WebURL
		}
	} else {
		// The deployment is worth more than its link: sent without it.
		rc.log.Warn().Err(err).Uint64("request", r.ID).Msg("reading production's web URLs for the GitHub deployment failed; recording it without them")
	}
	for _, t := range r.Targets {
		env := "production"
		if len(r.Targets) > 1 {
			env = t.AppName
		}
		if err := rc.recordOne(ctx, r, t, sha, env, state, desc, logURL, urls[t.AppID]); err != nil {
			return err
		}
	}
	return nil
}

func (rc *Recorder) recordOne(ctx context.Context, r store.PromotionRequest, t store.Target, sha, env, state, desc, logURL, envURL string) error {
	k := key(r.ID, t.AppID)
	raw, ok, err := rc.store.Signal(k)
	if err != nil {
		return fmt.Errorf("read the GitHub deployment of request %d to %s: %w", r.ID, t.AppName, err)
	}
	var rec record
	if ok {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("read the GitHub deployment of request %d to %s: %w", r.ID, t.AppName, err)
		}
	}
	if rec.State == state || (state == "in_progress" && rec.State != "") {
		return nil // sent already, or the outcome overtook the start
	}
	if rec.ID == 0 {
		id, err := rc.github.CreateDeployment(ctx, github.Deployment{
			Ref: sha, Environment: env, Production: true,
			Description: fmt.Sprintf("Devy promotion #%d of %s v%d", r.ID, r.StagingAppName, r.ReleaseVersion),
		})
		if err != nil {
			return err
		}
		rec.ID = id
		if err := rc.save(k, rec); err != nil {
			return err
		}
	}
	if err := rc.github.CreateDeploymentStatus(ctx, rec.ID, github.DeploymentStatus{
		State: state, Description: desc, LogURL: logURL, EnvironmentURL: envURL,
	}); err != nil {
		return err
	}
	rec.State = state
	return rc.save(k, rec)
}

func (rc *Recorder) save(k string, rec record) error {
	_, err := rc.store.UpdateSignal(k, func(json.RawMessage) (json.RawMessage, error) {
		return json.Marshal(rec)
	})
	if err != nil {
		return fmt.Errorf("keep GitHub deployment %d: %w", rec.ID, err)
	}
	return nil
}

// fullSHA is the promoted commit's full SHA, as GitHub's deployments take
// it: a short one from Heroku is looked up among the compared commits, then
// on GitHub.
func (rc *Recorder) fullSHA(ctx context.Context, r store.PromotionRequest) (string, error) {
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
	return rc.github.CommitSHA(ctx, r.SHA)
}

func isFullSHA(s string) bool {
	return len(s) == 40 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}
