package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// notes is a Notifier that records what it was told.
type notes struct {
	mu     sync.Mutex // guards events
	events []any
}

func newNotes() *notes { return &notes{} }

func (n *notes) add(e any) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, e)
	return nil
}

func (n *notes) PullRequest(_ context.Context, e commands.PREvent) error  { return n.add(e) }
func (n *notes) Release(_ context.Context, e commands.ReleaseEvent) error { return n.add(e) }
func (n *notes) Build(_ context.Context, e commands.BuildEvent) error     { return n.add(e) }
func (n *notes) Pipeline(_ context.Context, e commands.PipelineEvent) error {
	return n.add(e)
}

// memory is a Deliveries in memory, as the store keeps them.
type memory struct {
	mu   sync.Mutex // guards keys
	keys map[string]bool
}

func newMemory() *memory { return &memory{keys: map[string]bool{}} }

func (m *memory) ClaimWebhookDelivery(key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys[key] {
		return false, nil
	}
	m.keys[key] = true
	return true, nil
}

func (m *memory) ForgetWebhookDelivery(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
	return nil
}

func (n *notes) all() []any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]any(nil), n.events...)
}

func sign(service, secret string, body []byte) (string, string) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	sum := m.Sum(nil)
	switch service {
	case "github":
		return "X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sum)
	case "heroku":
		return "Heroku-Webhook-Hmac-SHA256", base64.StdEncoding.EncodeToString(sum)
	}
	return "X-Semaphore-Signature-256", hex.EncodeToString(sum)
}

