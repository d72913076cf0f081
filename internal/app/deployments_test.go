package app

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/internal/fakegithub"
	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// deploymentsDone waits for one deployment per production app whose last
// status is state, and returns them.
func (h *harness) deploymentsDone(state string) []fakegithub.DeploymentRecord {
	h.t.Helper()
	return waitfor.Value(h.t, "a "+state+" deployment per production app", func() ([]fakegithub.DeploymentRecord, bool) {
		ds := h.sb.GitHub.Deployments()
		if len(ds) != 2 {
			return nil, false
		}
		for _, d := range ds {
			if n := len(d.Statuses); n == 0 || d.Statuses[n-1].State != state {
				return nil, false
			}
		}
		return ds, true
	})
}

// A production promotion is recorded as a GitHub deployment of the promoted
// commit per production app (two in the sandbox: environments named after
// them), in_progress then success, linking the request message and the app.
func TestPromotionIsRecordedAsGitHubDeployments(t *testing.T) {
	h := start(t, nil)
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")
	ds := h.deploymentsDone("success")

	link := "https://" + fakeslack.TeamDomain + ".slack.com/archives/" + devyChan + "/p"
	for i, app := range []string{sandbox.ProductionApp, sandbox.ProductionEU} {
		d := ds[i]
		if ds[1].Environment == sandbox.ProductionApp {
			d = ds[1-i] // either order
		}
		if d.Ref != h.sb.StagingSHA || len(d.Ref) != 40 || d.Environment != app || d.AutoMerge || d.RequiredContexts == nil || len(d.RequiredContexts) != 0 || d.TransientEnvironment || !d.ProductionEnvironment {
			t.Errorf("deployment to %s = %+v; want ref %s, auto_merge false, required_contexts [], a production environment", app, d, h.sb.StagingSHA)
		}
		states := []string{}
		for _, s := range d.Statuses {
			states = append(states, s.State)
		}
		if !slices.Equal(states, []string{"in_progress", "success"}) {
			t.Errorf("deployment to %s went through %v, want in_progress then success", app, states)
		}
		last := d.Statuses[len(d.Statuses)-1]
		wantURL := "https://" + app + ".herokuapp.com/"
		if !strings.HasPrefix(last.LogURL, link) || !strings.Contains(last.LogURL, strings.ReplaceAll(req.TS, ".", "")) || last.EnvironmentURL != wantURL {
			t.Errorf("deployment to %s's success = %+v; want log_url the request's permalink and environment_url %s", app, last, wantURL)
		}
	}
}

// GitHub being down neither blocks nor fails a promotion: the deployments
// are recorded once it is back, also when Devy restarted in between.
func TestGitHubDeploymentsAreRetriedAcrossARestart(t *testing.T) {
	h := start(t, nil)
	req := h.request(alice)
	calls := h.sb.GitHub.Count(http.MethodPost, "/repos/*")
	for range 4 {
		h.sb.GitHub.FailNext(http.MethodPost, "/repos/"+sandbox.Owner+"/"+sandbox.Repo+"/deployments", 500, nil, "")
	}
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")
	waitfor.True(t, "the deployments to be tried", func() bool {
		return h.sb.GitHub.Count(http.MethodPost, "/repos/*") >= calls+2
	})
	h.stop()
	if n := len(h.sb.GitHub.Deployments()); n != 0 {
		t.Fatalf("%d deployments recorded while GitHub failed, want 0", n)
	}
	h.run()
	ds := h.deploymentsDone("success")
	for _, d := range ds {
		if d.Ref != h.sb.StagingSHA {
			t.Errorf("deployment to %s has ref %s, want %s", d.Environment, d.Ref, h.sb.StagingSHA)
		}
	}
	if n := h.reports(req); n != 1 {
		t.Errorf("%d reports of the promotion, want 1", n)
	}
}
