package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/waitfor"
)

func TestHelpOverSocket(t *testing.T) {
	h := start(t, nil)
	tests := []struct {
		command, text string
		want          []string
	}{
		{"/deploy", "help", []string{"/deploy status", "/deploy promote", "/deploy lock", "/deploy history"}},
		{"/deploy", "", []string{"/deploy status"}},
		{"/deploy", "frobnicate", []string{"I don't know `/deploy frobnicate`.", "/deploy status"}},
		{"/reviewapp", "help", []string{"/reviewapp <PR number>", "/reviewapp list"}},
		{"/incident", "", []string{"/incident open", "/incident postmortem"}},
		{"/incident", "what", []string{"I don't know `/incident what`."}},
	}
	for _, tc := range tests {
		t.Run(tc.command+" "+tc.text, func(t *testing.T) {
			before := len(h.slack.Messages())
			h.slash(alice, devyChan, tc.command, tc.text)
			m := h.wait("help", func(m fakeslack.Message) bool {
				return m.Via == "response_url" && m.Ephemeral && m.User == alice && strings.Contains(m.Text, tc.want[0])
			})
			for _, w := range tc.want {
				if !strings.Contains(m.Text, w) {
					t.Errorf("reply lacks %q:\n%s", w, m.Text)
				}
			}
			// Help is for the asker only: nothing posted to the channel.
			for _, m := range h.slack.Messages()[before:] {
				if !m.Ephemeral {
					t.Errorf("help posted publicly: %q", m.Text)
				}
			}
		})
	}
}

func TestMentionInThreadRepliesInThread(t *testing.T) {
	h := start(t, nil)
	parent := h.slack.AddMessage(devyChan, "", carol, "PR #7 is ready")
	ev, _ := json.Marshal(map[string]any{
		"type": "app_mention", "user": alice, "text": "<@" + fakeslack.BotUserID + "> deploy help",
		"ts": "1700000100.000200", "thread_ts": parent, "channel": devyChan, "event_ts": "1700000100.000200",
	})
	id := h.slack.SendEvent(ev, "Ev0MENTION1")
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	m := h.wait("help in the thread", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "/deploy status") })
	if m.ThreadTS != parent || m.User != alice || !m.Ephemeral {
		t.Fatalf("reply = %+v; want it shown to %s in thread %s", m, alice, parent)
	}
	// Slack redelivers events it thinks were lost: same event id, new envelope.
	before := h.slack.Count("chat.postEphemeral")
	id = h.slack.SendEvent(ev, "Ev0MENTION1")
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.slash(alice, devyChan, "/deploy", "help") // a later command proves the redelivery was handled
	h.wait("the later help", func(m fakeslack.Message) bool { return m.Via == "response_url" })
	if got := h.slack.Count("chat.postEphemeral"); got != before {
		t.Fatalf("redelivered mention answered again (%d → %d replies)", before, got)
	}
}

func TestSurvivesDisconnectsAndMalformedEnvelopes(t *testing.T) {
	h := start(t, nil)
	h.slack.Disconnect("refresh_requested")
	if err := h.slack.WaitConnections(h.ctx(), 2); err != nil {
		t.Fatalf("no reconnect after disconnect: %v", err)
	}
	h.slack.DropConnection()
	if err := h.slack.WaitConnections(h.ctx(), 3); err != nil {
		t.Fatalf("no reconnect after a dropped socket: %v", err)
	}
	h.slack.SendRaw([]byte(`{"type":"slash_commands","envelope_id":"bad-1","payload":"not an object"}`))
	h.slack.SendRaw([]byte(`{{{ not json`))
	h.slack.SendRaw([]byte(`{"type":"interactive","envelope_id":"bad-2","payload":{"type":"block_actions","actions":[{"action_id":"deploy.approve","block_id":"b","value":"'; drop table"}]}}`))
	h.slash(alice, devyChan, "/deploy", "help")
	h.reply(alice, "/deploy status")
	if _, err := h.slack.WaitAck(h.ctx(), "bad-1"); err != nil {
		t.Errorf("the malformed envelope was not acknowledged, so Slack would resend it: %v", err)
	}
}

