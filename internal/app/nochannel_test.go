package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// Events that name no channel and carry no response_url never reach
// chat.postEphemeral without a channel, which Slack refuses: a click in a
// view (a modal, or the App Home) is answered in a direct message to the
// clicker; an app_mention without channel or text has nobody to tell, so the
// answer is dropped with a log line.
func TestAnswersWithNowhereToGoAreDropped(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	click, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": fakeslack.TeamID, "domain": fakeslack.TeamDomain},
		"user":       map[string]any{"id": alice, "username": "alice", "team_id": fakeslack.TeamID},
		"api_app_id": fakeslack.AppID, "token": fakeslack.VerificationToken, "trigger_id": h.slack.TriggerID(),
		"container": map[string]any{"type": "view", "view_id": "V0VIEW0001"},
		"view":      map[string]any{"id": "V0VIEW0001", "type": "modal", "callback_id": "someone.else", "hash": "1700000000.abcdef"},
		"actions": []map[string]any{{
			"type": "button", "action_id": "not.devys", "block_id": "b1", "value": "x", "action_ts": "1700000000.000100",
			"text": map[string]any{"type": "plain_text", "text": "Go"},
		}},
	})
	if _, err := h.slack.WaitAck(h.ctx(), h.slack.SendInteractive(click)); err != nil {
		t.Fatalf("the click was not acknowledged: %v", err)
	}
	mention, _ := json.Marshal(map[string]any{"type": "app_mention", "user": alice, "ts": "1700000100.000200", "event_ts": "1700000100.000200"})
	if _, err := h.slack.WaitAck(h.ctx(), h.slack.SendEvent(mention, "Ev0NOWHERE1")); err != nil {
		t.Fatalf("the mention was not acknowledged: %v", err)
	}
	h.waitLogCount("reply dropped: the event names no channel", 1)
	waitfor.True(t, "the click's answer in a direct message to alice", func() bool {
		for _, c := range h.slack.APICalls() {
			if c.Method == "chat.postMessage" && c.Values.Get("channel") == alice && strings.Contains(c.Values.Get("text"), "no longer something I know") {
				return true
			}
		}
		return false
	})
	for _, c := range h.slack.APICalls() {
		if c.Method == "chat.postEphemeral" && c.Values.Get("channel") == "" {
			t.Errorf("chat.postEphemeral without a channel: %s", c.Values)
		}
	}
}
