package fakeslack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/devy-chatops/devy/internal/recorder"
)

// The workspace the fake pretends to be. IDs have Slack's shape (a type
// letter, then uppercase letters and digits) so code that checks prefixes
// behaves as it would against Slack.
const (
	TeamID     = "T0DEVYTEAM"
	TeamDomain = "devy-test"
	TeamName   = "Devy Test"
	AppID      = "A0DEVYAPP1"
	BotUserID  = "U0DEVYBOT1"
	BotID      = "B0DEVYBOT1"
	BotName    = "devy"

	// VerificationToken is the deprecated `token` field Slack still puts in
	// payloads; slack-go's socketmode client does not check it.
	VerificationToken = "fakeVerificationToken0001"

	// DefaultPingInterval is how often the websocket sends PING frames. It must
	// be shorter than slack-go's OptionPingInterval (30s by default), or the
	// client reconnects with "ping timeout" (api-facts trap 4).
	DefaultPingInterval = 5 * time.Second
)

// Message is the current state of one message, as a person would see it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // parent's ts for a reply, "" otherwise
	Text     string
	User     string // ephemeral messages: the only user who sees it
	Author   string // who posted it: BotUserID for the bot, the user for seeded messages
	// Blocks as Slack stores them: compact JSON, and every block and
	// interactive element has a block_id/action_id (generated when the app
	// sent none, as Slack does). nil when the message has no blocks.
	Blocks json.RawMessage
	// Ephemeral is set for chat.postEphemeral and for response_url replies
	// without response_type "in_channel".
	Ephemeral       bool
	Updates         int    // how many times the content was replaced after posting
	Via             string // what wrote the current content: "chat.postMessage", "chat.update", "chat.postEphemeral", "response_url", "seed"
	ResponseType    string // response_url: the response_type sent
	ReplaceOriginal bool   // response_url: replace_original was sent
	Deleted         bool   // delete_original through a response_url
	Reactions       []string
}

// Call is one HTTP request the fake answered (Web API or response_url).
type Call struct {
	Method     string // Slack method ("chat.postMessage") or "response_url"
	HTTPMethod string
	Path       string
	RawQuery   string
	Header     http.Header
	Body       []byte
	// Values holds the decoded arguments: query, form fields, or the top-level
	// keys of a JSON body (non-string JSON values kept as their JSON text).
	Values url.Values
	Status int    // HTTP status answered
	Error  string // the "error" answered with ok:false, or the response_url error; "" on success
}

// Ack is one frame the client sent on the websocket.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried no payload
	Raw        []byte          // the frame as received
	Conn       int             // which connection (1-based, in accept order)
	Received   time.Time       // when the fake read it
	// Arrived is when the frame reached this machine by the kernel's clock,
	// if the listener's connections can tell (see ArrivalStamper); zero
	// otherwise.
	Arrived time.Time
}

// ArrivalStamper is implemented by connections that know when the bytes
// read from them arrived (the benchmark's listener asks the kernel). The
// fake then records Ack.Arrived as well as its own read time.
type ArrivalStamper interface {
	LastArrival() time.Time
}

// User is a workspace member known to users.info.
type User struct {
	ID       string
	Name     string // the handle
	RealName string
	Email    string
	IsBot    bool
}

// Channel is a conversation known to the fake.
type Channel struct {
	ID      string
	Name    string
	Private bool
	Creator string
	Members []string
}

type channel struct {
	Channel
	created int64
	members map[string]bool
}

type view struct {
	id, externalID, hash, userID string
	body                         map[string]json.RawMessage
}

// responseHook is where a response_url leads: which channel and user it
// answers, and for block actions which message it may replace or delete.
type responseHook struct {
	channel, user string
	original      string // ts of the message the button was on; "" for slash commands
	uses          int
}

type injected struct {
	status int
	header http.Header
	body   string
	stub   *recorder.Stub
}

// maxResponseURLUses is the number of posts a response_url accepts ([SEC]
// api-facts 1.7: five uses within 30 minutes; the time limit is not enforced).
const maxResponseURLUses = 5

