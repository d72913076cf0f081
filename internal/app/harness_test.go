package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// The end-to-end tests run Devy's real Run() (through run, which takes the
// pacing a test may shorten) — configuration from the
// environment, store, adapters, Socket Mode bot — against the fake Slack and
// the sandbox's fake Heroku, GitHub and Semaphore, and assert what those
// services received.

const (
	botToken  = "xoxb-e2e-secret-bot-token"
	appToken  = "xapp-1-e2e-secret-app-token"
	devyChan  = "C0DEVY0001"
	otherChan = "C0OTHER001"
	alice     = "U0ALICE001"
	bob       = "U0BOB00001"
	carol     = "U0CAROL001"
	dave      = "U0DAVE0001"
)

// syncBuffer is a log sink the test can read while Devy writes to it.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t     testing.TB
	slack *fakeslack.Server
	sb    *sandbox.Sandbox
	env   map[string]string
	logs  *syncBuffer
	// outboundJudged says a test checked its own requests (checkOutbound)
	// and the harness need not.
	outboundJudged bool
	pace           pacing // Devy's intervals; zero: the product's

	cancel context.CancelFunc
	done   chan error
}

// start runs Devy with the sandbox's pipeline (promotions finish on the first
// poll) and env on top of the defaults.
func start(t testing.TB, env map[string]string) *harness {
	t.Helper()
	return startPaced(t, env, pacing{})
}

// startPaced is start with some of Devy's intervals shortened.
func startPaced(t testing.TB, env map[string]string, pace pacing) *harness {
	t.Helper()
	fake := fakeslack.New(botToken, appToken)
	fake.SetPingInterval(200 * time.Millisecond)
	srv := httptest.NewServer(fake)
	fake.SetBaseURL(srv.URL)
	fake.AddChannel(devyChan, "devy", fakeslack.BotUserID)
	fake.AddChannel(otherChan, "random", fakeslack.BotUserID)
	sb := sandbox.Start()
	fake.FailOnUnmatched(t) // before the cleanup that stops Devy, so it runs after it
	sb.FailOnUnmatched(t)
	sb.Heroku.SetPromotionDelay(0)
	h := &harness{t: t, slack: fake, sb: sb, logs: &syncBuffer{}, pace: pace, env: map[string]string{
		"SLACK_APP_TOKEN": appToken, "SLACK_BOT_TOKEN": botToken, "SLACK_API_URL": srv.URL + "/api/",
		"DEVY_DB_PATH": filepath.Join(t.TempDir(), "devy.db"), "LOG_LEVEL": "debug",
		// Set, so that /deploy status and promote leave announcing staging
		// releases to the webhook, as the tests of other things expect;
		// tests of the announcement without a webhook unset it.
		"HEROKU_WEBHOOK_SECRET": herokuSecret,
		// Off: on a Monday morning the weekly digest would post in #devy
		// among the messages tests count.
		"DEVY_DIGEST": "off",
	}}
	for k, v := range sb.Env() {
		h.env[k] = v
	}
	for k, v := range env {
		h.env[k] = v
	}
	t.Cleanup(func() {
		h.stop()
		if !h.outboundJudged {
			h.checkOutbound()
		}
		fake.Close()
		srv.Close()
		sb.Close()
		for _, secret := range []string{botToken, appToken, sandbox.HerokuToken, sandbox.GitHubToken, sandbox.SemaphoreToken} {
			if strings.Contains(h.logs.String(), secret) {
				t.Errorf("a token appears in Devy's log")
			}
		}
		if t.Failed() {
			t.Logf("Devy's log:\n%s", h.logs.String())
		}
	})
	h.run()
	// Devy reads the pipeline and the status (apps, releases, slugs) at
	// start; wait until it is done, so that tests that count Heroku calls
	// count only their own. (A restart, h.run, does not wait: a test that
	// restarts may hold those reads on purpose.)
	waitfor.True(t, "Devy to read the pipeline and the status at start", func() bool { return h.warmed() > 0 })
	return h
}

func (h *harness) run() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	n := h.slack.Connections()
	go func() {
		h.done <- run(ctx, nil, func(k string) string { return h.env[k] }, strings.NewReader(""), &bytes.Buffer{}, h.logs, h.pace)
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := h.slack.WaitConnections(wctx, n+1); err != nil {
		h.t.Fatalf("Devy did not connect: %v", err)
	}
}

// warmed counts Devy's start-up reads of the pipeline that ended, well or
// not.
func (h *harness) warmed() int {
	logs := h.logs.String()
	return strings.Count(logs, "pipeline and status read at start") + strings.Count(logs, "at start failed")
}

// stop ends Devy the way SIGTERM does and checks that it stops in time.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Errorf("Devy did not stop within 10 seconds of its context ending")
	}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// slash types a slash command and waits for its acknowledgement.
func (h *harness) slash(user, channel, command, text string) string {
	h.t.Helper()
	name := map[string]string{devyChan: "devy", otherChan: "random"}[channel]
	id := h.slack.SendSlashCommand(fakeslack.SlashCommand{Command: command, Text: text, UserID: user, ChannelID: channel, ChannelName: name})
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		h.t.Fatalf("%s %s was not acknowledged: %v", command, text, err)
	}
	return id
}

// wait returns the first message that matches.
func (h *harness) wait(what string, match func(fakeslack.Message) bool) fakeslack.Message {
	h.t.Helper()
	m, err := h.slack.WaitMessage(h.ctx(), match)
	if err != nil {
		h.t.Fatalf("waiting for %s: %v\nmessages: %s", what, err, h.dump())
	}
	return m
}

// reply waits for a message only user sees that contains text.
func (h *harness) reply(user, text string) fakeslack.Message {
	h.t.Helper()
	return h.wait(fmt.Sprintf("a reply to %s containing %q", user, text), func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == user && strings.Contains(m.Text, text)
	})
}

func (h *harness) dump() string {
	var b strings.Builder
	for _, m := range h.slack.Messages() {
		fmt.Fprintf(&b, "\n- %s ts=%s thread=%s eph=%v user=%s via=%s: %s", m.Channel, m.TS, m.ThreadTS, m.Ephemeral, m.User, m.Via, m.Text)
	}
	return b.String()
}

// blocksText is all the text of a message's blocks, for assertions about
// what people read.
func blocksText(m fakeslack.Message) string {
	var v any
	_ = json.Unmarshal(m.Blocks, &v)
	var b strings.Builder
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok {
				b.WriteString(t + "\n")
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(v)
	return m.Text + "\n" + b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
