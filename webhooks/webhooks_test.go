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
		{"github two deliveries", []delivery{{"github", pr, ghHeaders("d-1"), true}, {"github", pr, ghHeaders("d-2"), true}}, []int{200, 200}, 2},
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
		{"semaphore unsigned", []delivery{{"semaphore", payload(t, "semaphore-branch-failed.json"), nil, false}}, []int{401}, 0},
		{"semaphore tag", []delivery{{"semaphore", []byte(`{"revision":{"reference_type":"tag"},"pipeline":{"state":"done","result":"passed"}}`), nil, true}}, []int{204}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNotes()
			bg := commands.NewBackground(context.Background())
			mux := http.NewServeMux()
			New(secrets, n, bg, zerolog.Nop()).Register(mux)
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
	paths := New(Secrets{GitHub: "s"}, n, bg, zerolog.Nop()).Register(mux)
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
		want               int
	}{
		{"oversized", "POST", "/webhooks/github", big, false, 413},
		{"oversized without a length", "POST", "/webhooks/github", big, true, 413},
		{"just under the limit, unsigned", "POST", "/webhooks/github", bytes.Repeat([]byte("x"), MaxBody), false, 401},
		{"no secret: not mounted", "POST", "/webhooks/heroku", []byte("{}"), false, 404},
		{"no secret: not mounted either", "POST", "/webhooks/semaphore", []byte("{}"), false, 404},
		{"GET", "GET", "/webhooks/github", nil, false, 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(tc.body))
			if tc.chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(tc.body)})
			}
			req.Header.Set("X-GitHub-Event", "pull_request")
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

func TestSeenSetIsBounded(t *testing.T) {
	s := newSeenSet(3)
	for _, k := range []string{"a", "b", "c"} {
		if !s.add(k) {
			t.Fatalf("%s reported as seen", k)
		}
	}
	if s.add("a") {
		t.Fatal("a redelivery was not recognised")
	}
	s.add("d") // pushes out "a"
	if !s.add("a") {
		t.Fatal("the oldest key was kept beyond the bound")
	}
	if len(s.keys) != 3 {
		t.Fatalf("%d keys kept; want 3", len(s.keys))
	}
}

// Concurrent deliveries: each id is handled once, however many copies race.
func TestConcurrentDeliveries(t *testing.T) {
	n := newNotes()
	bg := commands.NewBackground(context.Background())
	mux := http.NewServeMux()
	New(Secrets{Semaphore: "s"}, n, bg, zerolog.Nop()).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	body := payload(t, "semaphore-branch-failed.json")
	k, v := sign("semaphore", "s", body)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", srv.URL+"/webhooks/semaphore", bytes.NewReader(body))
			req.Header.Set(k, v)
			req.Header.Set("X-Semaphore-Webhook-Id", fmt.Sprint("w-", i%4))
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
		t.Errorf("notified %d times; want 4 (one per delivery id)", got)
	}
}
