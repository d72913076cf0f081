package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/github"
)

// PullRequests reads a pull request, which the simulator makes its events
// from.
type PullRequests interface {
	PullRequest(ctx context.Context, n int) (github.PullRequest, error)
}

// Simulator makes up the services' webhooks in the shell (`simulate …`)
// from what the configured, or sandbox, services hold now, and hands them
// to the same notifications the webhook endpoints use.
type Simulator struct {
	n     *Notifier
	prs   PullRequests // nil without GitHub
	world World        // nil outside the sandbox
}

// World is the sandbox's pretend services, which some simulations change
// first so that what Devy reads next agrees with the message it showed.
type World interface {
	// Merge lands a merged pull request on master and staging, CI passed,
	// and returns its commit and number.
	Merge() (sha string, pr int)
	// FailCI records a failed pipeline of sha on branch, newer than any
	// other, and returns the pipeline's id.
	FailCI(branch, sha string) (pipelineID string)
}

// NewSimulator simulates events for n; prs may be nil.
func NewSimulator(n *Notifier, prs PullRequests) *Simulator { return &Simulator{n: n, prs: prs} }

// InWorld makes the simulations that change the services (`merge`,
// `ci-failed`) change w too.
func (s *Simulator) InWorld(w World) *Simulator {
	s.world = w
	return s
}

// simulations is the help of the shell's `simulate`.
const simulations = "`simulate merge` (a new commit on staging, in the sandbox), `simulate pr-opened 7`, `simulate pr-merged 7`, `simulate staging-release`, `simulate prod-release`, `simulate ci-failed` (master) or `simulate ci-failed 7` (the PR's branch)"

// Simulate makes up the event `simulate what args…` names and hands it to
// the notifications.
func (s *Simulator) Simulate(ctx context.Context, what string, args []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	prArg := func() (int, error) {
		if len(args) != 1 {
			return 0, fmt.Errorf("type `simulate %s 7` with a pull request's number", what)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "#"))
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a pull request number; type `simulate %s 7`", args[0], what)
		}
		return n, nil
	}
	switch what {
	case "pr-opened", "pr-merged", "pr-closed":
		n, err := prArg()
		if err != nil {
			return err
		}
		if s.prs == nil || s.n.github == nil {
			return errors.New("pull requests need GitHub (GITHUB_REPOSITORY)")
		}
		pr, err := s.pullRequest(ctx, n)
		if err != nil {
			return err
		}
		e := commands.PREvent{Action: "opened", Repo: s.n.github.Repo(), Number: n, Title: pr.Title, URL: pr.URL, Author: pr.AuthorLogin,
			Sender: pr.AuthorLogin, Branch: pr.HeadRef, Base: "master", HeadSHA: pr.HeadSHA, Draft: pr.Draft}
		if what != "pr-opened" {
			e.Action, e.Merged = "closed", what == "pr-merged"
			e.MergedBy = pr.AuthorLogin
			if th, err := s.n.store.PRThread(n); err == nil && th == nil {
				return commands.Userf("Devy has not announced #%d, so there is no thread to follow up in; `simulate pr-opened %d` first", n, n)
			}
		}
		return s.n.PullRequest(ctx, e)
	case "merge":
		if s.world == nil {
			return commands.Userf("`simulate merge` lands a commit only in the sandbox; on a real pipeline, merge a pull request and let it reach staging.")
		}
		if len(args) != 0 {
			return commands.Userf("Type `simulate merge` alone: it lands the next pull request of the sandbox on staging.")
		}
		s.world.Merge()
		return s.Simulate(ctx, "staging-release", nil)
	case "staging-release", "prod-release":
		if s.n.pipeline == nil || s.n.heroku == nil {
			return errors.New("releases need Heroku (HEROKU_API_TOKEN and HEROKU_PIPELINE)")
		}
		p, err := s.n.pipeline.Pipeline(ctx)
		if err != nil {
			return err
		}
		app := p.Staging[0]
		if what == "prod-release" {
			app = p.Production[0]
		}
		r, err := s.n.heroku.CurrentRelease(ctx, app.ID)
		if err != nil {
			return err
		}
		return s.n.Release(ctx, commands.ReleaseEvent{Action: "create", ID: r.ID, Version: r.Version, Status: "succeeded",
			AppID: app.ID, AppName: app.Name, SlugID: r.SlugID, Description: r.Description, UserEmail: r.UserEmail, CreatedAt: r.CreatedAt})
	case "ci-failed":
		return s.ciFailed(ctx, args)
	}
	return commands.Userf("I can simulate %s", simulations)
}