func TestEndpoints(t *testing.T) {
	secrets := Secrets{GitHub: "gh-secret", Heroku: "hk-secret", Semaphore: "sem-secret"}
	secretOf := map[string]string{"github": secrets.GitHub, "heroku": secrets.Heroku, "semaphore": secrets.Semaphore}
	type delivery struct {
		service string
		body    []byte
		header  map[string]string
		sign    bool
	}
	pr := payload(t, "github-pull_request-opened.json")
	failed := payload(t, "semaphore-branch-failed.json")
	// The same pipeline passed, and another pipeline failed.
	passed := bytes.Replace(failed, []byte(`"result": "failed"`), []byte(`"result": "passed"`), 1)
	another := bytes.ReplaceAll(failed, []byte("fa02c7bd-a6b5-4c3d-9e2f-1a0b9c8d7e6f"), []byte("0b1c2d3e-a6b5-4c3d-9e2f-1a0b9c8d7e6f"))
	noPipelineID := []byte(`{"revision":{"reference_type":"branch","reference":"refs/heads/master"},"pipeline":{"state":"done","result":"passed"}}`)
	semID := func(id string) map[string]string { return map[string]string{"X-Semaphore-Webhook-Id": id} }
	ghHeaders := func(id string) map[string]string {
		return map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": id, "Content-Type": "application/json"}
	}
	tests := []struct {
		name       string
		deliveries []delivery
		want       []int // status per delivery
		notified   int
	}{
		{"github accepted", []delivery{{"github", pr, ghHeaders("d-1"), true}}, []int{200}, 1},
		{"github redelivered", []delivery{{"github", pr, ghHeaders("d-1"), true}, {"github", pr, ghHeaders("d-1"), true}}, []int{200, 200}, 1},
		// The delivery id is not signed: the same body under new ids is a replay.
		{"github replayed under new delivery ids", []delivery{{"github", pr, ghHeaders("d-1"), true}, {"github", pr, ghHeaders("d-2"), true}, {"github", pr, ghHeaders("d-3"), true}}, []int{200, 200, 200}, 1},
		{"github two events", []delivery{{"github", pr, ghHeaders("d-1"), true}, {"github", payload(t, "github-pull_request-synchronize.json"), ghHeaders("d-2"), true}}, []int{200, 200}, 2},
		{"github unsigned", []delivery{{"github", pr, ghHeaders("d-1"), false}}, []int{401}, 0},
		{"github signed with another secret", []delivery{{"github", pr, map[string]string{"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=" + strings.Repeat("ab", 32)}, false}}, []int{401}, 0},
		{"github ping", []delivery{{"github", []byte(`{"zen":"Speak like a human."}`), map[string]string{"X-GitHub-Event": "ping"}, true}}, []int{204}, 0},
		{"github unknown event", []delivery{{"github", []byte(`{}`), map[string]string{"X-GitHub-Event": "star"}, true}}, []int{204}, 0},
		{"github malformed", []delivery{{"github", []byte(`{"action":`), ghHeaders("d-1"), true}}, []int{400}, 0},
		{"heroku release", []delivery{{"heroku", payload(t, "heroku-release-create.json"), nil, true}}, []int{200}, 1},
		{"heroku build", []delivery{{"heroku", payload(t, "heroku-build-update-failed.json"), nil, true}}, []int{200}, 1},
		{"heroku redelivered", []delivery{{"heroku", payload(t, "heroku-release-create.json"), nil, true}, {"heroku", payload(t, "heroku-release-create.json"), nil, true}}, []int{200, 200}, 1},
		{"heroku unknown resource", []delivery{{"heroku", payload(t, "heroku-addon-attachment-create.json"), nil, true}}, []int{204}, 0},
		{"heroku unsigned", []delivery{{"heroku", payload(t, "heroku-release-create.json"), nil, false}}, []int{401}, 0},
		{"semaphore", []delivery{{"semaphore", payload(t, "semaphore-branch-failed.json"), map[string]string{"X-Semaphore-Webhook-Id": "w-1"}, true}}, []int{200}, 1},
		{"semaphore retried", []delivery{
			{"semaphore", payload(t, "semaphore-branch-failed.json"), map[string]string{"X-Semaphore-Webhook-Id": "w-1"}, true},
			{"semaphore", payload(t, "semaphore-branch-failed.json"), map[string]string{"X-Semaphore-Webhook-Id": "w-1"}, true},
		}, []int{200, 200}, 1},
		{"semaphore without id, same bytes", []delivery{
			{"semaphore", payload(t, "semaphore-branch-failed.json"), nil, true},
			{"semaphore", payload(t, "semaphore-branch-failed.json"), nil, true},
		}, []int{200, 200}, 1},
		// Semaphore sends each attempt with a fresh webhook id.
		{"semaphore resent with a new webhook id", []delivery{
			{"semaphore", failed, semID("w-1"), true}, {"semaphore", failed, semID("w-2"), true},
		}, []int{200, 200}, 1},
		{"semaphore: the same pipeline's other result", []delivery{
			{"semaphore", failed, semID("w-1"), true}, {"semaphore", passed, semID("w-2"), true},
		}, []int{200, 200}, 2},
		{"semaphore: another pipeline", []delivery{
			{"semaphore", failed, semID("w-1"), true}, {"semaphore", another, semID("w-2"), true},
		}, []int{200, 200}, 2},
		{"semaphore without a pipeline id: the webhook id, then the bytes", []delivery{
			{"semaphore", noPipelineID, semID("w-1"), true}, {"semaphore", noPipelineID, semID("w-1"), true}, {"semaphore", noPipelineID, semID("w-2"), true},
		}, []int{200, 200, 200}, 1},
		{"semaphore without any id: the bytes", []delivery{
			{"semaphore", noPipelineID, nil, true}, {"semaphore", noPipelineID, nil, true},
		}, []int{200, 200}, 1},
		{"semaphore unsigned", []delivery{{"semaphore", payload(t, "semaphore-branch-failed.json"), nil, false}}, []int{401}, 0},
		{"semaphore tag", []delivery{{"semaphore", []byte(`{"revision":{"reference_type":"tag"},"pipeline":{"state":"done","result":"passed"}}`), nil, true}}, []int{204}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNotes()
			bg := commands.NewBackground(context.Background())
			mux := http.NewServeMux()
			New(secrets, n, newMemory(), bg, zerolog.Nop()).Register(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			for i, d := range tc.deliveries {
				req, _ := http.NewRequest("POST", srv.URL+"/webhooks/"+d.service, bytes.NewReader(d.body))
				for k, v := range d.header {
					req.Header.Set(k, v)
				}
				if d.sign {
					k, v := sign(d.service, secretOf[d.service], d.body)
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want[i] {
					t.Errorf("delivery %d answered %d; want %d", i+1, resp.StatusCode, tc.want[i])
				}
			}
			bg.Wait(5 * time.Second)
			if got := len(n.all()); got != tc.notified {
				t.Errorf("notified %d times; want %d: %+v", got, tc.notified, n.all())
			}
		})
	}
}

func TestEndpointLimitsAndMounting(t *testing.T) {
	n := newNotes()
	bg := commands.NewBackground(context.Background())
	mux := http.NewServeMux()
	paths := New(Secrets{GitHub: "s"}, n, newMemory(), bg, zerolog.Nop()).Register(mux)
	if len(paths) != 1 || paths[0] != "/webhooks/github" {
		t.Fatalf("mounted %v; want only /webhooks/github", paths)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	big := bytes.Repeat([]byte("x"), MaxBody+1)
	tests := []struct {
		name, method, path string
		body               []byte
		chunked            bool // hide the length, so only reading finds the size
		signed             bool // a well-formed signature, with another secret, so that the body is read
		want               int
	}{
		{"oversized", "POST", "/webhooks/github", big, false, false, 413},
		{"oversized without a length", "POST", "/webhooks/github", big, true, true, 413},
		{"oversized without a length, unsigned", "POST", "/webhooks/github", big, true, false, 401},
		{"just under the limit, unsigned", "POST", "/webhooks/github", bytes.Repeat([]byte("x"), MaxBody), false, false, 401},
		{"just under the limit, signed with another secret", "POST", "/webhooks/github", bytes.Repeat([]byte("x"), MaxBody), false, true, 401},
		{"no secret: not mounted", "POST", "/webhooks/heroku", []byte("{}"), false, false, 404},
		{"no secret: not mounted either", "POST", "/webhooks/semaphore", []byte("{}"), false, false, 404},
		{"GET", "GET", "/webhooks/github", nil, false, false, 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(tc.body))
			if tc.chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(tc.body)})
			}
			req.Header.Set("X-GitHub-Event", "pull_request")
			if tc.signed {
				req.Header.Set(sign("github", "another secret", tc.body))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("answered %d; want %d", resp.StatusCode, tc.want)
			}
		})
	}
	bg.Wait(time.Second)
	if len(n.all()) != 0 {
		t.Errorf("notified %v; want nothing", n.all())
	}
}

