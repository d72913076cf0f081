package deploy

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store"
)

// holdReleases makes Heroku answer reads of releases only once Semaphore was
// asked and, if also is not "", a Heroku request whose path contains also
// arrived: a read that starts only after the releases' answer can then
// never come first. The returned check ends the hold and fails t if a read
// of releases had to be let go without them (after waitfor.Deadline, so
// that a failing test ends).
func holdReleases(t *testing.T, sb *sandbox.Sandbox, also string) (check func()) {
	t.Helper()
	ci0, heroku0 := len(sb.Semaphore.Calls()), len(sb.Heroku.Calls())
	asked := func() bool {
		return len(sb.Semaphore.Calls()) > ci0 && (also == "" || count(herokuCalls(sb)[heroku0:], also) > 0)
	}
	var unasked atomic.Bool
	sb.Heroku.SetRequestHook(func(r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/releases") {
			return
		}
		for end := time.Now().Add(waitfor.Deadline); !asked(); time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				unasked.Store(true)
				return
			}
		}
	})
	t.Cleanup(func() { sb.Heroku.SetRequestHook(nil) })
	return func() {
		t.Helper()
		sb.Heroku.SetRequestHook(nil)
		if unasked.Load() {
			want := "Semaphore was"
			if also != "" {
				want = "Semaphore and " + also + " were"
			}
			t.Fatalf("Heroku answered staging's and production's releases before %s asked; those reads need not wait for the releases", want)
		}
	}
}

// On a pipeline Devy has read before, CI (and for promote, the config vars)
// is asked together with the releases, not after them.
func TestWarmReadsStartCIWithTheReleases(t *testing.T) {
	tests := []struct {
		name string
		also string // another read that must start with the releases
		run  func(t *testing.T, r *commands.Router, st Store)
	}{
		{"status", "", func(t *testing.T, r *commands.Router, _ Store) {
			if got := status(t, r); !strings.Contains(got, "✅ passed") {
				t.Fatalf("status shows %q; want staging's CI passed", got)
			}
		}},
		{"promote", "/config-vars", func(t *testing.T, r *commands.Router, st Store) {
			if req := promote(t, r, st); req.CIState != "passed" {
				t.Fatalf("request's CI is %q; want passed", req.CIState)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, r, sb, st := fullDesk(t)
			status(t, r)    // Devy has seen the pipeline
			d.pipe.Forget() // what statusTTL's lapse does
			ci0 := len(sb.Semaphore.Calls())
			check := holdReleases(t, sb, tc.also)
			tc.run(t, r, st)
			check()
			if n := len(sb.Semaphore.Calls()) - ci0; n != 1 {
				t.Fatalf("Semaphore asked %d times; on an unchanged staging the early answer is the one used", n)
			}
		})
	}
}

// When staging moved on since Devy last looked, the CI read early for the
// old commit is dropped: status shows, and promote checks, the new commit's.
func TestEarlyCIOfACommitStagingLeftIsNeverUsed(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // CI results of the commit staging ran, and runs now
	}{
		{"old commit passed, new one failed", "passed", "failed"},
		{"old commit failed, new one passed", "failed", "passed"},
	}
	icon := map[string]string{"passed": "✅ passed", "failed": "❌ failed"}
	// moved has Devy see staging at its seeded commit with CI old, then
	// deploys a new commit to staging with CI new, outside Devy.
	moved := func(t *testing.T, old, new string) (*commands.Router, *sandbox.Sandbox, Store, string) {
		d, r, sb, st := fullDesk(t)
		if old == "failed" {
			sb.FailCI("master", sb.StagingSHA)
		}
		if got := status(t, r); !strings.Contains(got, icon[old]) {
			t.Fatalf("status before the move shows %q; want CI %s", got, old)
		}
		sha := sb.GitHub.Commit("Faster checkout", "erin", "app/checkout.rb")
		sb.Semaphore.AddPipeline("master", sha, "done", new)
		sb.Heroku.Release(sandbox.StagingApp, sha, "erin@acme.test", "Deploy "+sha[:7])
		d.pipe.Forget()
		return r, sb, st, sha
	}
	for _, tc := range tests {
		t.Run("status: "+tc.name, func(t *testing.T) {
			r, sb, _, sha := moved(t, tc.old, tc.new)
			ci0 := len(sb.Semaphore.Calls())
			check := holdReleases(t, sb, "") // the old commit's CI is surely asked
			got := status(t, r)
			check()
			var line string
			for l := range strings.SplitSeq(got, "\n") {
				if strings.Contains(l, "CI for staging's") {
					line = l
				}
			}
			if !strings.Contains(line, sha[:7]) || !strings.Contains(line, icon[tc.new]) || strings.Contains(line, icon[tc.old]) {
				t.Fatalf("status after staging moved to %s shows CI %q; want its own, %s", sha[:7], line, tc.new)
			}
			if n := len(sb.Semaphore.Calls()) - ci0; n != 2 {
				t.Fatalf("Semaphore asked %d times; want the early read for the old commit and one for the new", n)
			}
		})
		t.Run("promote: "+tc.name, func(t *testing.T) {
			r, sb, st, sha := moved(t, tc.old, tc.new)
			check := holdReleases(t, sb, "")
			_, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "promote", UserID: "U1", ChannelID: "C1", ChannelName: "devy", Source: commands.Slash})
			check()
			reqs, lerr := st.Requests(store.StatusPending)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.new == "failed" {
				if err == nil || !strings.Contains(err.Error(), "CI has not passed for staging's "+sha[:7]) {
					t.Fatalf("promote of %s whose CI failed: %v; want it refused", sha[:7], err)
				}
				if len(reqs) != 0 {
					t.Fatalf("%d requests opened for a commit whose CI failed", len(reqs))
				}
				return
			}
			if err != nil || len(reqs) != 1 {
				t.Fatalf("promote of %s whose CI passed: %v, %d requests; want one", sha[:7], err, len(reqs))
			}
			req := reqs[0]
			if req.SHA != sha || req.CIState != "passed" || !strings.Contains(describe.CI(req), "passed") {
				t.Fatalf("request for %s with CI %q (%s); want staging's new commit %s, CI passed", format.Short(req.SHA), req.CIState, describe.CI(req), sha[:7])
			}
		})
	}
}
