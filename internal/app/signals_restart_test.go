package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// A signal whose post was still waiting when Devy stopped is posted by the
// next start, exactly once: the queue is in memory, the signal in the store.
func TestSignalWaitingAtAStopIsPostedAfterTheRestart(t *testing.T) {
	h, base := startSignals(t, nil)
	posts := h.slack.Count("chat.postMessage")
	// Slack refuses every attempt of this process, so the post still waits
	// when it stops.
	for range 3 {
		h.slack.FailNext("chat.postMessage", 500, nil, `{"ok":false,"error":"internal_error"}`).Require(t)
	}
	if code := h.sendSentry(base, sentryOf(t, "issue", nil)); code != http.StatusOK {
		t.Fatalf("issue/created answered %d", code)
	}
	waitfor.True(t, "the post to be tried three times", func() bool { return h.slack.Count("chat.postMessage") >= posts+3 })
	h.stop()
	isIssue := func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(blocksText(m), "KeyError: 'card_token'")
	}
	count := func() int {
		n := 0
		for _, m := range h.slack.Messages() {
			if isIssue(m) {
				n++
			}
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d messages of the issue before the restart, want 0 (Slack refused them)", n)
	}

	h.run()
	h.wait("the issue's message after the restart", isIssue)
	// A later issue's message goes out after the first one is recorded
	// (posts in a channel go out one at a time, in the order they came), so
	// the next stop cannot catch it between Slack and the store.
	h.sendIssue(t, base, "4821937998", "ValueError: later")

	// Another start finds nothing waiting.
	h.stop()
	h.run()
	h.sendIssue(t, base, "4821937999", "ValueError: after the second restart")
	if n := count(); n != 1 {
		t.Fatalf("%d messages of the issue, want exactly 1:%s", n, h.dump())
	}
}

// sendIssue delivers a new Sentry issue and waits for its message in #devy.
func (h *harness) sendIssue(t *testing.T, base, id, title string) {
	h.t.Helper()
	d := sentryOf(t, "issue", func(m map[string]any) {
		issue := m["data"].(map[string]any)["issue"].(map[string]any)
		issue["id"], issue["title"] = id, title
	})
	if code := h.sendSentry(base, d); code != http.StatusOK {
		h.t.Fatalf("issue %s answered %d", id, code)
	}
	h.posted(devyChan, title)
}