// Server is the fake Slack. Create it with New; it is an http.Handler.
type Server struct {
	botToken, appToken string
	upgrader           websocket.Upgrader

	// sendMu serialises writes of data frames to websockets, so envelopes keep
	// their order across a reconnect (queue flush vs. new sends) and gorilla
	// never sees two concurrent writers. Lock order: sendMu before mu.
	sendMu sync.Mutex

	// mu guards every field below.
	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every recorded change
	closed        bool
	baseURL       string
	seq           int64
	tsClock       int64 // microseconds; the next message ts
	pingInterval  time.Duration
	calls         []Call
	messages      []*Message
	channels      map[string]*channel
	users         map[string]*User
	userGroups    map[string][]string
	views         []json.RawMessage
	viewsByID     map[string]*view
	homeViews     map[string]string  // user id -> view id
	homePublishes map[string]int     // user id -> views.publish calls that succeeded
	uploads       map[string]*upload // file id -> upload not yet completed
	files         []File
	tickets       map[string]bool // issued ticket -> already used
	triggers      map[string]bool // issued trigger_id -> already used
	hooks         map[string]*responseHook
	failures      map[string][]injected
	acks          []Ack
	accepted      int
	pongs         int
	conns         []*wsConn
	spread        bool // envelopes go to the live connections in turn
	turn          int  // how many envelopes were spread so far
	pending       [][]byte
	envelopes     map[string]json.RawMessage
	written       map[string]time.Time // envelope id -> when its frame went out
	wg            sync.WaitGroup       // websocket goroutines, waited for by Close

	strays recorder.Strays // requests no route answered; has its own lock
}

// New returns a fake Slack that accepts botToken for Web API methods and
// appToken for apps.connections.open.
func New(botToken, appToken string) *Server {
	s := &Server{
		botToken: botToken,
		appToken: appToken,
		// slack-go dials with "Origin: https://api.slack.com", which gorilla's
		// default same-origin check would refuse.
		upgrader:      websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		changed:       make(chan struct{}),
		tsClock:       1700000000_000100,
		pingInterval:  DefaultPingInterval,
		channels:      map[string]*channel{},
		users:         map[string]*User{},
		userGroups:    map[string][]string{},
		viewsByID:     map[string]*view{},
		homeViews:     map[string]string{},
		homePublishes: map[string]int{},
		uploads:       map[string]*upload{},
		tickets:       map[string]bool{},
		triggers:      map[string]bool{},
		hooks:         map[string]*responseHook{},
		failures:      map[string][]injected{},
		envelopes:     map[string]json.RawMessage{},
		written:       map[string]time.Time{},
	}
	s.users[BotUserID] = &User{ID: BotUserID, Name: BotName, RealName: "Devy", IsBot: true}
	return s
}

// SetBaseURL tells the fake its own address (httptest.Server.URL), used for
// response_url links. Without it the fake learns it from the first request.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
}

// SetPingInterval changes how often new connections get websocket PINGs.
func (s *Server) SetPingInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingInterval = d
}

// ServeHTTP routes /api/<method>, /socket and /response/<n>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.baseURL == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		s.baseURL = scheme + "://" + r.Host
	}
	s.mu.Unlock()

	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		s.serveAPI(w, r)
	case r.URL.Path == "/socket":
		s.serveSocket(w, r)
	case strings.HasPrefix(r.URL.Path, "/response/"):
		s.serveResponseURL(w, r)
	case strings.HasPrefix(r.URL.Path, "/upload/"):
		s.serveUpload(w, r)
	default:
		s.strays.Add(r.Method, r.URL.EscapedPath(), r.URL.Path, "")
		http.NotFound(w, r)
	}
}

// FailNext makes the next call of method (a Slack method name, or
// "response_url") answer status with header and body instead of running.
// Injections queue up per method and each is used once. A test that needs
// the failure to happen calls Require on the stub returned.
func (s *Server) FailNext(method string, status int, header http.Header, body string) *recorder.Stub {
	stub := recorder.NewStub(fmt.Sprintf("fakeslack: FailNext %s (%d)", method, status))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], injected{status: status, header: header.Clone(), body: body, stub: stub})
	return stub
}

// RateLimitNext makes the next call of method answer 429 with Retry-After,
// which slack-go turns into *slack.RateLimitedError (api-facts trap 8). A
// test that needs the limit to be hit calls Require on the stub returned.
func (s *Server) RateLimitNext(method string, retryAfter int) *recorder.Stub {
	return s.FailNext(method, http.StatusTooManyRequests,
		http.Header{"Retry-After": {strconv.Itoa(retryAfter)}},
		`{"ok":false,"error":"ratelimited"}`)
}

// Unmatched describes every request no route answered so far, oldest first,
// including those AllowUnmatched covers: a Web API method the fake does not
// know ("POST /api/chat.foo (unknown_method chat.foo)"), a post to a
// response_url the fake never handed out or with another verb than POST,
// and any other path.
func (s *Server) Unmatched() []string { return s.strays.List() }