// ciFailed makes up a failed pipeline: of master at staging's commit, or of
// a pull request's branch at its head.
func (s *Simulator) ciFailed(ctx context.Context, args []string) error {
	now := time.Now().UTC()
	e := commands.PipelineEvent{
		PipelineID: "simulated-" + strconv.FormatInt(now.UnixNano(), 36), WorkflowID: "simulated-" + strconv.FormatInt(now.UnixNano(), 36),
		Name: "Build and test", Project: "shop", State: "done", Result: "failed", ResultReason: "test",
		CreatedAt: now.Add(-4 * time.Minute), RunningAt: now.Add(-3*time.Minute - 12*time.Second), DoneAt: now,
	}
	if s.prs == nil || s.n.github == nil {
		return errors.New("CI results need GitHub (GITHUB_REPOSITORY) to find the commit's author")
	}
	if len(args) == 1 {
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "#"))
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a pull request number; type `simulate ci-failed 7`", args[0])
		}
		if th, err := s.n.store.PRThread(n); err != nil {
			return err
		} else if th == nil {
			return fmt.Errorf("branch pipelines go into the pull request's thread, and Devy has not announced #%d; `simulate pr-opened %d` first", n, n)
		}
		pr, err := s.pullRequest(ctx, n)
		if err != nil {
			return err
		}
		e.PR, e.PRBranch, e.Branch, e.SHA, e.Sender, e.CommitMessage = n, pr.HeadRef, pr.HeadRef, pr.HeadSHA, pr.AuthorLogin, pr.Title
		s.failCI(&e)
		return s.n.Pipeline(ctx, e)
	}
	if len(args) > 1 {
		return errors.New("type `simulate ci-failed` (master) or `simulate ci-failed 7` (a PR's branch)")
	}
	if s.n.pipeline == nil || s.n.heroku == nil {
		return errors.New("`simulate ci-failed` tests staging's commit, which needs Heroku; `simulate ci-failed 7` tests a PR's branch")
	}
	p, err := s.n.pipeline.Pipeline(ctx)
	if err != nil {
		return err
	}
	st, err := s.n.heroku.CurrentRelease(ctx, p.Staging[0].ID)
	if err != nil {
		return err
	}
	prod, err := s.n.heroku.CurrentRelease(ctx, p.Production[0].ID)
	if err != nil {
		return err
	}
	e.Branch, e.SHA = "master", st.Commit
	if c, err := s.n.github.Compare(ctx, prod.Commit, st.Commit); err == nil && len(c.Commits) > 0 {
		last := c.Commits[len(c.Commits)-1]
		e.Sender, e.CommitMessage = last.AuthorLogin, last.Message
	}
	s.failCI(&e)
	return s.n.Pipeline(ctx, e)
}

// failCI makes the sandbox's CI agree with the failure e reports: the
// status and the promotion gates read the same failed pipeline.
func (s *Simulator) failCI(e *commands.PipelineEvent) {
	if s.world != nil {
		e.PipelineID = s.world.FailCI(e.Branch, e.SHA)
	}
}

// pullRequest reads PR n, saying in one sentence when it does not exist.
func (s *Simulator) pullRequest(ctx context.Context, n int) (github.PullRequest, error) {
	pr, err := s.prs.PullRequest(ctx, n)
	if apierr.StatusCode(err) == http.StatusNotFound {
		return pr, commands.Userf("There is no pull request #%d in %s.", n, s.n.github.Repo())
	}
	if err != nil {
		return pr, fmt.Errorf("read pull request #%d: %w", n, err)
	}
	return pr, nil
}
