package github

import (
	"context"
	"strconv"

	gh "github.com/google/go-github/v60/github"
)

// Deployment is a GitHub deployment to create: ref deployed to environment.
type Deployment struct {
	Ref         string // a full commit SHA
	Environment string // "production", an app's name, "pr-12"
	Description string
	Production  bool // production_environment: a production environment, not a review app's
}

// CreateDeployment records a deployment and returns its id. It never merges
// the default branch into ref (auto_merge false) and asks for no commit
// statuses (required_contexts empty): the deployment reports what happened,
// it does not gate it.
func (c *Client) CreateDeployment(ctx context.Context, d Deployment) (int64, error) {
	contexts := []string{}
	req := &gh.DeploymentRequest{
		Ref: &d.Ref, Environment: &d.Environment, Description: &d.Description,
		AutoMerge: gh.Bool(false), RequiredContexts: &contexts,
		TransientEnvironment: gh.Bool(false), ProductionEnvironment: gh.Bool(d.Production),
	}
	dep, resp, err := c.gh.Repositories.CreateDeployment(ctx, c.owner, c.name, req)
	if err != nil {
		return 0, fail("recording a deployment of "+shortRef(d.Ref)+" to "+d.Environment, resp, err)
	}
	return dep.GetID(), nil
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	State          string // in_progress, success, failure, error, inactive
	Description    string
	LogURL         string // "" to leave out
	EnvironmentURL string // "" to leave out
}

// CreateDeploymentStatus adds a status to deployment id.
func (c *Client) CreateDeploymentStatus(ctx context.Context, id int64, s DeploymentStatus) error {
	req := &gh.DeploymentStatusRequest{State: &s.State}
	if s.Description != "" {
		req.Description = &s.Description
	}
	if s.LogURL != "" {
		req.LogURL = &s.LogURL
	}
	if s.EnvironmentURL != "" {
		req.EnvironmentURL = &s.EnvironmentURL
	}
	_, resp, err := c.gh.Repositories.CreateDeploymentStatus(ctx, c.owner, c.name, id, req)
	if err != nil {
		return fail("setting deployment "+strconv.FormatInt(id, 10)+"'s status to "+s.State, resp, err)
	}
	return nil
}

// CommitSHA is the full SHA of ref (a short SHA, a branch).
func (c *Client) CommitSHA(ctx context.Context, ref string) (string, error) {
	rc, resp, err := c.gh.Repositories.GetCommit(ctx, c.owner, c.name, ref, nil)
	if err != nil {
		return "", fail("reading commit "+shortRef(ref), resp, err)
	}
	return rc.GetSHA(), nil
}
