package describe

import (
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands/deploy/pipeline"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/store"
)

var (
	since = time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC)
	now   = since.Add(10 * time.Minute)
)

// link draws a SHA the way a configured GitHub does, shortened.
func link(sha string) string {
	return "<https://github.test/c/" + sha + "|`" + sha[:min(7, len(sha))] + "`>"
}

func TestLock(t *testing.T) {
	tests := []struct {
		name string
		lock *store.Lock
		want string
	}{
		{"not locked", nil, "🔓 Production is not locked."},
		{"a running promotion", &store.Lock{RequestID: 7, Holder: "U1", Since: since},
			"🔒 Production is locked by the running promotion of request #7 (since Mar 5 14:30 UTC)."},
		{"a person, no reason, no end", &store.Lock{Holder: "U1", Since: since},
			"🔒 Production is locked by <@U1> since Mar 5 14:30 UTC."},
		{"a person with a reason and an end", &store.Lock{Holder: "U1", Since: since, Reason: "QA", Until: since.Add(2 * time.Hour)},
			"🔒 Production is locked by <@U1> since Mar 5 14:30 UTC (“QA”) until Mar 5 16:30 UTC."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LockLine(tt.lock); got != tt.want {
				t.Errorf("LockLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name string
		r    store.PromotionRequest
		want string
	}{
		{"pending", store.PromotionRequest{ID: 3, RequestedBy: "U1", ReleaseVersion: 42, Status: store.StatusPending, ExpiresAt: now.Add(12 * time.Minute)},
			"Request #3 by <@U1> (v42) waits for approval; it expires in 12 min."},
		{"pending for hours", store.PromotionRequest{ID: 3, RequestedBy: "U1", ReleaseVersion: 42, Status: store.StatusPending, ExpiresAt: since.Add(3 * time.Hour)},
			"Request #3 by <@U1> (v42) waits for approval; it expires at Mar 5 17:30 UTC."},
		{"promoting", store.PromotionRequest{ID: 3, RequestedBy: "U1", DecidedBy: "U2", ReleaseVersion: 42, Status: store.StatusPromoting},
			"Request #3 (v42) is being promoted now, approved by <@U2>."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Open(tt.r, now); got != tt.want {
				t.Errorf("Open = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRelease(t *testing.T) {
	app := heroku.App{Name: "shop-staging"}
	tests := []struct {
		name string
		rel  heroku.Release
		want string
	}{
		{"by someone", heroku.Release{Version: 42, Commit: "abcdef1234", UserEmail: "ann@example.com", CreatedAt: since},
			"*shop-staging*\nv42 · <https://github.test/c/abcdef1234|`abcdef1`> · by ann@example.com · 10 min ago"},
		{"by nobody known", heroku.Release{Version: 42, Commit: "abcdef1234", CreatedAt: now},
			"*shop-staging*\nv42 · <https://github.test/c/abcdef1234|`abcdef1`> · by unknown · just now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Release(pipeline.AppRelease{App: app, Release: tt.rel}, link, now); got != tt.want {
				t.Errorf("Release = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApprovers(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want string
	}{
		{"none", nil, ""},
		{"people and a group", []string{"U1", "S2", "W3"}, "<@U1>, <!subteam^S2>, <@W3>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Approvers(tt.ids); got != tt.want {
				t.Errorf("Approvers = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCI(t *testing.T) {
	tests := []struct {
		name string
		r    store.PromotionRequest
		want string
	}{
		{"unknown", store.PromotionRequest{}, "unknown"},
		{"linked", store.PromotionRequest{CIState: "passed", CIURL: "https://ci.test/wf/1"}, "<https://ci.test/wf/1|passed>"},
		{"skipped", store.PromotionRequest{CIState: "failed", SkipCIReason: "flaky test"}, "failed — check skipped by an admin: “flaky test”"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CI(tt.r); got != tt.want {
				t.Errorf("CI = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestState(t *testing.T) {
	targets := []store.Target{
		{AppName: "shop-eu", Status: "succeeded"},
		{AppName: "shop-us", Status: "failed", Error: "slug <missing>"},
		{AppName: "shop-ap"},
		{AppName: "shop-sa", Status: "weird"},
	}
	base := store.PromotionRequest{RequestedBy: "U1", DecidedBy: "U2", ExpiresAt: since, DecidedAt: since, FinishedAt: since, Targets: targets}
	with := func(status, note string) store.PromotionRequest {
		r := base
		r.Status, r.Note = status, note
		return r
	}
	const states = "✅ *shop-eu*: succeeded\n❌ *shop-us*: failed — Heroku says: slug &lt;missing&gt;\n⏳ *shop-ap*: pending\n• *shop-sa*: weird"
	tests := []struct {
		name string
		r    store.PromotionRequest
		want string
	}{
		{"pending", with(store.StatusPending, ""), "⏳ Waiting for someone other than <@U1> to approve; this request expires at Mar 5 14:30 UTC."},
		{"promoting", with(store.StatusPromoting, ""), "✅ Approved by <@U2> at Mar 5 14:30 UTC — promoting…\n" + states},
		{"succeeded", with(store.StatusSucceeded, ""), "🚀 Promoted to production, approved by <@U2>.\n" + states},
		{"failed", with(store.StatusFailed, ""), "❌ The promotion failed (approved by <@U2>).\n" + states},
		{"failed with a note", with(store.StatusFailed, "Heroku timed out."), "❌ The promotion failed (approved by <@U2>).\n" + states + "\nHeroku timed out."},
		{"unknown", with(store.StatusUnknown, "Check Heroku."), "⚠️ I lost track of this promotion (approved by <@U2>). Check Heroku."},
		{"rejected", with(store.StatusRejected, ""), "✋ Rejected by <@U2> at Mar 5 14:30 UTC."},
		{"withdrawn", with(store.StatusCancelled, ""), "Withdrawn by <@U1> at Mar 5 14:30 UTC."},
		{"withdrawn by Devy", with(store.StatusCancelled, "the request message could not be posted"), "Withdrawn: the request message could not be posted."},
		{"expired", with(store.StatusExpired, ""), "⌛ Expired at Mar 5 14:30 UTC without a decision; run `/deploy promote` again."},
		{"expired with a note", with(store.StatusExpired, "Staging changed."), "⌛ Staging changed."},
		{"a status it does not know", with("odd", ""), "odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := State(tt.r); got != tt.want {
				t.Errorf("State =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestEnded(t *testing.T) {
	base := store.PromotionRequest{RequestedBy: "U1", DecidedBy: "U2", StagingAppName: "shop<staging>", ReleaseVersion: 42,
		BaseSHA: "1111111aaaa", SHA: "2222222bbbb", FinishedAt: since}
	with := func(f func(r *store.PromotionRequest)) store.PromotionRequest {
		r := base
		f(&r)
		return r
	}
	const rng = "<https://github.test/c/1111111aaaa|`1111111`>…<https://github.test/c/2222222bbbb|`2222222`>"
	tests := []struct {
		name string
		r    store.PromotionRequest
		want string
	}{
		{"succeeded, compared on GitHub", with(func(r *store.PromotionRequest) {
			r.Status, r.CompareURL = store.StatusSucceeded, "https://github.test/compare/1...2"
		}), "✅ Mar 5 14:30 UTC — shop&lt;staging&gt; v42 <https://github.test/compare/1...2|1111111…2222222>, requested by <@U1>, approved by <@U2>: succeeded"},
		{"failed", with(func(r *store.PromotionRequest) { r.Status = store.StatusFailed }),
			"❌ Mar 5 14:30 UTC — shop&lt;staging&gt; v42 " + rng + ", requested by <@U1>, approved by <@U2>: failed"},
		{"rejected", with(func(r *store.PromotionRequest) { r.Status = store.StatusRejected }),
			"✋ Mar 5 14:30 UTC — shop&lt;staging&gt; v42 " + rng + ", requested by <@U1>, rejected by <@U2>: rejected"},
		{"withdrawn with a note", with(func(r *store.PromotionRequest) { r.Status, r.Note = store.StatusCancelled, "posting <failed>" }),
			"↩️ Mar 5 14:30 UTC — shop&lt;staging&gt; v42 " + rng + ", requested by <@U1>: withdrawn (posting &lt;failed&gt;)"},
		{"expired before its end was recorded", with(func(r *store.PromotionRequest) {
			r.Status, r.FinishedAt, r.ExpiresAt = store.StatusExpired, time.Time{}, since.Add(time.Hour)
		}), "⌛ Mar 5 15:30 UTC — shop&lt;staging&gt; v42 " + rng + ", requested by <@U1>: expired without a decision"},
		{"expired with a note", with(func(r *store.PromotionRequest) { r.Status, r.Note = store.StatusExpired, "Staging changed." }),
			"⌛ Mar 5 14:30 UTC — shop&lt;staging&gt; v42 " + rng + ", requested by <@U1>: expired (Staging changed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ended(tt.r, link); got != tt.want {
				t.Errorf("Ended =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	base := store.PromotionRequest{ID: 5, RequestedBy: "U1", DecidedBy: "U2", StagingAppName: "shop-staging", ReleaseVersion: 42,
		Targets: []store.Target{{AppName: "shop-eu"}, {AppName: "shop-us"}}}
	with := func(status, note string) store.PromotionRequest {
		r := base
		r.Status, r.Note = status, note
		return r
	}
	const who = "<@U1> your promotion #5 (shop-staging v42) "
	tests := []struct {
		name string
		r    store.PromotionRequest
		want string // "" for no report
	}{
		{"succeeded", with(store.StatusSucceeded, ""), who + "🚀 is live on shop-eu, shop-us."},
		{"failed", with(store.StatusFailed, ""), who + "❌ failed; the message above shows Heroku's error for each app."},
		{"unknown", with(store.StatusUnknown, ""), who + "⚠️ ended in a state I can't confirm; see the message above."},
		{"rejected", with(store.StatusRejected, ""), who + "✋ was rejected by <@U2>; nothing was promoted."},
		{"expired", with(store.StatusExpired, ""), who + "⌛ expired after 30m0s without a decision; run `/deploy promote` for a fresh one."},
		{"expired with a note", with(store.StatusExpired, "Staging changed."), who + "⌛ expired: Staging changed."},
		{"withdrawn", with(store.StatusCancelled, ""), ""},
		{"still pending", with(store.StatusPending, ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Report(tt.r, 30*time.Minute)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("Report = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}
