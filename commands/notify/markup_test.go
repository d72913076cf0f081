package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/store"
)

// evil is text a sender controls (a title, a branch, a build's version, an
// e-mail) carrying Slack markup: a channel-wide ping, a mention and a link
// dressed as a button.
const evil = "x<!channel> <@U0EVIL> <https://evil.test|Approve> & y"

// planted is what must never reach Slack raw from sender-controlled text.
var planted = []string{"<!", "<@U0EVIL", "|Approve>"}

// Every notification kind, fed markup in every field that comes from
// outside, posts it as text: no mention, no link survives.
func TestNotificationsEscapeSenderText(t *testing.T) {
	ctx := context.Background()
	pr := commands.PREvent{Action: "opened", Repo: "acme/shop", Number: 7, Title: evil, URL: "https://github.com/acme/shop/pull/7|Approve><!channel>",
		Author: evil, Sender: evil, Branch: evil, Base: evil, HeadSHA: evil, Before: evil, After: evil, MergedBy: evil}
	withPR := func(f func(*commands.PREvent)) commands.PREvent { e := pr; f(&e); return e }
	thread := func(w notifyWorld) { _ = w.store.SetPRThread(7, "#general", "1.1") }
	// The release's id goes only into the button's value and block id,
	// which Slack never renders as markup.
	release := commands.ReleaseEvent{Action: "create", ID: "rel-4", Version: 4, Status: "succeeded", AppID: stagingID, AppName: evil,
		SlugID: evil, Description: evil, UserEmail: evil}
	withRelease := func(f func(*commands.ReleaseEvent)) commands.ReleaseEvent { e := release; f(&e); return e }
	evilCommits := func(w notifyWorld) {
		w.n.heroku = noteHeroku{stagingID: {ID: evil, SlugID: evil, Commit: evil}, prodID: {ID: "rel-2", Version: 2, Commit: evil}}
		w.n.pipeline = notePipeline{ID: "pipe", Name: evil, Staging: []heroku.App{{ID: stagingID, Name: evil}}, Production: []heroku.App{{ID: prodID, Name: evil}}}
		w.n.github = noteGitHub{cmp: github.Comparison{AheadBy: 3, URL: "https://github.com/x|Approve>", Commits: []github.Commit{{SHA: evil, AuthorLogin: evil, AuthorName: evil}}}}
	}
	pipeline := commands.PipelineEvent{PipelineID: evil, WorkflowID: evil, Name: evil, Project: evil, Organization: evil, State: "done", Result: "failed",
		ResultReason: evil, Error: evil, Branch: "master", SHA: evil, CommitMessage: evil, CommitRange: evil + "..." + evil, Sender: evil}
	withPipeline := func(f func(*commands.PipelineEvent)) commands.PipelineEvent { e := pipeline; f(&e); return e }

	tests := []struct {
		name  string
		setup func(w notifyWorld)
		send  func(w notifyWorld) error
	}{
		{"PR opened", nil, func(w notifyWorld) error { return w.n.PullRequest(ctx, pr) }},
		{"PR opened without a title", nil, func(w notifyWorld) error {
			return w.n.PullRequest(ctx, withPR(func(e *commands.PREvent) { e.Title = "" }))
		}},
		{"PR reopened", thread, func(w notifyWorld) error {
			return w.n.PullRequest(ctx, withPR(func(e *commands.PREvent) { e.Action = "reopened" }))
		}},
		{"PR new commits", thread, func(w notifyWorld) error {
			return w.n.PullRequest(ctx, withPR(func(e *commands.PREvent) { e.Action = "synchronize" }))
		}},
		{"PR new commits, SHAs linked", thread, func(w notifyWorld) error {
			return w.n.PullRequest(ctx, withPR(func(e *commands.PREvent) { e.Action, e.Before, e.After = "synchronize", stageSHA, evil+stageSHA }))
		}},
		{"PR ready for review", thread, func(w notifyWorld) error {
			return w.n.PullRequest(ctx, withPR(func(e *commands.PREvent) { e.Action = "ready_for_review" }))
		}},
		{"PR merged, review app left", func(w notifyWorld) {
			thread(w)
			w.store.reviewApps[7] = store.ReviewApp{PR: 7, ID: "ra", Status: store.ReviewCreated, AppName: evil}
		}, func(w notifyWorld) error {
			return w.n.PullRequest(ctx, withPR(func(e *commands.PREvent) { e.Action, e.Merged = "closed", true }))
		}},
		{"PR closed", thread, func(w notifyWorld) error {
			return w.n.PullRequest(ctx, withPR(func(e *commands.PREvent) { e.Action = "closed" }))
		}},
		{"staging release", evilCommits, func(w notifyWorld) error { return w.n.Release(ctx, release) }},
		{"staging release, commit from the description", nil, func(w notifyWorld) error {
			return w.n.Release(ctx, withRelease(func(e *commands.ReleaseEvent) { e.Description = "Deploy " + evil }))
		}},
		{"release failed", nil, func(w notifyWorld) error {
			return w.n.Release(ctx, withRelease(func(e *commands.ReleaseEvent) { e.Status = "failed" }))
		}},
		{"release failed without a description", nil, func(w notifyWorld) error {
			return w.n.Release(ctx, withRelease(func(e *commands.ReleaseEvent) { e.Status, e.Description = "failed", "" }))
		}},
		{"production release outside Devy", evilCommits, func(w notifyWorld) error {
			return w.n.Release(ctx, withRelease(func(e *commands.ReleaseEvent) { e.AppID = prodID }))
		}},
		{"production release by Devy", func(w notifyWorld) {
			w.store.requests = []store.PromotionRequest{{ID: 3, Status: store.StatusPromoting, Channel: "C0DEVY", MessageTS: "5.5", StagingAppName: evil,
				ReleaseVersion: 4, DecidedBy: "U0BOB", Targets: []store.Target{{AppID: prodID, AppName: evil}}}}
		}, func(w notifyWorld) error {
			return w.n.Release(ctx, withRelease(func(e *commands.ReleaseEvent) { e.AppID = prodID }))
		}},
		{"release, pipeline unknown", func(w notifyWorld) { w.n.pipeline = nil }, func(w notifyWorld) error { return w.n.Release(ctx, release) }},
		{"build failed", nil, func(w notifyWorld) error {
			return w.n.Build(ctx, commands.BuildEvent{Action: "create", ID: evil, Status: "failed", AppID: stagingID, AppName: evil, Commit: evil, UserEmail: evil})
		}},
		{"CI on the main branch", evilCommits, func(w notifyWorld) error { return w.n.Pipeline(ctx, pipeline) }},
		{"CI on the main branch, no GitHub", func(w notifyWorld) { w.n.github = nil }, func(w notifyWorld) error { return w.n.Pipeline(ctx, pipeline) }},
		{"CI of a pull request", thread, func(w notifyWorld) error {
			return w.n.Pipeline(ctx, withPipeline(func(e *commands.PipelineEvent) { e.Branch, e.PR, e.PRBranch = evil, 7, evil }))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newNotifyWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			if err := tc.send(w); err != nil {
				t.Fatal(err)
			}
			ps := w.posts()
			if len(ps) == 0 {
				t.Fatal("nothing posted")
			}
			for _, p := range ps {
				text := p.text()
				for _, bad := range planted {
					if strings.Contains(text, bad) {
						t.Errorf("posted %q raw:\n%s", bad, text)
					}
				}
			}
		})
	}
}
