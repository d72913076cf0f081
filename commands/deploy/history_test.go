package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/store"
)

// /deploy history lists every request that ended, however it ended, with
// who decided; "promoted" narrows it to the promotions.
func TestHistoryListsEveryOutcome(t *testing.T) {
	st := commandstest.Store(t)
	d := New(Deps{Config: Config{Pipeline: "shop", Channel: "devy"}, Store: st, Poster: &commandstest.Recorder{},
		Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop()})
	r := commands.NewRouter()
	d.Register(r)
	history := func(cmd string) string {
		t.Helper()
		reply, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: cmd, UserID: "U9"})
		if err != nil {
			t.Fatalf("/deploy %s: %v", cmd, err)
		}
		text := reply.Text
		for _, b := range reply.Blocks {
			if s, ok := b.(commands.Section); ok {
				text += "\n" + s.Text
			}
		}
		return text
	}
	if got := history("history"); !strings.Contains(got, "No promotion requests yet") {
		t.Fatalf("empty history = %q", got)
	}
	newRequest := func(by string) store.PromotionRequest {
		t.Helper()
		req, err := st.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: by, ExpiresAt: st.Now().Add(time.Hour),
			StagingAppName: "shop-staging", ReleaseVersion: 3, SHA: "e407727aaaa", BaseSHA: "1f70112bbbb"})
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	for _, c := range []struct{ status, by, note string }{
		{store.StatusRejected, "U2", ""},
		{store.StatusCancelled, "U1", ""},
		{store.StatusExpired, "devy", ""},
	} {
		if _, err := st.CloseRequest(newRequest("U1").ID, c.status, c.by, c.note); err != nil {
			t.Fatal(err)
		}
	}
	if got := history("history promoted"); strings.Contains(got, "No promotion") || !strings.Contains(got, "None of the 3 recent promotion requests was promoted") {
		t.Fatalf("history promoted with no promotion = %q", got)
	}
	failed := newRequest("U1")
	if _, err := st.Approve(failed.ID, "U3"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishPromotion(failed.ID, store.StatusFailed, nil, "boom"); err != nil {
		t.Fatal(err)
	}
	got := history("history")
	for _, want := range []string{
		"Recent promotions and requests",
		"requested by <@U1>, approved by <@U3>: failed",
		"requested by <@U1>, rejected by <@U2>: rejected",
		"requested by <@U1>: withdrawn",
		"requested by <@U1>: expired without a decision",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("history lacks %q:\n%s", want, got)
		}
	}
	if i, j := strings.Index(got, ": failed"), strings.Index(got, ": rejected"); i > j {
		t.Errorf("history is not newest first:\n%s", got)
	}
	got = history("history promoted")
	if !strings.Contains(got, "Recent promotions") || !strings.Contains(got, ": failed") || strings.Contains(got, "rejected") {
		t.Errorf("history promoted:\n%s", got)
	}
	if _, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "history everything", UserID: "U9"}); err == nil || !strings.Contains(err.Error(), "history promoted") {
		t.Errorf("history with a stray argument: %v", err)
	}
}
