package wire

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/conformance/check"
)

// binary is the Devy binary TestMain builds once for the package's tests;
// "" when the build was not possible (the tests then fail with buildErr).
// Package state, because TestMain has no other way to hand it over.
var binary, buildErr = "", error(nil)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "devy-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := check.FindCorpus(); err == nil {
		// Built without -race even under go test -race: the binary is
		// judged from the outside, and a race build would double the
		// suite's time on a 2-core CI machine.
		root, _ := os.Getwd()
		root = filepath.Join(root, "..", "..")
		out := filepath.Join(dir, "devy")
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, msg)
		} else {
			binary = out
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is the process's log, written by its pipe and read by tests.
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

// devy is one running Devy process with its four services.
type devy struct {
	t       *testing.T
	journal *journal
	slack   *slackServer
	heroku  *herokuServer
	port    string
	logs    *syncBuffer
	corpus  string
	stop    func() // ends the process (SIGINT) and waits for it; idempotent
}

// finish stops Devy and checks every request it made. Tests call it last,
// from the test's body: known defects show as skipped subtests, which
// t.Run cannot add during cleanup.
func (d *devy) finish() {
	d.t.Helper()
	d.stop()
	d.checkOutbound(d.corpus)
}

// Webhook secrets.
const (
	githubSecret    = "github-webhook-secret"
	herokuSecret    = "heroku-webhook-secret"
	semaphoreSecret = "semaphore-webhook-secret"
)

// start runs the binary against fresh servers, configured only through
// product.md's environment variables, and waits for its socket and its
// HTTP listener.
func start(t *testing.T) *devy {
	t.Helper()
	corpus := check.Corpus(t)
	if binary == "" {
		t.Fatalf("building Devy: %v", buildErr)
	}
	d := &devy{t: t, journal: &journal{}, slack: newSlack(t), heroku: &herokuServer{}, logs: &syncBuffer{}}
	slackSrv := newServer(t, d.journal, "slack", d.slack)
	d.slack.url = slackSrv.URL
	herokuSrv := newServer(t, d.journal, "heroku", d.heroku)
	githubSrv := newServer(t, d.journal, "github", githubServer{})
	semSrv := newServer(t, d.journal, "semaphore", semaphoreServer{})
	d.port = freePort(t)
	env := map[string]string{
		"SLACK_APP_TOKEN": appToken, "SLACK_BOT_TOKEN": botToken, "SLACK_API_URL": slackSrv.URL + "/api/",
		"HEROKU_API_TOKEN": "heroku-conformance-token", "HEROKU_API_URL": herokuSrv.URL, "HEROKU_PIPELINE": "shop",
		"GITHUB_TOKEN": "github-conformance-token", "GITHUB_REPOSITORY": repo, "GITHUB_API_URL": githubSrv.URL + "/",
		"SEMAPHORE_API_TOKEN": "semaphore-conformance-token", "SEMAPHORE_URL": semSrv.URL, "SEMAPHORE_PROJECT_ID": projectID,
		"GITHUB_WEBHOOK_SECRET": githubSecret, "HEROKU_WEBHOOK_SECRET": herokuSecret, "SEMAPHORE_WEBHOOK_SECRET": semaphoreSecret,
		"PORT": d.port, "DEVY_DB_PATH": filepath.Join(t.TempDir(), "devy.db"), "LOG_LEVEL": "debug",
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Devy: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	d.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				t.Errorf("Devy did not stop within 15 seconds of SIGINT")
			}
		})
	}
	d.corpus = corpus
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("Devy's log:\n%s", d.logs.String())
		}
	})
	if !d.slack.waitFor("a socket", 15*time.Second, func() bool { return len(d.slack.conns) > 0 }) {
		t.Fatalf("Devy did not open a Socket Mode connection")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + d.port + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Devy's /healthz did not answer 200: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
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

// newEnvelopeID is a fresh envelope id shaped like Slack's (a uuid).
func newEnvelopeID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sendEnvelope sends a frame and waits for its acknowledgement.
func (d *devy) sendEnvelope(what string, frame map[string]any) json.RawMessage {
	d.t.Helper()
	id, _ := frame["envelope_id"].(string)
	raw, err := json.Marshal(frame)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.slack.send(raw); err != nil {
		d.t.Fatalf("%s: %v", what, err)
	}
	var ack json.RawMessage
	if !d.slack.waitFor("an ack", 5*time.Second, func() bool {
		var ok bool
		ack, ok = d.slack.acks[id]
		return ok
	}) {
		d.t.Errorf("%s: envelope %s was not acknowledged within 5 seconds", what, id)
	}
	return ack
}

// slash types a slash command in a channel as user.
func (d *devy) slash(user, channel, command, text string) {
	d.t.Helper()
	id := newEnvelopeID()
	d.sendEnvelope(command+" "+text, map[string]any{"type": "slash_commands", "envelope_id": id, "accepts_response_payload": true,
		"payload": map[string]any{"token": "verification-token", "team_id": teamID, "team_domain": "conformance", "channel_id": channel,
			"channel_name": d.slack.channels[channel], "user_id": user, "user_name": strings.ToLower(user), "command": command, "text": text,
			"api_app_id": "A0DEVY0001", "is_enterprise_install": "false",
			"response_url": d.slack.url + "/respond/" + channel + "/" + user, "trigger_id": "13345224609.738474920." + id[:8]}})
}

// click presses a button of a message Devy posted, as user.
func (d *devy) click(user string, p post, actionID string) {
	d.t.Helper()
	var blocks []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	_ = json.Unmarshal([]byte(p.Blocks), &blocks)
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID != actionID {
				continue
			}
			id := newEnvelopeID()
			d.sendEnvelope("click "+actionID, map[string]any{"type": "interactive", "envelope_id": id, "accepts_response_payload": false,
				"payload": map[string]any{"type": "block_actions", "team": map[string]any{"id": teamID, "domain": "conformance"},
					"user":       map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": teamID},
					"api_app_id": "A0DEVY0001", "token": "verification-token", "trigger_id": "12321423423.333649436676." + id[:8],
					"container":    map[string]any{"type": "message", "message_ts": p.TS, "channel_id": p.Channel, "is_ephemeral": false},
					"channel":      map[string]any{"id": p.Channel, "name": d.slack.channels[p.Channel]},
					"message":      map[string]any{"type": "message", "user": botUserID, "ts": p.TS, "text": p.Text},
					"response_url": d.slack.url + "/respond/" + p.Channel + "/" + user,
					"actions": []any{map[string]any{"action_id": e.ActionID, "block_id": b.BlockID, "type": "button", "value": e.Value,
						"action_ts": "1700000000.000001", "text": map[string]any{"type": "plain_text", "text": e.Text.Text}}}}})
			return
		}
	}
	d.t.Fatalf("no button %s in the message: %s", actionID, p.Blocks)
}

