package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/internal/fakegithub"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// reviewDeployment waits for the deployment to env whose statuses are
// states, and returns it.
func (h *harness) reviewDeployment(env string, states ...string) fakegithub.DeploymentRecord {
	h.t.Helper()
	return waitfor.Value(h.t, "the "+env+" deployment to go through "+strings.Join(states, " then "), func() (fakegithub.DeploymentRecord, bool) {
		for _, d := range h.sb.GitHub.Deployments() {
			if d.Environment != env {
				continue
			}
			var got []string
			for _, s := range d.Statuses {
				got = append(got, s.State)
			}
			return d, slices.Equal(got, states)
		}
		return fakegithub.DeploymentRecord{}, false
	})
}

// A review app is a GitHub deployment of the PR's head to pr-<N>: success
// with its URL once ready, inactive once destroyed.
func TestReviewAppIsRecordedAsAGitHubDeployment(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	h.slash(alice, devyChan, "/reviewapp", "7")
	h.updatedTo(h.progress(devyChan, "", "7"), "Ready:")

	d := h.reviewDeployment("pr-7", "success")
	if sha := h.headOf(7).HeadSHA; d.Ref != sha || d.ProductionEnvironment || d.AutoMerge || d.RequiredContexts == nil || len(d.RequiredContexts) != 0 {
		t.Errorf("deployment = %+v; want ref %s, not production, auto_merge false, required_contexts []", d, sha)
	}
	if got := d.Statuses[0].EnvironmentURL; got != "https://shop-pr-7.herokuapp.com/" {
		t.Errorf("environment_url = %q; want the review app's URL", got)
	}

	h.slash(alice, devyChan, "/reviewapp", "7 destroy")
	h.reviewDeployment("pr-7", "success", "inactive")
	if n := len(h.sb.GitHub.Deployments()); n != 1 {
		t.Errorf("%d deployments, want the one of pr-7", n)
	}
}

// A review app Heroku could not build is a failed deployment; a GitHub that
// refuses the record once gets it again, and the review app never waits.
func TestReviewAppDeploymentFailureAndRetry(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	h.sb.GitHub.FailNext("POST", "/repos/acme/shop/deployments", 502, nil, `{"message":"Server Error"}`).Require(t)
	h.slash(alice, devyChan, "/reviewapp", "9")
	h.updatedTo(h.progress(devyChan, "", "9"), "Failed:")
	d := h.reviewDeployment("pr-9", "failure")
	if d.Statuses[0].EnvironmentURL != "" {
		t.Errorf("a failed review app's deployment links %q", d.Statuses[0].EnvironmentURL)
	}
}