func TestHealthz(t *testing.T) {
	port := freePort(t)
	h := start(t, map[string]string{"PORT": port})
	get := func() int {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Devy marks itself connected when it handles slack-go's connected
	// event, a moment after the fake sees the socket open.
	if err := h.slack.WaitFor(h.ctx(), func() bool { return get() == 200 }); err != nil {
		t.Fatalf("healthz never answered 200 while connected (last %d)", get())
	}
	h.stop()
	if _, err := http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil {
		t.Fatal("healthz still answers after shutdown")
	}
}

func TestHealthzDownWhileSlackIsAway(t *testing.T) {
	port := freePort(t)
	h := start(t, map[string]string{"PORT": port})
	// Slack stops answering: every reconnect fails.
	h.slack.FailNext("apps.connections.open", 500, nil, "down").Require(t)
	for i := 0; i < 50; i++ {
		h.slack.FailNext("apps.connections.open", 500, nil, "down")
	}
	h.slack.DropConnection()
	// 503 after a reconnect has failed, not merely in the moment between
	// the drop and the first attempt.
	waitfor.True(t, "healthz to answer 503 after a failed reconnect", func() bool {
		opens := 0
		for _, c := range h.slack.APICalls() {
			if c.Method == "apps.connections.open" {
				opens++
			}
		}
		if opens < 2 {
			return false
		}
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
}

func TestBadConfigurationStopsWithOneLine(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "SLACK_APP_TOKEN"},
		{map[string]string{"SLACK_APP_TOKEN": appToken}, "SLACK_BOT_TOKEN"},
		{map[string]string{"SLACK_APP_TOKEN": appToken, "SLACK_BOT_TOKEN": botToken, "DEVY_APPROVAL_TTL": "forever"}, "DEVY_APPROVAL_TTL"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := Run(ctx, nil, func(k string) string { return tc.env[k] }, strings.NewReader(""), &out, &out)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line starting with %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks a token: %v", err)
			}
		})
	}
}

// Tokens of the right shape that Slack refuses stop Devy at start, with a
// line naming the variable, not a retry loop or a first answer that fails.
func TestRefusedTokensStopDevyAtStart(t *testing.T) {
	fake := fakeslack.New(botToken, appToken)
	fake.FailOnUnmatched(t)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetBaseURL(srv.URL)
	tests := []struct {
		app, bot, want string
	}{
		{"xapp-1-refused", botToken, "SLACK_APP_TOKEN: Slack refused the app-level token (invalid_auth)"},
		{appToken, "xoxb-refused", "SLACK_BOT_TOKEN: Slack refused the bot token (invalid_auth)"},
	}
	for _, tc := range tests {
		t.Run(strings.SplitN(tc.want, ":", 2)[0], func(t *testing.T) {
			env := map[string]string{"SLACK_APP_TOKEN": tc.app, "SLACK_BOT_TOKEN": tc.bot, "SLACK_API_URL": srv.URL + "/api/",
				"DEVY_DB_PATH": filepath.Join(t.TempDir(), "devy.db")}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			logs := &syncBuffer{} // Devy's goroutines log at once (the digest loop, for one)
			start := time.Now()
			err := Run(ctx, nil, func(k string) string { return env[k] }, strings.NewReader(""), logs, logs)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("run = %v; want %q", err, tc.want)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("stopped after %s", took) // not after waiting on work that never ends
			}
			if strings.Contains(logs.String(), "did not finish before shutdown") {
				t.Errorf("the log blames unfinished work:\n%s", logs.String())
			}
		})
	}
}

func TestAppHomeListsTheCommands(t *testing.T) {
	h := start(t, nil)
	h.slack.AddUser(fakeslack.User{ID: alice, Name: "alice"})
	ev, _ := json.Marshal(map[string]any{"type": "app_home_opened", "user": alice, "channel": "D0ALICE001", "tab": "home", "event_ts": "1700000200.000100"})
	h.slack.SendEvent(ev, "")
	if err := h.slack.WaitFor(h.ctx(), func() bool { return len(h.slack.Views()) > 0 }); err != nil {
		t.Fatal(err)
	}
	view := string(h.slack.Views()[0])
	for _, want := range []string{`"type":"home"`, "/deploy promote", "/reviewapp", "/incident"} {
		if !strings.Contains(view, want) {
			t.Errorf("home view lacks %s: %s", want, view)
		}
	}
}
