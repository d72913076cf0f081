package notify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/store"
)

// Fakes of notifications' own interfaces: the end-to-end tests in package
// main drive the real ones through the webhooks.

type posted struct {
	Channel, Thread, TS string
	commands.Message
}

type notePoster struct {
	mu    sync.Mutex // guards posts
	posts []posted
}

func (p *notePoster) Post(_ context.Context, channel, thread string, m commands.Message) (commands.Posted, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := fmt.Sprintf("1700000000.%06d", len(p.posts)+1)
	p.posts = append(p.posts, posted{channel, thread, ts, m})
	// Slack answers with the channel's id even when given "#name".
	id := channel
	if strings.HasPrefix(channel, "#") {
		id = "C0" + strings.ToUpper(channel[1:])
	}
	return commands.Posted{Channel: id, TS: ts}, nil
}

func (p *notePoster) Update(context.Context, string, string, commands.Message) error { return nil }

// text is everything a post shows.
func (p posted) text() string {
	var b strings.Builder
	b.WriteString(p.Text)
	for _, bl := range p.Blocks {
		fmt.Fprintf(&b, "\n%+v", bl)
	}
	return b.String()
}

type noteStore struct {
	mu         sync.Mutex // guards everything below
	threads    map[int]store.Thread
	reviewApps map[int]store.ReviewApp
	requests   []store.PromotionRequest
	now        time.Time
}

