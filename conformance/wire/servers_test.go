package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The four services, written from the vendors' documentation
// (api-facts.md, the folder's samples), independently of Devy's
// internal/fake* servers: each records every request it gets so that the
// outbound checks can judge them, and answers with the documented shapes.

// Slack-shaped ids.
const (
	teamID    = "T0TEAM0001"
	botUserID = "U0DEVYBOT1"
	alice     = "U0ALICE001"
	bob       = "U0BOB00001"
	chanDevy  = "C0DEVY0001"
	chanGen   = "C0GENERAL1"
	chanCrit  = "C0CRITICAL"
	chanOther = "C0RANDOM01"
	botToken  = "xoxb-1111-2222-conformance"
	appToken  = "xapp-1-A0DEVY0001-3333-conformance"
)

// request is one request a service received.
type request struct {
	Service string // slack, heroku, github, semaphore
	Method  string
	Path    string // escaped, as sent
	Query   url.Values
	Header  http.Header
	Body    []byte
}

// journal records the requests of every service.
type journal struct {
	mu   sync.Mutex // guards reqs
	reqs []request
}

func (j *journal) wrap(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !websocket.IsWebSocketUpgrade(r) {
			j.mu.Lock()
			j.reqs = append(j.reqs, request{Service: service, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
			j.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (j *journal) all() []request {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]request(nil), j.reqs...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// --- Slack ---

// post is a message Devy sent: chat.postMessage, chat.update,
// chat.postEphemeral or a response_url answer.
type post struct {
	Via       string // the method, or "response_url"
	Channel   string
	TS        string
	ThreadTS  string
	User      string // chat.postEphemeral's user
	Text      string
	Blocks    string
	Ephemeral bool
}

// all the text a person reads in a post.
func (p post) all() string { return p.Text + "\n" + p.Blocks }

type slackServer struct {
	t   testing.TB
	url string

	mu       sync.Mutex // guards everything below
	posts    []post
	channels map[string]string // id → name
	acks     map[string]json.RawMessage
	conns    []*websocket.Conn
	nextTS   int
	nextChan int
	changed  chan struct{} // closed and replaced on every change
}

func newSlack(t testing.TB) *slackServer {
	return &slackServer{t: t, acks: map[string]json.RawMessage{}, changed: make(chan struct{}),
		channels: map[string]string{chanDevy: "devy", chanGen: "general", chanCrit: "critical", chanOther: "random"}}
}

// notify wakes waiters; callers hold s.mu.
func (s *slackServer) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond (called with s.mu held) holds.
func (s *slackServer) waitFor(what string, d time.Duration, cond func() bool) bool {
	s.t.Helper()
	deadline := time.After(d)
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

func (s *slackServer) channelID(nameOrID string) string {
	nameOrID = strings.TrimPrefix(nameOrID, "#")
	if _, ok := s.channels[nameOrID]; ok {
		return nameOrID
	}
	for id, name := range s.channels {
		if name == nameOrID {
			return id
		}
	}
	return ""
}

// upgrader accepts slack-go's Origin (https://api.slack.com), as Slack does.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *slackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/link"):
		s.socket(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/respond/"):
		s.respond(w, r)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	args, auth := slackArgs(r)
	tok := strings.TrimPrefix(auth, "Bearer ")
	if tok == "" {
		tok = args.Get("token")
	}
	want := botToken
	if method == "apps.connections.open" {
		want = appToken
	}
	if tok != want {
		writeJSON(w, 200, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	ok := func(extra map[string]any) {
		out := map[string]any{"ok": true}
		for k, v := range extra {
			out[k] = v
		}
		writeJSON(w, 200, out)
	}
	switch method {
	case "apps.connections.open":
		ok(map[string]any{"url": "ws" + strings.TrimPrefix(s.url, "http") + "/link/?ticket=1234&app_id=A0DEVY0001"})
	case "auth.test":
		ok(map[string]any{"url": "https://conformance.slack.com/", "team": "Conformance", "user": "devy", "team_id": teamID, "user_id": botUserID, "bot_id": "B0DEVYBOT1"})
	case "chat.postMessage", "chat.postEphemeral":
		ch := s.channelID(args.Get("channel"))
		if ch == "" {
			ok := false
			writeJSON(w, 200, map[string]any{"ok": ok, "error": "channel_not_found"})
			return
		}
		s.nextTS++
		ts := fmt.Sprintf("1700000000.%06d", s.nextTS)
		p := post{Via: method, Channel: ch, TS: ts, ThreadTS: args.Get("thread_ts"), Text: args.Get("text"), Blocks: args.Get("blocks"),
			User: args.Get("user"), Ephemeral: method == "chat.postEphemeral"}
		s.posts = append(s.posts, p)
		if p.Ephemeral {
			ok(map[string]any{"message_ts": ts})
			return
		}
		ok(map[string]any{"channel": ch, "ts": ts, "message": map[string]any{"type": "message", "text": p.Text, "user": botUserID, "ts": ts}})
	case "chat.update":
		ch := s.channelID(args.Get("channel"))
		s.posts = append(s.posts, post{Via: method, Channel: ch, TS: args.Get("ts"), Text: args.Get("text"), Blocks: args.Get("blocks")})
		ok(map[string]any{"channel": ch, "ts": args.Get("ts"), "text": args.Get("text")})
	case "conversations.info":
		id := args.Get("channel")
		name, found := s.channels[id]
		if !found {
			writeJSON(w, 200, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		ok(map[string]any{"channel": map[string]any{"id": id, "name": name, "is_channel": true}})
	case "conversations.create":
		s.nextChan++
		id := fmt.Sprintf("C0INC%05d", s.nextChan)
		s.channels[id] = args.Get("name")
		ok(map[string]any{"channel": map[string]any{"id": id, "name": args.Get("name"), "is_channel": true}})
	case "conversations.invite":
		ok(map[string]any{"channel": map[string]any{"id": args.Get("channel")}})
	case "conversations.replies":
		var msgs []map[string]any
		for _, p := range s.posts {
			if p.Channel == args.Get("channel") && (p.TS == args.Get("ts") || p.ThreadTS == args.Get("ts")) && p.Via == "chat.postMessage" {
				msgs = append(msgs, map[string]any{"type": "message", "ts": p.TS, "thread_ts": p.ThreadTS, "text": p.Text, "user": botUserID})
			}
		}
		ok(map[string]any{"messages": msgs, "has_more": false})
	case "usergroups.users.list":
		ok(map[string]any{"users": []string{alice, bob}})
	case "views.open", "views.publish", "views.update":
		ok(map[string]any{"view": map[string]any{"id": "V0VIEW0001", "team_id": teamID, "type": "modal"}})
	default:
		writeJSON(w, 200, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// slackArgs reads a Web API call's arguments: query, form or JSON body.
func slackArgs(r *http.Request) (url.Values, string) {
	args := r.URL.Query()
	body, _ := io.ReadAll(r.Body)
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil {
			for k, v := range m {
				var s string
				if json.Unmarshal(v, &s) == nil {
					args.Set(k, s)
				} else {
					args.Set(k, string(v))
				}
			}
		}
	default:
		form, _ := url.ParseQuery(string(body))
		for k, v := range form {
			args[k] = v
		}
	}
	return args, r.Header.Get("Authorization")
}

func (s *slackServer) respond(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
		ResponseType string          `json:"response_type"`
		ThreadTS     string          `json:"thread_ts"`
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &m)
	ch := strings.TrimPrefix(r.URL.Path, "/respond/")
	ch, user, _ := strings.Cut(ch, "/")
	s.mu.Lock()
	s.posts = append(s.posts, post{Via: "response_url", Channel: ch, User: user, ThreadTS: m.ThreadTS, Text: m.Text, Blocks: string(m.Blocks), Ephemeral: m.ResponseType != "in_channel"})
	s.notify()
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"ok": true})
}

func (s *slackServer) socket(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	// hello first, as Slack does (api-facts.md §1.3); only then may
	// tests send frames (send writes from the test goroutine, and
	// gorilla allows one writer at a time; WriteControl is exempt).
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1,"debug_info":{"host":"applink-conformance","build_number":1,"approximate_connection_time":18060},"connection_info":{"app_id":"A0DEVY0001"}}`))
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.notify()
	s.mu.Unlock()
	done := make(chan struct{})
	defer close(done)
	// slack-go expects the server's pings (api-facts.md §1.6).
	go func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
			}
		}
	}()
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) == nil && ack.EnvelopeID != "" {
			s.mu.Lock()
			s.acks[ack.EnvelopeID] = ack.Payload
			s.notify()
			s.mu.Unlock()
		}
	}
}

// send writes a frame on the newest socket.
func (s *slackServer) send(frame []byte) error {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("no socket")
	}
	c := s.conns[len(s.conns)-1]
	s.mu.Unlock()
	// The socket goroutine writes only pings and hello; frames from tests
	// go one at a time from the test goroutine.
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.WriteMessage(websocket.TextMessage, frame)
}

func (s *slackServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *slackServer) snapshot() []post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]post(nil), s.posts...)
}

func newServer(t testing.TB, j *journal, service string, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(j.wrap(service, h))
	t.Cleanup(srv.Close)
	return srv
}