// AllowUnmatched lets unanswered requests go without FailOnUnmatched
// failing the test, for tests that send them on purpose. pattern is a Web
// API method name ("chat.foo", or "chat.*" for a prefix), "response_url"
// for every response_url, or a path starting with "/".
func (s *Server) AllowUnmatched(pattern string) {
	switch {
	case pattern == "response_url":
		s.strays.Allow("", "/response/*")
	case strings.HasPrefix(pattern, "/"):
		s.strays.Allow("", pattern)
	default:
		s.strays.Allow("", "/api/"+pattern)
	}
}

// FailOnUnmatched fails t when it ends if the fake received a request no
// route answered and AllowUnmatched does not cover. A harness calls it
// before registering the cleanup that stops the code under test, so that
// requests made while stopping are checked too.
func (s *Server) FailOnUnmatched(t recorder.TB) {
	t.Helper()
	s.strays.FailOn(t, "fakeslack")
}

// Calls returns every HTTP request answered, Web API and response_url, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = copyCall(c)
	}
	return out
}

// APICalls returns the Web API calls only (no response_url posts).
func (s *Server) APICalls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Method != "response_url" {
			out = append(out, copyCall(c))
		}
	}
	return out
}

// Count returns how many calls were made to method; a trailing "*" matches a
// prefix ("chat.*").
func (s *Server) Count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if matchMethod(method, c.Method) {
			n++
		}
	}
	return n
}

func matchMethod(pattern, method string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(method, p)
	}
	return pattern == method
}

func copyCall(c Call) Call {
	c.Header = c.Header.Clone()
	c.Body = append([]byte(nil), c.Body...)
	v := url.Values{}
	for k, vs := range c.Values {
		v[k] = append([]string(nil), vs...)
	}
	c.Values = v
	return c
}

// Messages returns the current state of every message, in posting order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = copyMessage(m)
	}
	return out
}

func copyMessage(m *Message) Message {
	c := *m
	c.Blocks = append(json.RawMessage(nil), m.Blocks...)
	if len(m.Blocks) == 0 {
		c.Blocks = nil
	}
	c.Reactions = append([]string(nil), m.Reactions...)
	return c
}

// Views returns the view JSON of every views.open, views.update and
// views.publish call, in order.
func (s *Server) Views() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, len(s.views))
	for i, v := range s.views {
		out[i] = append(json.RawMessage(nil), v...)
	}
	return out
}

// Acks returns every frame the clients sent, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// AddMessage seeds a message written by a person (e.g. a PR notification), so
// conversations.replies and chat.getPermalink find it. threadTS makes it a
// reply. It returns the message's ts.
func (s *Server) AddMessage(channel, threadTS, user, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.implicitChannel(channel, "")
	s.ensureUser(user, "")
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: threadTS, Text: text, Author: user, Via: "seed"}
	s.messages = append(s.messages, m)
	s.notify()
	return m.TS
}

// AddChannel makes a channel known (conversations.info, posting by name).
func (s *Server) AddChannel(id, name string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureChannel(id, name)
	for _, m := range members {
		s.ensureUser(m, "")
		c.members[m] = true
	}
	s.notify()
}

// Channel returns what the fake knows about a channel (Members sorted).
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return c.snapshot(), true
}

// Channels returns every known channel.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.snapshot())
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// AddUser makes a user known to users.info. Users seen in slash commands,
// block actions and seeded messages are added automatically.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := u
	s.users[u.ID] = &c
}

// SetUserGroup sets the members usergroups.users.list returns for id.
func (s *Server) SetUserGroup(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range users {
		s.ensureUser(u, "")
	}
	s.userGroups[id] = append([]string(nil), users...)
}

// TriggerID mints a trigger_id that views.open accepts once.
func (s *Server) TriggerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTriggerID()
}

// ResponseURL mints a response_url under this server that posts into channel
// for user, as a slash command's would.
func (s *Server) ResponseURL(channel, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newResponseURL(&responseHook{channel: channel, user: user})
}

