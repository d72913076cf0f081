package deploy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/integrations/semaphore"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store"
)

// fullDesk is a /deploy against the whole sandbox: Heroku, GitHub and
// Semaphore, with promotions that end at once.
func fullDesk(t *testing.T) (*Desk, *commands.Router, *sandbox.Sandbox, Store) {
	t.Helper()
	sb := sandbox.Start()
	sb.FailOnUnmatched(t)
	t.Cleanup(sb.Close)
	sb.Heroku.SetPromotionDelay(0)
	gh, err := github.New(sb.GitHubURL+"/", sandbox.GitHubToken, sandbox.Owner+"/"+sandbox.Repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := semaphore.New(sb.SemaphoreURL, sandbox.SemaphoreToken, sandbox.ProjectID, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := commandstest.Store(t)
	d := New(Deps{
		Config: Config{Pipeline: sandbox.Pipeline, Channel: "devy"},
		Heroku: heroku.New(sb.HerokuURL, sandbox.HerokuToken, nil), GitHub: gh, CI: ci, Store: st,
		Poster: &commandstest.Recorder{}, Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop(),
	})
	r := commands.NewRouter()
	d.Register(r)
	return d, r, sb, st
}

func status(t *testing.T, r *commands.Router) string {
	t.Helper()
	reply, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "status", UserID: "U1", ChannelID: "C1", Source: commands.Slash})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	out := []string{reply.Text}
	for _, b := range reply.Blocks {
		if sec, ok := b.(commands.Section); ok {
			out = append(out, sec.Text)
			out = append(out, sec.Fields...)
		}
	}
	return strings.Join(out, "\n")
}

func itoa[N int | uint64](n N) string { return strconv.FormatUint(uint64(n), 10) }

func promote(t *testing.T, r *commands.Router, st Store) store.PromotionRequest {
	t.Helper()
	if _, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "promote", UserID: "U1", ChannelID: "C1", ChannelName: "devy", Source: commands.Slash}); err != nil {
		t.Fatalf("promote: %v", err)
	}
	open, err := st.OpenRequest(sandbox.Pipeline)
	if err != nil || open == nil {
		// Requests are keyed by the pipeline's id, not its name.
		reqs, _ := st.Requests(store.StatusPending)
		if len(reqs) != 1 {
			t.Fatalf("no pending request after promote: %v", err)
		}
		return reqs[0]
	}
	return *open
}

func approve(t *testing.T, r *commands.Router, req store.PromotionRequest) error {
	t.Helper()
	_, err := r.Click(t.Context(), commands.Action{ActionID: ActionApprove, Value: itoa(req.ID), UserID: "U2", ChannelID: req.Channel, MessageTS: req.MessageTS})
	return err
}

func count(calls []string, part string) int {
	n := 0
	for _, c := range calls {
		if strings.Contains(c, part) {
			n++
		}
	}
	return n
}

