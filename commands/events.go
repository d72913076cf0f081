package commands

import (
	"strings"
	"time"
)

// The services' events, as Devy needs them. webhooks/ decodes them from the
// services' payloads and the shell's simulator makes them up; neither knows
// what they become in Slack.

// PREvent is a GitHub pull_request event.
type PREvent struct {
	Action   string // opened, reopened, synchronize, ready_for_review, closed
	Repo     string // owner/name the pull request belongs to
	Number   int
	Title    string
	URL      string // the pull request's page
	Author   string // GitHub login of the pull request's author
	Sender   string // GitHub login of who did what the event reports
	Branch   string // the head branch
	Base     string // the branch it merges into
	HeadSHA  string
	Before   string // synchronize: the head before the push
	After    string // synchronize: the head after it
	Draft    bool
	Merged   bool // closed by a merge
	MergedBy string
}

// Wanted reports whether Devy says anything about the event; other actions
// (labeled, edited, review requests…) are left to GitHub.
func (e PREvent) Wanted() bool {
	switch e.Action {
	case "opened", "reopened", "synchronize", "ready_for_review", "closed":
		return e.Number > 0
	}
	return false
}

// ReleaseEvent is a Heroku api:release event.
type ReleaseEvent struct {
	Action        string // create or update
	ID            string
	Version       int
	Status        string // pending, succeeded or failed
	StatusChanged bool   // an update that changed the status (Heroku's previous_data names it)
	AppID         string
	AppName       string
	SlugID        string // "" when the release has no slug
	Description   string // Heroku's words for the release, such as "Deploy 2d9f5fc"
	UserEmail     string
	CreatedAt     time.Time
}

// Wanted reports whether the release has an outcome to tell: it succeeded
// or failed when it was created, or its status changed to one of those.
// Other updates (a release stops being current when the next one lands)
// would repeat old news.
func (e ReleaseEvent) Wanted() bool {
	return (e.Status == "succeeded" || e.Status == "failed") && (e.Action == "create" || e.StatusChanged) && (e.AppID != "" || e.AppName != "")
}

// BuildEvent is a Heroku api:build event.
type BuildEvent struct {
	Action        string // create or update
	ID            string
	Status        string // pending, succeeded or failed
	StatusChanged bool
	AppID         string
	AppName       string
	Commit        string // source_blob.version: the commit built, when Heroku knows it
	UserEmail     string
}

// Wanted reports whether the build failed: a build that succeeds becomes a
// release, which has its own event.
func (e BuildEvent) Wanted() bool {
	return e.Status == "failed" && (e.Action == "create" || e.StatusChanged) && (e.AppID != "" || e.AppName != "")
}

// PipelineEvent is a Semaphore pipeline that finished.
type PipelineEvent struct {
	PipelineID    string
	WorkflowID    string
	Name          string // the pipeline's name
	Project       string
	Organization  string // the organization's name: https://<name>.semaphoreci.com
	State         string // done
	Result        string // passed, failed, stopped, canceled
	ResultReason  string // test, malformed, stuck, user…
	Error         string // Semaphore's error description
	Branch        string // the branch of a branch pipeline
	PR            int    // the pull request of a pull request pipeline
	PRBranch      string
	SHA           string
	CommitMessage string
	CommitRange   string // "base...head" of the push
	Sender        string // GitHub login of who pushed
	CreatedAt     time.Time
	RunningAt     time.Time
	DoneAt        time.Time
}

// Wanted reports whether the pipeline has finished.
func (e PipelineEvent) Wanted() bool {
	return (e.State == "" || strings.EqualFold(e.State, "done")) && e.Result != "" && (e.Branch != "" || e.PR > 0)
}

// Buttons that notifications draw and another feature answers: their ids
// belong to neither, so they live here.
const (
	// ActionCreateReviewApp is on pull request notifications; its value is
	// the PR number. /reviewapp answers it.
	ActionCreateReviewApp = "reviewapp.create"
	// ActionRequest is "Request promotion" on a staging release
	// notification. /deploy answers it as it does /deploy promote.
	ActionRequest = "deploy.request"
)
