package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/sandbox"
)

// Tokens the test Slack accepts; they only need the real tokens' prefixes,
// which Devy's configuration checks.
const (
	botToken = "xoxb-bench"
	appToken = "xapp-1-bench"

	benchChannel     = "C0BENCH001"
	benchChannelName = "devy"
)

// world is the test Slack, the slow test Heroku and the sandbox's GitHub and
// Semaphore for one trial. Each trial gets a fresh one, so no subject sees
// another's recordings, connections or caches.
type world struct {
	slack    *fakeslack.Server
	slackSrv *httptest.Server
	replies  *replyClock
	sb       *sandbox.Sandbox
	heroku   *slowHeroku
	herokuTS *httptest.Server
	// others are GitHub and Semaphore answering after a delay (latency
	// mode); nil when they answer at once.
	others []*httptest.Server
}

func newWorld(herokuDelay time.Duration) *world {
	w := &world{slack: fakeslack.New(botToken, appToken), replies: &replyClock{posts: map[string][]post{}}}
	w.replies.next = w.slack
	w.slackSrv = httptest.NewUnstartedServer(w.replies)
	w.slackSrv.Listener = stampArrivals(w.slackSrv.Listener)
	w.slackSrv.Start()
	w.slack.SetBaseURL(w.slackSrv.URL)
	// Devy is a member of its deploy channel, as in any real install: it
	// announces staging's release there at start and posts promotion
	// requests there.
	w.slack.AddChannel(benchChannel, benchChannelName, fakeslack.BotUserID)
	w.sb = sandbox.Start()
	w.heroku = &slowHeroku{next: w.sb.Heroku, delay: herokuDelay, byRoute: map[string]int{}}
	w.herokuTS = httptest.NewServer(w.heroku)
	return w
}

// slowEverything makes GitHub and Semaphore answer after delay too, and has
// Heroku note when each request arrives (latency mode).
func (w *world) slowEverything(delay time.Duration) {
	w.heroku.arrivals = map[string][]time.Time{}
	for _, h := range []http.Handler{w.sb.GitHub, w.sb.Semaphore} {
		w.others = append(w.others, httptest.NewServer(delayed(h, delay)))
	}
}

// delayed answers with next after delay.
func delayed(next http.Handler, delay time.Duration) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// env is what every subject needs to find the world.
func (w *world) env() map[string]string {
	env := w.sb.Env()
	env["HEROKU_API_URL"] = w.herokuTS.URL
	env["HEROKU_STAGING_APP"] = sandbox.StagingApp
	env["SLACK_APP_TOKEN"] = appToken
	env["SLACK_BOT_TOKEN"] = botToken
	env["SLACK_API_URL"] = w.slackSrv.URL + "/api/"
	if len(w.others) == 2 {
		env["GITHUB_API_URL"] = w.others[0].URL + "/"
		env["SEMAPHORE_URL"] = w.others[1].URL
	}
	return env
}

// otherCalls counts what the subject asked GitHub and Semaphore.
func (w *world) otherCalls() (github, semaphore int) {
	return len(w.sb.GitHub.Calls()), len(w.sb.Semaphore.Calls())
}

func (w *world) close() {
	// Websockets first: httptest.Server.Close waits for hijacked
	// connections' handlers too.
	w.slack.Close()
	w.slackSrv.Close()
	w.herokuTS.Close()
	for _, o := range w.others {
		o.Close()
	}
	w.sb.Close()
}

// replyClock sits in front of the test Slack and answers posts to
// response_urls itself, noting when each arrived and what it said. It does
// not pass them on: the test Slack would check every reply's blocks, and
// under a burst that checking (it costs more than the subject's sending)
// would run on the cores the subject needs, slowing every figure. Devy's
// replies are checked against the test Slack by its end-to-end tests.
type replyClock struct {
	next http.Handler

	mu    sync.Mutex        // guards posts
	posts map[string][]post // response_url path -> posts in arrival order
}

type post struct {
	at   time.Time
	text string
}

// progressPrefix marks a progress note ("⏳ Working on …") rather than an
// answer: Devy posts one when a command is still waiting after a while.
const progressPrefix = "⏳"

func (c *replyClock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/response/") {
		c.next.ServeHTTP(w, r)
		return
	}
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	var m struct {
		Text string `json:"text"`
	}
	if r.Method != http.MethodPost || json.Unmarshal(body, &m) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.posts[r.URL.Path] = append(c.posts[r.URL.Path], post{at: now, text: m.Text})
	c.mu.Unlock()
	// What Slack answers a good post (slack-go reads it by Content-Type).
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// answered counts the response_urls that got an answer (not only a progress
// note).
func (c *replyClock) answered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ps := range c.posts {
		if _, ok := answer(ps); ok {
			n++
		}
	}
	return n
}

func (c *replyClock) postsTo(path string) []post {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]post(nil), c.posts[path]...)
}

// answer is the first post that is not a progress note.
func answer(ps []post) (post, bool) {
	for _, p := range ps {
		if !strings.HasPrefix(p.text, progressPrefix) {
			return p, true
		}
	}
	return post{}, false
}

// slowHeroku is the sandbox's Heroku answering after a delay, as the real
// one does on a bad day; it counts requests by route for the report.
type slowHeroku struct {
	next  http.Handler
	delay time.Duration
	calls atomic.Int64

	mu      sync.Mutex     // guards byRoute and arrivals
	byRoute map[string]int // "GET /apps/{app}/releases" -> requests
	// arrivals, when not nil, notes when each request of a route arrived.
	arrivals map[string][]time.Time
}

func (h *slowHeroku) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	h.mu.Lock()
	h.byRoute[r.Method+" "+route(r.URL.Path)]++
	if h.arrivals != nil {
		k := r.Method + " " + route(r.URL.Path)
		h.arrivals[k] = append(h.arrivals[k], time.Now())
	}
	h.mu.Unlock()
	select {
	case <-time.After(h.delay):
	case <-r.Context().Done():
		return
	}
	h.next.ServeHTTP(w, r)
}

// firstAfter is when the first request of route arrived after t.
func (h *slowHeroku) firstAfter(route string, t time.Time) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, at := range h.arrivals[route] {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

func (h *slowHeroku) routes() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.byRoute))
	for k, v := range h.byRoute {
		out[k] = v
	}
	return out
}

// route turns ids and names into placeholders, so that calls group by
// endpoint: /apps/shop-staging/releases -> /apps/{}/releases.
func route(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := 1; i < len(parts); i += 2 {
		parts[i] = "{}"
	}
	return "/" + strings.Join(parts, "/")
}