func githubCalls(sb *sandbox.Sandbox) []string {
	var out []string
	for _, c := range sb.GitHub.Calls() {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

func herokuCalls(sb *sandbox.Sandbox) []string {
	var out []string
	for _, c := range sb.Heroku.Calls() {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

// newStagingRelease deploys a new commit to staging, outside Devy, with CI
// green, and returns its release version.
func newStagingRelease(sb *sandbox.Sandbox) int {
	sha := sb.GitHub.Commit("Faster checkout", "erin", "app/checkout.rb")
	sb.Semaphore.AddPipeline("master", sha, "done", "passed")
	_, v := sb.Heroku.Release(sandbox.StagingApp, sha, "erin@acme.test", "Deploy "+sha[:7])
	return v
}

// Status, promote and approve on an unchanged pipeline compare the two
// commits once and read each slug's commit once.
func TestWalkOnAnUnchangedPipelineReadsEachCompareAndSlugOnce(t *testing.T) {
	_, r, sb, st := fullDesk(t)
	status(t, r)
	req := promote(t, r, st)
	if err := approve(t, r, req); err != nil {
		t.Fatalf("approve: %v", err)
	}
	waitfor.True(t, "the promotion is sent", func() bool { return len(sb.Heroku.Promotions()) == 1 })
	if n := count(githubCalls(sb), "/compare/"); n != 1 {
		t.Errorf("GitHub compared %d times in status → promote → approve; want once: %v", n, githubCalls(sb))
	}
	seen := map[string]int{}
	for _, c := range herokuCalls(sb) {
		if strings.Contains(c, "/slugs/") || strings.Contains(c, "/oci-images/") {
			if seen[c]++; seen[c] > 1 {
				t.Errorf("%s read twice; a slug's commit never changes", c)
			}
		}
	}
}

// No remembered value makes Devy show or promote the wrong release.
func TestCachesNeverShowOrPromoteAStaleRelease(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, d *Desk, r *commands.Router, sb *sandbox.Sandbox, st Store)
	}{
		{"a new staging release shows once the status reuse lapses", func(t *testing.T, d *Desk, r *commands.Router, sb *sandbox.Sandbox, _ Store) {
			status(t, r)
			v := newStagingRelease(sb)
			d.pipe.Forget() // what statusTTL's lapse does
			if got := status(t, r); !strings.Contains(got, "staging v"+itoa(uint64(v))) {
				t.Fatalf("status after staging's v%d shows %q", v, got)
			}
			if n := count(githubCalls(sb), "/compare/"); n != 2 {
				t.Fatalf("GitHub compared %d times; want the old pair and the new one", n)
			}
		}},
		{"a staging release Heroku's webhook reports shows at once", func(t *testing.T, d *Desk, r *commands.Router, sb *sandbox.Sandbox, _ Store) {
			status(t, r)
			v := newStagingRelease(sb)
			d.Changed() // what the wiring calls on Heroku's release webhook
			if got := status(t, r); !strings.Contains(got, "staging v"+itoa(uint64(v))) {
				t.Fatalf("status right after the webhook of staging's v%d shows %q", v, got)
			}
		}},
		{"a promotion Devy made shows at once", func(t *testing.T, _ *Desk, r *commands.Router, sb *sandbox.Sandbox, st Store) {
			status(t, r)
			req := promote(t, r, st)
			if err := approve(t, r, req); err != nil {
				t.Fatalf("approve: %v", err)
			}
			waitfor.True(t, "the promotion ends", func() bool {
				cur, err := st.Request(req.ID)
				return err == nil && cur.Status == store.StatusSucceeded
			})
			// No Forget here: finishing a promotion drops the reuse.
			if got := status(t, r); !strings.Contains(got, "Staging and production run the same code.") {
				t.Fatalf("status right after Devy's promotion shows %q", got)
			}
		}},
		{"a promotion made outside Devy shows once the reuse lapses", func(t *testing.T, d *Desk, r *commands.Router, sb *sandbox.Sandbox, _ Store) {
			status(t, r)
			for _, app := range []string{sandbox.ProductionApp, sandbox.ProductionEU} {
				sb.Heroku.Release(app, sb.StagingSHA, "ops@acme.test", "Promote "+sb.StagingSHA[:7])
			}
			d.pipe.Forget()
			if got := status(t, r); !strings.Contains(got, "Staging and production run the same code.") {
				t.Fatalf("status after a promotion outside Devy shows %q", got)
			}
		}},
		{"staging moved on outside Devy is noticed at click time", func(t *testing.T, _ *Desk, r *commands.Router, sb *sandbox.Sandbox, st Store) {
			status(t, r)
			req := promote(t, r, st)
			newStagingRelease(sb)
			err := approve(t, r, req)
			if err == nil || !strings.Contains(err.Error(), "Staging moved on") {
				t.Fatalf("approve after staging moved on: %v; want it refused as stale", err)
			}
			if n := len(sb.Heroku.Promotions()); n != 0 {
				t.Fatalf("%d promotions sent for a stale request", n)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, r, sb, st := fullDesk(t)
			tc.run(t, d, r, sb, st)
		})
	}
}
