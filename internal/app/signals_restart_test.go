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

	// Another start finds nothing waiting: a later issue's message is the
	// only new one (posts in a channel go out in the order they came).
	h.stop()
	h.run()
	d := sentryOf(t, "issue", func(m map[string]any) {
		issue := m["data"].(map[string]any)["issue"].(map[string]any)
		issue["id"], issue["title"] = "4821937999", "ValueError: later"
	})
	if code := h.sendSentry(base, d); code != http.StatusOK {
		t.Fatalf("the later issue answered %d", code)
	}
	h.posted(devyChan, "ValueError: later")
	if n := count(); n != 1 {
		t.Fatalf("%d messages of the issue, want exactly 1:%s", n, h.dump())
	}
}