func (s *noteStore) Now() time.Time { return s.now }
func (s *noteStore) SetPRThread(pr int, ch, ts string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.threads[pr] = store.Thread{Channel: ch, TS: ts}
	return nil
}
func (s *noteStore) PRThread(pr int) (*store.Thread, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.threads[pr]; ok {
		return &t, nil
	}
	return nil, nil
}
func (s *noteStore) ReviewApp(pr int) (store.ReviewApp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.reviewApps[pr]; ok {
		return r, nil
	}
	return store.ReviewApp{}, store.ErrNotFound
}
func (s *noteStore) Requests(statuses ...string) ([]store.PromotionRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.PromotionRequest
	for _, r := range s.requests {
		for _, st := range statuses {
			if r.Status == st {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

type noteGitHub struct {
	cmp github.Comparison
	err error
}

func (g noteGitHub) Compare(context.Context, string, string) (github.Comparison, error) {
	if g.err != nil {
		return github.Comparison{}, g.err
	}
	return g.cmp, nil
}
func (g noteGitHub) CommitURL(sha string) string { return "https://github.com/acme/shop/commit/" + sha }
func (g noteGitHub) CompareURL(b, h string) string {
	return "https://github.com/acme/shop/compare/" + b + "..." + h
}
func (g noteGitHub) Repo() string { return "acme/shop" }

type noteHeroku map[string]heroku.Release // app id → current release

func (h noteHeroku) CurrentRelease(_ context.Context, app string) (heroku.Release, error) {
	if r, ok := h[app]; ok {
		return r, nil
	}
	return heroku.Release{}, heroku.ErrNoRelease
}

type notePipeline heroku.Pipeline

func (p notePipeline) Pipeline(context.Context) (heroku.Pipeline, error) {
	return heroku.Pipeline(p), nil
}

const (
	stagingID = "app-staging"
	prodID    = "app-prod"
	stageSHA  = "ee43f5a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6"
	prodSHA   = "7f37d91b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"
)

type notifyWorld struct {
	n      *Notifier
	poster *notePoster
	store  *noteStore
}

func newNotifyWorld(t *testing.T) notifyWorld {
	t.Helper()
	p := &notePoster{}
	s := &noteStore{threads: map[int]store.Thread{}, reviewApps: map[int]store.ReviewApp{}, now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	n := New(Deps{
		Config: Config{PRChannel: "#general", DeployChannel: "#devy", UserMap: map[string]string{"erin": "U0ERIN", "dave": "U0DAVE"}},
		Poster: p, Store: s, Log: zerolog.Nop(),
		Pipeline: notePipeline{ID: "pipe", Name: "shop", Staging: []heroku.App{{ID: stagingID, Name: "shop-staging"}}, Production: []heroku.App{{ID: prodID, Name: "shop-prod"}}},
		Heroku: noteHeroku{
			stagingID: {ID: "rel-4", Version: 4, SlugID: "slug-4", Commit: stageSHA},
			prodID:    {ID: "rel-2", Version: 2, SlugID: "slug-2", Commit: prodSHA},
		},
		GitHub: noteGitHub{cmp: github.Comparison{AheadBy: 3, URL: "https://github.com/acme/shop/compare/x...y", Commits: []github.Commit{
			{SHA: "a", AuthorLogin: "carol"}, {SHA: "b", AuthorLogin: "dave"}, {SHA: "c", AuthorName: "Someone Without Login"},
		}}},
	})
	return notifyWorld{n: n, poster: p, store: s}
}

func (w notifyWorld) posts() []posted {
	w.poster.mu.Lock()
	defer w.poster.mu.Unlock()
	return append([]posted(nil), w.poster.posts...)
}

var opened = commands.PREvent{Action: "opened", Repo: "acme/shop", Number: 7, Title: "Dark mode <b>", URL: "https://github.com/acme/shop/pull/7",
	Author: "erin", Sender: "erin", Branch: "erin/dark-mode", Base: "master", HeadSHA: "8ba02a7d1c3e"}

func TestPullRequestNotifications(t *testing.T) {
	ctx := context.Background()
	with := func(e commands.PREvent, f func(*commands.PREvent)) commands.PREvent { f(&e); return e }
	tests := []struct {
		name      string
		setup     func(w notifyWorld)
		event     commands.PREvent
		wantPosts int
		channel   string // of the last post
		thread    string
		want      []string // in the last post
		dontWant  []string
	}{
		{name: "opened", event: opened, wantPosts: 1, channel: "#general",
			want: []string{"<https://github.com/acme/shop/pull/7|#7 Dark mode &lt;b&gt;>", "<@U0ERIN>", "`erin/dark-mode` → `master`",
				"ActionID:" + commands.ActionCreateReviewApp, "Value:7", "Create review app"}},
		{name: "opened by someone unmapped", event: with(opened, func(e *commands.PREvent) { e.Author = "frank" }), wantPosts: 1, want: []string{"by frank"}},
		{name: "draft", event: with(opened, func(e *commands.PREvent) { e.Draft = true }), wantPosts: 1, want: []string{"(draft)"}},
		{name: "announced once", setup: func(w notifyWorld) { _ = w.store.SetPRThread(7, "#general", "1.1") }, event: opened, wantPosts: 0},
		{name: "another repository", event: with(opened, func(e *commands.PREvent) { e.Repo = "acme/other" }), wantPosts: 0},
		{name: "labeled", event: with(opened, func(e *commands.PREvent) { e.Action = "labeled" }), wantPosts: 0},
		{name: "new commits without a thread", event: with(opened, func(e *commands.PREvent) { e.Action = "synchronize" }), wantPosts: 0},
		{name: "new commits", setup: func(w notifyWorld) { _ = w.store.SetPRThread(7, "#general", "1.1") },
			event: with(opened, func(e *commands.PREvent) {
				e.Action, e.Before, e.After = "synchronize", "8ba02a7d1c3e", "9cb13b8e2d4f"
			}),
			wantPosts: 1, channel: "#general", thread: "1.1",
			want: []string{"New commits on `erin/dark-mode`", "`9cb13b8`", "compare/8ba02a7d1c3e...9cb13b8e2d4f|what changed", "pushed by <@U0ERIN>"}},
		{name: "merged with a review app", setup: func(w notifyWorld) {
			_ = w.store.SetPRThread(7, "#general", "1.1")
			w.store.reviewApps[7] = store.ReviewApp{PR: 7, ID: "ra", Status: store.ReviewCreated, AppName: "shop-pr-7"}
		}, event: with(opened, func(e *commands.PREvent) { e.Action, e.Merged, e.MergedBy, e.Sender = "closed", true, "bob", "bob" }),
			wantPosts: 1, thread: "1.1",
			want: []string{"Merged into `master` by bob", "*shop-pr-7* is still there", "`@Devy reviewapp 7 destroy`", "`/reviewapp 7 destroy`"}},
		{name: "closed with a deleted review app", setup: func(w notifyWorld) {
			_ = w.store.SetPRThread(7, "#general", "1.1")
			w.store.reviewApps[7] = store.ReviewApp{PR: 7, ID: "ra", Status: store.ReviewDeleted}
		}, event: with(opened, func(e *commands.PREvent) { e.Action, e.Sender = "closed", "erin" }),
			wantPosts: 1, thread: "1.1", want: []string{"Closed without merging by <@U0ERIN>"}, dontWant: []string{"destroy"}},
		{name: "reopened with a thread", setup: func(w notifyWorld) { _ = w.store.SetPRThread(7, "#general", "1.1") },
			event: with(opened, func(e *commands.PREvent) { e.Action = "reopened" }), wantPosts: 1, thread: "1.1",
			want: []string{"Reopened by <@U0ERIN>", "Create review app"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newNotifyWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			if err := w.n.PullRequest(ctx, tc.event); err != nil {
				t.Fatal(err)
			}
			w.checkPosts(t, tc.wantPosts, tc.channel, tc.thread, tc.want, tc.dontWant)
			if tc.event.Action == "opened" && tc.wantPosts > 0 {
				ps := w.posts()
				th, _ := w.store.PRThread(7)
				if th == nil || th.Channel != "C0GENERAL" || th.TS != ps[len(ps)-1].TS {
					t.Errorf("thread remembered = %+v; want the notification's", th)
				}
			}
		})
	}
}

func TestReleaseNotifications(t *testing.T) {
	ctx := context.Background()
	staging := commands.ReleaseEvent{Action: "create", ID: "rel-4", Version: 4, Status: "succeeded", AppID: stagingID, AppName: "shop-staging",
		SlugID: "slug-4", Description: "Deploy ee43f5a0", UserEmail: "dave@acme.test"}
	prod := commands.ReleaseEvent{Action: "create", ID: "rel-3p", Version: 3, Status: "succeeded", AppID: prodID, AppName: "shop-prod",
		SlugID: "slug-4", Description: "Promote shop-staging v4", UserEmail: "bob@acme.test"}
	with := func(e commands.ReleaseEvent, f func(*commands.ReleaseEvent)) commands.ReleaseEvent { f(&e); return e }
	tests := []struct {
		name      string
		setup     func(w notifyWorld)
		event     commands.ReleaseEvent
		wantPosts int
		channel   string
		thread    string
		want      []string
		dontWant  []string
	}{
		{name: "staging", event: staging, wantPosts: 1, channel: "#devy",
			want: []string{"New staging release: *shop-staging* v4", "<https://github.com/acme/shop/commit/" + stageSHA + "|`ee43f5a`>",
				"3 commits ahead> of production (*shop-prod* v2", "ActionID:" + commands.ActionRequest, "Request promotion", "dave@acme.test"}},
		{name: "staging equal to production", setup: func(w notifyWorld) {
			w.n.heroku = noteHeroku{stagingID: {ID: "rel-4", SlugID: "slug-4", Commit: stageSHA}, prodID: {ID: "rel-3p", Version: 3, SlugID: "slug-4", Commit: stageSHA}}
		}, event: staging, wantPosts: 1, want: []string{"already runs this code: nothing to promote"}, dontWant: []string{"Request promotion"}},
		{name: "staging moved on since: commit from the description", setup: func(w notifyWorld) {
			w.n.heroku = noteHeroku{stagingID: {ID: "rel-5", SlugID: "slug-5", Commit: "ffff"}, prodID: {ID: "rel-2", Version: 2, SlugID: "slug-2", Commit: prodSHA}}
		}, event: staging, wantPosts: 1, want: []string{"commit/ee43f5a0|`ee43f5a`>"}},
		{name: "pending", event: with(staging, func(e *commands.ReleaseEvent) { e.Status = "pending" }), wantPosts: 0},
		{name: "update that did not change the status", event: with(staging, func(e *commands.ReleaseEvent) { e.Action = "update" }), wantPosts: 0},
		{name: "review app", event: with(staging, func(e *commands.ReleaseEvent) { e.AppID, e.AppName = "app-pr-7", "shop-pr-7" }), wantPosts: 0},
		{name: "failed", event: with(staging, func(e *commands.ReleaseEvent) {
			e.Action, e.Status, e.StatusChanged, e.Description = "update", "failed", true, "Deploy ee43f5a0 (release command failed)"
		}), wantPosts: 1, channel: "#devy", want: []string{"Release v4 of *shop-staging* (staging) failed", "Heroku says: “Deploy ee43f5a0 (release command failed)”"}},
		{name: "failed without a description", event: with(staging, func(e *commands.ReleaseEvent) { e.Status, e.Description = "failed", "" }),
			wantPosts: 1, want: []string{"`heroku releases:output v4 -a shop-staging`"}},
		{name: "production outside Devy", event: prod, wantPosts: 1, channel: "#devy",
			want: []string{"*shop-prod* is now v3", "bob@acme.test", "did not go through Devy", "Heroku says: “Promote shop-staging v4”"}},
		{name: "production while Devy promotes", setup: func(w notifyWorld) {
			w.store.requests = []store.PromotionRequest{{ID: 3, Status: store.StatusPromoting, Channel: "C0DEVY", MessageTS: "5.5", StagingAppName: "shop-staging",
				ReleaseVersion: 4, DecidedBy: "U0BOB", SlugID: "slug-4", Targets: []store.Target{{AppID: prodID, AppName: "shop-prod"}}}}
		}, event: prod, wantPosts: 1, channel: "C0DEVY", thread: "5.5",
			want: []string{"*shop-prod* is now v3, from Devy's promotion request #3", "approved by <@U0BOB>"}, dontWant: []string{"did not go through"}},
		{name: "production just promoted by Devy", setup: func(w notifyWorld) {
			w.store.requests = []store.PromotionRequest{{ID: 3, Status: store.StatusSucceeded, FinishedAt: w.store.now.Add(-time.Minute), Channel: "C0DEVY", MessageTS: "5.5",
				DecidedBy: "U0BOB", Targets: []store.Target{{AppID: prodID, ReleaseID: "rel-3p"}}}}
		}, event: prod, wantPosts: 1, thread: "5.5", want: []string{"from Devy's promotion request #3"}},
		{name: "production: Devy's promotion ended long ago", setup: func(w notifyWorld) {
			w.store.requests = []store.PromotionRequest{{ID: 3, Status: store.StatusSucceeded, FinishedAt: w.store.now.Add(-2 * time.Hour),
				Targets: []store.Target{{AppID: prodID, ReleaseID: "rel-3p"}}}}
		}, event: prod, wantPosts: 1, want: []string{"did not go through Devy"}},
		{name: "production: Devy's promotion made another release", setup: func(w notifyWorld) {
			w.store.requests = []store.PromotionRequest{{ID: 3, Status: store.StatusSucceeded, FinishedAt: w.store.now.Add(-time.Minute),
				Targets: []store.Target{{AppID: prodID, ReleaseID: "rel-other"}}}}
		}, event: prod, wantPosts: 1, want: []string{"did not go through Devy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newNotifyWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			if err := w.n.Release(ctx, tc.event); err != nil {
				t.Fatal(err)
			}
			ps := w.posts()
			if len(ps) != tc.wantPosts {
				t.Fatalf("%d posts; want %d: %+v", len(ps), tc.wantPosts, ps)
			}
			if tc.wantPosts == 0 {
				return
			}
			last := ps[0]
			if tc.channel != "" && last.Channel != tc.channel || last.Thread != tc.thread {
				t.Errorf("posted in %s thread %q; want %s thread %q", last.Channel, last.Thread, tc.channel, tc.thread)
			}
			for _, s := range tc.want {
				if !strings.Contains(last.text(), s) {
					t.Errorf("post lacks %q:\n%s", s, last.text())
				}
			}
			for _, s := range tc.dontWant {
				if strings.Contains(last.text(), s) {
					t.Errorf("post has %q:\n%s", s, last.text())
				}
			}
		})
	}
}

func TestBuildNotification(t *testing.T) {
	w := newNotifyWorld(t)
	e := commands.BuildEvent{Action: "update", ID: "b-1", Status: "failed", StatusChanged: true, AppID: stagingID, AppName: "shop-staging", Commit: stageSHA, UserEmail: "dave@acme.test"}
	if err := w.n.Build(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	e.AppID, e.AppName = "app-pr-7", "shop-pr-7" // review apps report their own failures
	if err := w.n.Build(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	ps := w.posts()
	if len(ps) != 1 {
		t.Fatalf("%d posts; want 1", len(ps))
	}
	for _, s := range []string{"Heroku could not build", "`ee43f5a`", "*shop-staging*", "started by dave@acme.test", "dashboard.heroku.com/apps/shop-staging/activity/builds/b-1"} {
		if !strings.Contains(ps[0].text(), s) {
			t.Errorf("post lacks %q:\n%s", s, ps[0].text())
		}
	}
}

func TestPipelineNotifications(t *testing.T) {
	ctx := context.Background()
	done := time.Date(2026, 11, 24, 22, 44, 8, 0, time.UTC)
	master := commands.PipelineEvent{WorkflowID: "wf-1", Name: "Shop CI", Organization: "acme", State: "done", Result: "failed", ResultReason: "test",
		Branch: "master", SHA: stageSHA, CommitMessage: "Report errors to Sentry\n\nbody", CommitRange: "aaaa...bbbb", Sender: "frank",
		CreatedAt: done.Add(-4 * time.Minute), RunningAt: done.Add(-3*time.Minute - 12*time.Second), DoneAt: done}
	with := func(e commands.PipelineEvent, f func(*commands.PipelineEvent)) commands.PipelineEvent {
		f(&e)
		return e
	}
	tests := []struct {
		name      string
		setup     func(w notifyWorld)
		event     commands.PipelineEvent
		wantPosts int
		channel   string
		thread    string
		want      []string
		dontWant  []string
	}{
		{name: "master failed", event: master, wantPosts: 1, channel: "#devy",
			want: []string{"❌ *CI failed on `master`* at <https://github.com/acme/shop/commit/" + stageSHA, "“Report errors to Sentry”",
				"<https://acme.semaphoreci.com/workflows/wf-1|Shop CI>", "3m 12s", "*Reason*\ntest",
				// the failing commit is not among the push's listed: the newest one's author
				"*Author*\nSomeone Without Login"}, dontWant: []string{"frank", "body", "U0DAVE", "carol"}},
		{name: "master failed: the failing commit's author, mapped", event: with(master, func(e *commands.PipelineEvent) { e.SHA = "b" }),
			wantPosts: 1, want: []string{"*Author*\n<@U0DAVE>", "— <@U0DAVE>"}, dontWant: []string{"carol", "Someone", "frank"}},
		{name: "master failed: the failing commit's author, unmapped", event: with(master, func(e *commands.PipelineEvent) { e.SHA = "a" }),
			wantPosts: 1, want: []string{"*Author*\ncarol"}, dontWant: []string{"U0DAVE", "Someone", "frank"}},
		{name: "master failed, GitHub down: who pushed", setup: func(w notifyWorld) {
			w.n.github = noteGitHub{err: fmt.Errorf("github: comparing aaaa...bbbb: 502")}
		}, event: master, wantPosts: 1, want: []string{"*Author*\nfrank"}, dontWant: []string{"U0DAVE", "carol", "Someone"}},
		{name: "master failed, commit past GitHub's list: who pushed", setup: func(w notifyWorld) {
			w.n.github = noteGitHub{cmp: github.Comparison{TotalCommits: 300, Commits: []github.Commit{{SHA: "a", AuthorLogin: "carol"}}}}
		}, event: master, wantPosts: 1, want: []string{"*Author*\nfrank"}, dontWant: []string{"carol"}},
		{name: "master failed, no range: who pushed", event: with(master, func(e *commands.PipelineEvent) { e.CommitRange, e.Sender = "", "erin" }),
			wantPosts: 1, want: []string{"*Author*\n<@U0ERIN>"}},
		{name: "master failed, new branch range", event: with(master, func(e *commands.PipelineEvent) { e.CommitRange = "0000000000...bbbb" }),
			wantPosts: 1, want: []string{"*Author*\nfrank"}},
		{name: "master passed", event: with(master, func(e *commands.PipelineEvent) { e.Result = "passed" }), wantPosts: 1,
			want: []string{"✅ *CI passed on `master`*"}, dontWant: []string{"Author", "Reason"}},
		{name: "main counts as the main branch", event: with(master, func(e *commands.PipelineEvent) { e.Branch, e.Result = "main", "passed" }), wantPosts: 1, channel: "#devy"},
		{name: "pull request pipeline in its thread", setup: func(w notifyWorld) { _ = w.store.SetPRThread(7, "#general", "1.1") },
			event:     with(master, func(e *commands.PipelineEvent) { e.Branch, e.PR, e.Result = "erin/dark-mode", 7, "passed" }),
			wantPosts: 1, channel: "#general", thread: "1.1", want: []string{"✅ *CI passed* at"}, dontWant: []string{"master"}},
		{name: "branch pipeline of a known PR", setup: func(w notifyWorld) {
			_ = w.n.PullRequest(ctx, opened) // announces #7 and learns its branch
		}, event: with(master, func(e *commands.PipelineEvent) { e.Branch = "erin/dark-mode" }), wantPosts: 2, channel: "C0GENERAL", thread: "1700000000.000001",
			want: []string{"❌ *CI failed* at"}},
		{name: "branch pipeline of an unknown PR", event: with(master, func(e *commands.PipelineEvent) { e.Branch = "someone/else" }), wantPosts: 0},
		{name: "PR pipeline without a thread", event: with(master, func(e *commands.PipelineEvent) { e.Branch, e.PR = "x", 9 }), wantPosts: 0},
		{name: "stopped", event: with(master, func(e *commands.PipelineEvent) { e.Result, e.ResultReason = "stopped", "user" }), wantPosts: 1,
			want: []string{"⏹ *CI stopped on `master`*", "*Reason*\nuser"}, dontWant: []string{"Author"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newNotifyWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			if err := w.n.Pipeline(ctx, tc.event); err != nil {
				t.Fatal(err)
			}
			w.checkPosts(t, tc.wantPosts, tc.channel, tc.thread, tc.want, tc.dontWant)
		})
	}
}

// heldPoster holds its first post (the announcement) until release is
// closed, as a slow Slack does.
type heldPoster struct {
	notePoster
	once             sync.Once
	entered, release chan struct{}
}

func (p *heldPoster) Post(ctx context.Context, channel, thread string, m commands.Message) (commands.Posted, error) {
	p.once.Do(func() { close(p.entered); <-p.release })
	return p.notePoster.Post(ctx, channel, thread, m)
}

// An event of a pull request arriving while its announcement is still
// being posted waits for it and lands in its thread.
func TestPullRequestFollowUpWaitsForItsAnnouncement(t *testing.T) {
	ctx := context.Background()
	passed := commands.PipelineEvent{State: "done", Result: "passed", Branch: "erin/dark-mode", SHA: stageSHA}
	tests := []struct {
		name     string
		followUp func(n *Notifier) error
		want     string
	}{
		{"new commits", func(n *Notifier) error {
			return n.PullRequest(ctx, commands.PREvent{Action: "synchronize", Repo: "acme/shop", Number: 7, Branch: "erin/dark-mode", After: "9cb13b8e2d4f"})
		}, "New commits on `erin/dark-mode`"},
		{"the pull request's pipeline", func(n *Notifier) error {
			e := passed
			e.PR = 7
			return n.Pipeline(ctx, e)
		}, "CI passed"},
		{"its branch's pipeline", func(n *Notifier) error { return n.Pipeline(ctx, passed) }, "CI passed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newNotifyWorld(t)
			p := &heldPoster{entered: make(chan struct{}), release: make(chan struct{})}
			w.n.poster, w.poster = p, &p.notePoster
			announced := make(chan error)
			go func() { announced <- w.n.PullRequest(ctx, opened) }()
			<-p.entered
			// Let the follow-up reach the thread before the announcement ends.
			time.AfterFunc(20*time.Millisecond, func() { close(p.release) })
			if err := tc.followUp(w.n); err != nil {
				t.Fatal(err)
			}
			if err := <-announced; err != nil {
				t.Fatal(err)
			}
			w.checkPosts(t, 2, "C0GENERAL", "1700000000.000001", []string{tc.want}, nil)
			if len(w.n.threads.locks) != 0 {
				t.Errorf("%d pull request locks kept; want none", len(w.n.threads.locks))
			}
		})
	}
}

func TestHumanDurationAndRanges(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{45 * time.Second, "45s"}, {192 * time.Second, "3m 12s"}, {64 * time.Minute, "1h 4m"}, {1500 * time.Millisecond, "2s"}} {
		t.Run(tc.want, func(t *testing.T) {
			if got := format.Elapsed(tc.d); got != tc.want {
				t.Errorf("format.Elapsed(%v) = %q; want %q", tc.d, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		r          string
		base, head string
		ok         bool
	}{
		{"abc...def", "abc", "def", true},
		{"abc..def", "abc", "def", true},
		{"0000000...def", "", "", false},
		{"abc", "", "", false},
		{"...def", "", "", false},
		{"36ebdf6e...2d9f5fce...", "", "", false},
	} {
		t.Run(tc.r, func(t *testing.T) {
			b, h, ok := splitRange(tc.r)
			if b != tc.base || h != tc.head || ok != tc.ok {
				t.Errorf("splitRange(%q) = %q, %q, %v", tc.r, b, h, ok)
			}
		})
	}
}

func TestBranchMapIsBounded(t *testing.T) {
	w := newNotifyWorld(t)
	for i := 1; i <= maxBranches+10; i++ {
		w.n.learnBranch(commands.PREvent{Action: "opened", Number: i, Branch: fmt.Sprint("b", i)})
	}
	if len(w.n.branches) != maxBranches || w.n.branchPR("b1") != 0 || w.n.branchPR(fmt.Sprint("b", maxBranches+10)) != maxBranches+10 {
		t.Fatalf("%d branches kept; want the newest %d", len(w.n.branches), maxBranches)
	}
	w.n.learnBranch(commands.PREvent{Action: "closed", Number: 20, Branch: "b20"})
	if w.n.branchPR("b20") != 0 {
		t.Error("a closed PR's branch is still mapped")
	}
}

// checkPosts asserts how many posts were made and what the last one says and
// where it went (channel "" means any).
func (w notifyWorld) checkPosts(t *testing.T, wantPosts int, channel, thread string, want, dontWant []string) {
	t.Helper()
	ps := w.posts()
	if len(ps) != wantPosts {
		t.Fatalf("%d posts; want %d: %+v", len(ps), wantPosts, ps)
	}
	if wantPosts == 0 {
		return
	}
	last := ps[len(ps)-1]
	if channel != "" && last.Channel != channel || last.Thread != thread {
		t.Errorf("posted in %s thread %q; want %s thread %q", last.Channel, last.Thread, channel, thread)
	}
	for _, s := range want {
		if !strings.Contains(last.text(), s) {
			t.Errorf("post lacks %q:\n%s", s, last.text())
		}
	}
	for _, s := range dontWant {
		if strings.Contains(last.text(), s) {
			t.Errorf("post has %q:\n%s", s, last.text())
		}
	}
}