// Concurrent deliveries: each pipeline's result is handled once, however
// many copies race, each with its own webhook id as Semaphore sends them.
func TestConcurrentDeliveries(t *testing.T) {
	n := newNotes()
	bg := commands.NewBackground(context.Background())
	mux := http.NewServeMux()
	New(Secrets{Semaphore: "s"}, n, newMemory(), bg, zerolog.Nop()).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	failed := payload(t, "semaphore-branch-failed.json")
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.ReplaceAll(failed, []byte("fa02c7bd-"), []byte(fmt.Sprintf("%08d-", i%4)))
			k, v := sign("semaphore", "s", body)
			req, _ := http.NewRequest("POST", srv.URL+"/webhooks/semaphore", bytes.NewReader(body))
			req.Header.Set(k, v)
			req.Header.Set("X-Semaphore-Webhook-Id", fmt.Sprint("w-", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("answered %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	bg.Wait(5 * time.Second)
	if got := len(n.all()); got != 4 {
		t.Errorf("notified %d times; want 4 (one per pipeline)", got)
	}
}

// flaky is a Notifier whose first fails calls fail, as a Slack outage does.
type flaky struct {
	mu    sync.Mutex // guards fails and calls
	fails int
	calls int
}

func (f *flaky) call() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fails > 0 {
		f.fails--
		return fmt.Errorf("slack: post to #general: fatal_error")
	}
	return nil
}

func (f *flaky) PullRequest(context.Context, commands.PREvent) error    { return f.call() }
func (f *flaky) Release(context.Context, commands.ReleaseEvent) error   { return f.call() }
func (f *flaky) Build(context.Context, commands.BuildEvent) error       { return f.call() }
func (f *flaky) Pipeline(context.Context, commands.PipelineEvent) error { return f.call() }

// A delivery whose notification failed is handled again when redelivered;
// once it succeeded, it is not.
func TestFailedNotificationIsHandledAgain(t *testing.T) {
	f := &flaky{fails: 1}
	bg := commands.NewBackground(context.Background())
	mux := http.NewServeMux()
	New(Secrets{GitHub: "s"}, f, newMemory(), bg, zerolog.Nop()).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	body := payload(t, "github-pull_request-opened.json")
	k, v := sign("github", "s", body)
	for i, want := range []int{1, 2, 2} {
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set(k, v)
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "d-1")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		bg.Wait(5 * time.Second)
		f.mu.Lock()
		got := f.calls
		f.mu.Unlock()
		if got != want {
			t.Fatalf("after delivery %d: notified %d times; want %d", i+1, got, want)
		}
	}
}

// threadNotes is a Notifier that posts a pull request's thread slowly, as
// Slack does, and records whether each later event found it.
type threadNotes struct {
	mu       sync.Mutex // guards thread and seen
	thread   bool
	seen     []string // "action: thread" per event, in the order handled
	announce time.Duration
}

func (n *threadNotes) record(what string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = append(n.seen, fmt.Sprintf("%s: %v", what, n.thread))
}

func (n *threadNotes) PullRequest(_ context.Context, e commands.PREvent) error {
	if e.Action == "opened" {
		time.Sleep(n.announce)
		n.mu.Lock()
		n.thread = true
		n.mu.Unlock()
	}
	n.record(e.Action)
	return nil
}
func (n *threadNotes) Pipeline(_ context.Context, e commands.PipelineEvent) error {
	n.record("pipeline")
	return nil
}
func (n *threadNotes) Release(context.Context, commands.ReleaseEvent) error { return nil }
func (n *threadNotes) Build(context.Context, commands.BuildEvent) error     { return nil }

// A pull request's deliveries sent back to back are handled in the order
// they came: the follow-ups and the PR's pipeline find the thread "opened"
// made.
func TestDeliveriesOfAPullRequestRunInOrder(t *testing.T) {
	n := &threadNotes{announce: 50 * time.Millisecond}
	bg := commands.NewBackground(context.Background())
	mux := http.NewServeMux()
	srv0 := New(Secrets{GitHub: "gh", Semaphore: "sem"}, n, newMemory(), bg, zerolog.Nop())
	srv0.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	secret := map[string]string{"github": "gh", "semaphore": "sem"}
	for _, d := range []struct{ service, file string }{
		{"github", "github-pull_request-opened.json"},
		{"github", "github-pull_request-synchronize.json"},
		{"semaphore", "semaphore-pull_request-passed.json"},
		{"github", "github-pull_request-closed-merged.json"},
	} {
		body := payload(t, d.file)
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/"+d.service, bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", d.file)
		req.Header.Set("Content-Type", "application/json")
		k, v := sign(d.service, secret[d.service], body)
		req.Header.Set(k, v)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s answered %d", d.file, resp.StatusCode)
		}
	}
	bg.Wait(5 * time.Second)
	n.mu.Lock()
	got := strings.Join(n.seen, ", ")
	n.mu.Unlock()
	if want := "opened: true, synchronize: true, pipeline: true, closed: true"; got != want {
		t.Errorf("handled %s; want %s", got, want)
	}
	srv0.lanes.mu.Lock()
	defer srv0.lanes.mu.Unlock()
	if len(srv0.lanes.waiting) != 0 {
		t.Errorf("lanes kept after draining: %v", srv0.lanes.waiting)
	}
}

// Lanes: one order's work runs in turn; other orders, and work with no
// order (Heroku's), do not wait for it.
func TestLanes(t *testing.T) {
	l := newLanes()
	bg := commands.NewBackground(context.Background())
	var mu sync.Mutex // guards ran
	var ran []string
	record := func(s string) func(context.Context) {
		return func(context.Context) { mu.Lock(); ran = append(ran, s); mu.Unlock() }
	}
	hold := make(chan struct{})
	l.run(bg, "pr:7", func(ctx context.Context) { <-hold; record("7 first")(ctx) })
	l.run(bg, "pr:7", record("7 second"))
	l.run(bg, "pr:8", record("8"))
	l.run(bg, "", record("free"))
	waitfor.True(t, "pr:8's and the free work to run while pr:7's waits", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ran) == 2
	})
	close(hold)
	bg.Wait(5 * time.Second)
	if got := strings.Join(ran[2:], ", "); got != "7 first, 7 second" {
		t.Errorf("pr:7 ran %s; want 7 first, 7 second", got)
	}
	if len(l.waiting) != 0 {
		t.Errorf("lanes kept after draining: %v", l.waiting)
	}
}