// waitPost waits for a post that matches and returns it.
func (d *devy) waitPost(what string, match func(post) bool) post {
	d.t.Helper()
	var found post
	if !d.slack.waitFor(what, 10*time.Second, func() bool {
		for _, p := range d.slack.posts {
			if match(p) {
				found = p
				return true
			}
		}
		return false
	}) {
		var b strings.Builder
		for _, p := range d.slack.snapshot() {
			fmt.Fprintf(&b, "\n- %s %s ts=%s thread=%s user=%s: %s", p.Via, p.Channel, p.TS, p.ThreadTS, p.User, p.Text)
		}
		d.t.Fatalf("waiting for %s; posts so far:%s", what, b.String())
	}
	return found
}

// contains matches a post in channel whose text or blocks hold all of texts.
func contains(channel string, texts ...string) func(post) bool {
	return func(p post) bool {
		if channel != "" && p.Channel != channel {
			return false
		}
		for _, t := range texts {
			if !strings.Contains(p.all(), t) {
				return false
			}
		}
		return true
	}
}

// alive checks that Devy still answers /deploy status.
func (d *devy) alive(what string) {
	d.t.Helper()
	n := len(d.slack.snapshot())
	d.slash(alice, chanDevy, "/deploy", "status")
	d.slack.waitFor("status", 10*time.Second, func() bool { return len(d.slack.posts) > n })
	for _, p := range d.slack.snapshot()[n:] {
		if strings.Contains(p.all(), "shop-staging") {
			return
		}
	}
	d.waitPost("/deploy status after "+what, contains("", "shop-staging"))
}