// WaitFor returns nil once cond() is true, re-checking after every change the
// fake records; cond must not block. It returns ctx's error on timeout.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		// Also look again now and then: cond may watch something other than
		// this fake (another fake, or the bot's own state).
		select {
		case <-ch:
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitMessage waits until some message's current state matches and returns it
// (the earliest such message). On timeout the error lists the messages seen.
func (s *Server) WaitMessage(ctx context.Context, match func(Message) bool) (Message, error) {
	var found Message
	err := s.WaitFor(ctx, func() bool {
		for _, m := range s.Messages() {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		return Message{}, fmt.Errorf("fakeslack: no matching message; have %s: %w", summarize(s.Messages()), err)
	}
	return found, nil
}

func summarize(ms []Message) string {
	if len(ms) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString("; ")
		}
		text := m.Text
		if len(text) > 80 {
			text = text[:80] + "…"
		}
		fmt.Fprintf(&b, "%s %s/%s via %s eph=%t %q", m.Channel, m.TS, m.ThreadTS, m.Via, m.Ephemeral, text)
	}
	return b.String()
}

// WaitAck waits for the client's ack of envelopeID and returns its payload
// (nil when the ack had none).
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (json.RawMessage, error) {
	var payload json.RawMessage
	err := s.WaitFor(ctx, func() bool {
		for _, a := range s.Acks() {
			if a.EnvelopeID == envelopeID {
				payload = a.Payload
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("fakeslack: no ack for envelope %s: %w", envelopeID, err)
	}
	return payload, nil
}

// notify wakes every waiter. Callers hold s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextTS returns a unique, increasing message ts. Callers hold s.mu.
func (s *Server) nextTS() string {
	v := s.tsClock
	s.tsClock += 100
	return fmt.Sprintf("%d.%06d", v/1_000_000, v%1_000_000)
}

// nextID returns prefix plus eight uppercase base-36 characters, the shape of
// a Slack ID. Callers hold s.mu.
func (s *Server) nextID(prefix string) string {
	s.seq++
	id := strings.ToUpper(strconv.FormatInt(s.seq, 36))
	return prefix + strings.Repeat("0", max(0, 8-len(id))) + id
}

func (s *Server) newTriggerID() string {
	s.seq++
	id := fmt.Sprintf("%d.%d.%s", 1700000000000+s.seq, 738474920, randomHex(16))
	s.triggers[id] = false
	return id
}

// newResponseURL registers hook and returns its URL. Callers hold s.mu.
func (s *Server) newResponseURL(hook *responseHook) string {
	if s.baseURL == "" {
		panic("fakeslack: base URL unknown; call SetBaseURL(srv.URL) before minting response URLs")
	}
	s.seq++
	key := strconv.FormatInt(s.seq, 10) + "/" + randomHex(8)
	s.hooks[key] = hook
	return s.baseURL + "/response/" + key
}

// ensureChannel returns the channel with id, creating it when unknown: the fake
// trusts channel IDs it is shown, since a slash command can only come from a
// real channel. Callers hold s.mu.
func (s *Server) ensureChannel(id, name string) *channel {
	c, ok := s.channels[id]
	if !ok {
		if name == "" {
			name = strings.ToLower(id)
		}
		c = &channel{Channel: Channel{ID: id, Name: name, Private: strings.HasPrefix(id, "G")},
			created: time.Now().Unix(), members: map[string]bool{}}
		s.channels[id] = c
	} else if name != "" && c.Name == strings.ToLower(id) {
		c.Name = name
	}
	return c
}

// implicitChannel returns the channel id, registering it when unknown with
// the bot as a member: a channel the test never described is taken to be one
// the bot was invited to. Describe it with AddChannel to say otherwise.
// Callers hold s.mu.
func (s *Server) implicitChannel(id, name string) *channel {
	if id == "" {
		return &channel{members: map[string]bool{}} // e.g. a view action: no channel to register
	}
	_, known := s.channels[id]
	c := s.ensureChannel(id, name)
	if !known {
		c.members[BotUserID] = true
	}
	return c
}

// ensureUser registers a user seen in a payload. Callers hold s.mu.
func (s *Server) ensureUser(id, name string) *User {
	if id == "" {
		return &User{}
	}
	u, ok := s.users[id]
	if !ok {
		if name == "" {
			name = strings.ToLower(id)
		}
		u = &User{ID: id, Name: name, RealName: name}
		s.users[id] = u
	} else if name != "" && u.Name == strings.ToLower(id) {
		u.Name = name
	}
	return u
}

func (c *channel) snapshot() Channel {
	out := c.Channel
	out.Members = nil
	for m := range c.members {
		out.Members = append(out.Members, m)
	}
	slices.Sort(out.Members)
	return out
}

// findMessage returns the message channel/ts, nil when unknown. Callers hold s.mu.
func (s *Server) findMessage(channel, ts string) *Message {
	if ts == "" {
		return nil // a slash command's response_url has no message behind it
	}
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// randomID returns n random letters and digits, like the block_id and
// action_id Slack generates.
func randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	return b
}
