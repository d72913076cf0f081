package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

const writeTimeout = 5 * time.Second

// wsConn is one accepted Socket Mode websocket. Data frames are written only
// while holding Server.sendMu; pings use WriteControl, which gorilla allows
// concurrently with other writes.
type wsConn struct {
	id   int
	ws   *websocket.Conn
	done chan struct{} // closed when the reader stops, to stop the pinger

	// ready and retired are guarded by Server.mu. A connection is live (gets
	// envelopes) once its hello is written and until it is told to
	// disconnect, dropped, or a write to it fails.
	ready, retired bool
}

func (c *wsConn) write(b []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// current returns the newest live connection, nil if none. Callers hold s.mu.
func (s *Server) current() *wsConn {
	for i := len(s.conns) - 1; i >= 0; i-- {
		if c := s.conns[i]; c.ready && !c.retired {
			return c
		}
	}
	return nil
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	used, issued := s.tickets[ticket]
	switch {
	case s.closed:
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	case !issued || used:
		// URLs from apps.connections.open are single-use (api-facts 1.1).
		s.mu.Unlock()
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	s.tickets[ticket] = true
	s.mu.Unlock()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.accepted++
	c := &wsConn{id: s.accepted, ws: ws, done: make(chan struct{})}
	s.conns = append(s.conns, c)
	interval := s.pingInterval
	open := len(s.conns)
	s.wg.Add(2)
	s.notify()
	s.mu.Unlock()

	ws.SetPongHandler(func(string) error {
		s.mu.Lock()
		s.pongs++
		s.notify()
		s.mu.Unlock()
		return nil
	})

	go s.ping(c, interval)
	s.greet(c, open)
	s.read(c)
}

// greet sends hello, then the envelopes queued while no connection was live.
func (s *Server) greet(c *wsConn, open int) {
	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": open,
		"debug_info": map[string]any{"host": "applink-fakeslack-" + strconv.Itoa(c.id),
			"build_number": 10, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID},
	})
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := c.write(hello); err != nil {
		return
	}
	s.mu.Lock()
	c.ready = true
	pending := s.pending
	s.pending = nil
	s.notify()
	s.mu.Unlock()
	for i, b := range pending {
		if err := c.write(b); err != nil {
			s.mu.Lock()
			c.retired = true
			s.pending = append(pending[i:len(pending):len(pending)], s.pending...)
			s.notify()
			s.mu.Unlock()
			return
		}
	}
}

func (s *Server) ping(c *wsConn, interval time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-c.done:
			return
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping-"+strconv.Itoa(n)), time.Now().Add(writeTimeout)); err != nil {
				return
			}
		}
	}
}

// read records every frame the client sends until the connection ends.
func (s *Server) read(c *wsConn) {
	defer s.wg.Done()
	defer func() {
		_ = c.ws.Close()
		close(c.done)
		s.mu.Lock()
		for i, x := range s.conns {
			if x == c {
				s.conns = append(s.conns[:i], s.conns[i+1:]...)
				break
			}
		}
		s.notify()
		s.mu.Unlock()
	}()
	stamper, _ := c.ws.NetConn().(ArrivalStamper)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		a := Ack{Raw: data, Conn: c.id, Received: time.Now()}
		if stamper != nil {
			a.Arrived = stamper.LastArrival()
		}
		var body struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &body) == nil {
			a.EnvelopeID = body.EnvelopeID
			if len(body.Payload) > 0 && string(body.Payload) != "null" {
				a.Payload = body.Payload
			}
		}
		s.mu.Lock()
		s.acks = append(s.acks, a)
		s.notify()
		s.mu.Unlock()
	}
}

// SpreadEnvelopes(true) makes Send* deliver envelopes to the live
// connections in turn, oldest first, as Slack spreads an app's events over
// its connections, instead of always to the newest. Tests of several Devy
// processes on one app use it.
func (s *Server) SpreadEnvelopes(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spread = on
}

// target is the connection the next envelope goes to, nil if none is live.
// Callers hold s.mu.
func (s *Server) target() *wsConn {
	if !s.spread {
		return s.current()
	}
	var live []*wsConn
	for _, c := range s.conns {
		if c.ready && !c.retired {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	c := live[s.turn%len(live)]
	s.turn++
	return c
}

// send delivers a frame on the newest live connection (or the next in turn,
// see SpreadEnvelopes) or queues it for the next one (see the package doc).
// It returns when the frame went out, zero if it was queued.
func (s *Server) send(b []byte) time.Time {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	c := s.target()
	if c == nil {
		s.pending = append(s.pending, b)
		s.mu.Unlock()
		return time.Time{}
	}
	s.mu.Unlock()
	at := time.Now()
	if err := c.write(b); err != nil {
		s.mu.Lock()
		c.retired = true
		s.pending = append(s.pending, b)
		s.notify()
		s.mu.Unlock()
		return time.Time{}
	}
	return at
}

func (s *Server) sendEnvelope(typ string, payload any, accepts bool) string {
	id := newUUID()
	env := map[string]any{"envelope_id": id, "payload": payload, "type": typ, "accepts_response_payload": accepts}
	if typ == "events_api" {
		env["retry_attempt"] = 0
		env["retry_reason"] = ""
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: marshal %s envelope: %v", typ, err)) // payloads are built here from JSON values
	}
	s.mu.Lock()
	s.envelopes[id] = b
	s.mu.Unlock()
	if at := s.send(b); !at.IsZero() {
		s.mu.Lock()
		s.written[id] = at
		s.mu.Unlock()
	}
	return id
}

// SlashCommand is what a person typed. UserName and ChannelName default to
// what the fake knows about the IDs.
type SlashCommand struct {
	Command, Text, UserID, UserName, ChannelID, ChannelName string
}

// SendSlashCommand sends a slash_commands envelope shaped like Slack's
// (api-facts 1.4): the payload carries a response_url on this server and a
// trigger_id views.open accepts. It returns the envelope ID.
func (s *Server) SendSlashCommand(cmd SlashCommand) string {
	s.mu.Lock()
	ch := s.implicitChannel(cmd.ChannelID, cmd.ChannelName)
	u := s.ensureUser(cmd.UserID, cmd.UserName)
	name := ch.Name
	switch {
	case strings.HasPrefix(cmd.ChannelID, "D"):
		name = "directmessage"
	case ch.Private:
		// Slack does not name private channels in slash commands.
		name = "privategroup"
	}
	payload := map[string]any{
		"token": VerificationToken, "team_id": TeamID, "team_domain": TeamDomain,
		"channel_id": cmd.ChannelID, "channel_name": name, "user_id": cmd.UserID, "user_name": u.Name,
		"command": cmd.Command, "text": cmd.Text, "api_app_id": AppID,
		// Slash payloads mirror form fields, so this flag arrives as a string;
		// slack-go accepts both forms.
		"is_enterprise_install": "false",
		"response_url":          s.newResponseURL(&responseHook{channel: cmd.ChannelID, user: cmd.UserID}),
		"trigger_id":            s.newTriggerID(),
	}
	s.mu.Unlock()
	return s.sendEnvelope("slash_commands", payload, true)
}

// BlockAction is a click on an interactive element of a message. Fields left
// empty are filled from the recorded message (ChannelID+MessageTS) when the
// fake has it: thread, text, ephemerality, and the element's block_id, value
// and label.
type BlockAction struct {
	ActionID, BlockID, Value, Text string // Text: the button's label
	Type                           string // default "button"
	UserID, UserName               string
	ChannelID, ChannelName         string
	MessageTS, ThreadTS            string
	MessageText                    string
	Ephemeral                      bool
}

// SendBlockAction sends an interactive block_actions envelope from a
// message (api-facts 1.4). Every action carries a block_id, since slack-go
// drops actions without one into the legacy attachment list (trap 6).
func (s *Server) SendBlockAction(a BlockAction) string {
	s.mu.Lock()
	if a.Type == "" {
		a.Type = "button"
	}
	ch := s.implicitChannel(a.ChannelID, a.ChannelName)
	u := s.ensureUser(a.UserID, a.UserName)
	m := s.findMessage(a.ChannelID, a.MessageTS)
	if m != nil {
		if a.ThreadTS == "" {
			a.ThreadTS = m.ThreadTS
		}
		if a.MessageText == "" {
			a.MessageText = m.Text
		}
		a.Ephemeral = a.Ephemeral || m.Ephemeral
		if el, ok := findElement(m.Blocks, a.ActionID); ok {
			a.BlockID = orDefault(a.BlockID, el.blockID)
			a.Value = orDefault(a.Value, el.value)
			a.Text = orDefault(a.Text, el.text)
		}
	}
	if a.BlockID == "" {
		a.BlockID = randomID(5) // Slack generates one when the app set none
	}
	container := map[string]any{"type": "message", "message_ts": a.MessageTS, "channel_id": a.ChannelID,
		"is_ephemeral": a.Ephemeral}
	if a.ThreadTS != "" {
		container["thread_ts"] = a.ThreadTS
	}
	now := time.Now()
	payload := map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": TeamID},
		"api_app_id":            AppID,
		"token":                 VerificationToken,
		"container":             container,
		"trigger_id":            s.newTriggerID(),
		"team":                  map[string]any{"id": TeamID, "domain": TeamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": a.ChannelID, "name": ch.Name},
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url": s.newResponseURL(&responseHook{channel: a.ChannelID, user: a.UserID,
			original: a.MessageTS}),
		"actions": []any{map[string]any{
			"action_id": a.ActionID, "block_id": a.BlockID, "type": a.Type, "value": a.Value,
			"action_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000),
			"text":      map[string]any{"type": "plain_text", "text": a.Text, "emoji": true},
		}},
	}
	// Slack leaves the message out for ephemeral messages: only the
	// container says where the click happened.
	if !a.Ephemeral {
		if m != nil {
			payload["message"] = s.wireMessage(m)
		} else {
			msg := map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "ts": a.MessageTS,
				"text": a.MessageText, "team": TeamID}
			if a.ThreadTS != "" {
				msg["thread_ts"] = a.ThreadTS
			}
			payload["message"] = msg
		}
	}
	s.mu.Unlock()
	return s.sendEnvelope("interactive", payload, false)
}

func orDefault(set, fallback string) string {
	if set != "" {
		return set
	}
	return fallback
}

// ClickButton is a person clicking the element actionID on message m as
// Slack shows it now: it fails when the message is gone, has no such
// element, or is ephemeral and meant for someone else.
func (s *Server) ClickButton(m Message, actionID, userID string) (string, error) {
	s.mu.Lock()
	cur := s.findMessage(m.Channel, m.TS)
	var el element
	var ok bool
	var err error
	switch {
	case cur == nil || cur.Deleted:
		err = fmt.Errorf("fakeslack: no message %s in %s", m.TS, m.Channel)
	case cur.Ephemeral && cur.User != userID:
		err = fmt.Errorf("fakeslack: message %s is only visible to %s", m.TS, cur.User)
	default:
		if el, ok = findElement(cur.Blocks, actionID); !ok {
			err = fmt.Errorf("fakeslack: message %s has no element with action_id %q; blocks: %s", m.TS, actionID, cur.Blocks)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	return s.SendBlockAction(BlockAction{ActionID: actionID, BlockID: el.blockID, Value: el.value, Text: el.text,
		Type: el.typ, UserID: userID, ChannelID: m.Channel, MessageTS: m.TS}), nil
}

// ClickSeenButton clicks a button of m as the person saw it (m.Blocks),
// even if the message has been updated since: Slack clients send clicks
// from what is on screen until the update reaches them, so people racing
// to click all click the button they saw.
func (s *Server) ClickSeenButton(m Message, actionID, userID string) (string, error) {
	el, ok := findElement(m.Blocks, actionID)
	if !ok {
		return "", fmt.Errorf("fakeslack: message %s had no element with action_id %q; blocks: %s", m.TS, actionID, m.Blocks)
	}
	return s.SendBlockAction(BlockAction{ActionID: actionID, BlockID: el.blockID, Value: el.value, Text: el.text,
		Type: el.typ, UserID: userID, ChannelID: m.Channel, MessageTS: m.TS}), nil
}

// SendEvent sends an events_api envelope wrapping event in Slack's
// event_callback (api-facts 1.4). An empty eventID gets a fresh one.
func (s *Server) SendEvent(event json.RawMessage, eventID string) string {
	s.mu.Lock()
	if eventID == "" {
		eventID = s.nextID("Ev")
	}
	s.mu.Unlock()
	payload := map[string]any{
		"token": VerificationToken, "team_id": TeamID, "api_app_id": AppID, "event": event,
		"type": "event_callback", "event_id": eventID, "event_time": time.Now().Unix(),
		"authorizations": []any{map[string]any{"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID,
			"is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false, "event_context": "4-" + randomID(40),
	}
	return s.sendEnvelope("events_api", payload, false)
}

// SendInteractive sends any interactive payload (view_submission,
// shortcut, message_action…) as is. Only view_submission envelopes accept a
// response payload (response_action).
func (s *Server) SendInteractive(payload json.RawMessage) string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(payload, &p)
	return s.sendEnvelope("interactive", payload, p.Type == "view_submission")
}

// SendEnvelope sends env verbatim, e.g. an Envelope sent before, to test
// redelivery.
func (s *Server) SendEnvelope(env json.RawMessage) {
	var e struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if json.Unmarshal(env, &e) == nil && e.EnvelopeID != "" {
		s.mu.Lock()
		s.envelopes[e.EnvelopeID] = append(json.RawMessage(nil), env...)
		s.mu.Unlock()
	}
	s.send(append([]byte(nil), env...))
}

// SendRaw sends b as one text frame, malformed or not.
func (s *Server) SendRaw(b []byte) { s.send(append([]byte(nil), b...)) }

// Envelope returns the last envelope sent with id.
func (s *Server) Envelope(id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, ok := s.envelopes[id]
	return append(json.RawMessage(nil), env...), ok
}

// EnvelopeWritten is when envelope id's frame started out on a live socket:
// the moment a latency measurement should start, after the fake's own work
// of building and queueing it. False if it was queued for a later
// connection.
func (s *Server) EnvelopeWritten(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.written[id]
	return at, ok
}

// Redeliver resends envelope id the way Slack retries an unacknowledged
// event: same envelope and payload, retry_attempt incremented, retry_reason
// set (e.g. "timeout").
func (s *Server) Redeliver(id, reason string) error {
	env, ok := s.Envelope(id)
	if !ok {
		return fmt.Errorf("fakeslack: redeliver: no envelope %s", id)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(env, &m); err != nil {
		return fmt.Errorf("fakeslack: redeliver %s: %w", id, err)
	}
	var attempt int
	_ = json.Unmarshal(m["retry_attempt"], &attempt)
	m["retry_attempt"] = json.RawMessage(strconv.Itoa(attempt + 1))
	m["retry_reason"] = jsonString(reason)
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("fakeslack: redeliver %s: %w", id, err)
	}
	s.SendEnvelope(b)
	return nil
}

// Disconnect sends {"type":"disconnect","reason":reason} on the live
// connection and closes it, as Slack does before rotating a socket. slack-go
// reconnects on any reason (trap 5). No-op without a live connection.
func (s *Server) Disconnect(reason string) {
	s.sendMu.Lock()
	c := s.retireCurrent()
	if c == nil {
		s.sendMu.Unlock()
		return
	}
	msg, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "applink-fakeslack-" + strconv.Itoa(c.id)}})
	_ = c.write(msg)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(writeTimeout))
	s.sendMu.Unlock()
	_ = c.ws.Close()
}

// DropConnection closes the live connection abruptly, with no disconnect
// message or close frame, like a network failure.
func (s *Server) DropConnection() {
	s.sendMu.Lock()
	c := s.retireCurrent()
	s.sendMu.Unlock()
	if c != nil {
		_ = c.ws.Close()
	}
}

func (s *Server) retireCurrent() *wsConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.current()
	if c != nil {
		c.retired = true
		s.notify()
	}
	return c
}

// Connections returns how many websockets were accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Pongs returns how many PONG frames clients sent back.
func (s *Server) Pongs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pongs
}

// WaitConnected waits until a connection is live (its hello was sent).
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitConnections(ctx, 1)
}

// WaitConnections waits until at least n websockets were accepted and one is
// live, e.g. n=2 after a Disconnect.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	err := s.WaitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.accepted >= n && s.current() != nil
	})
	if err != nil {
		return fmt.Errorf("fakeslack: waiting for connection %d (accepted %d): %w", n, s.Connections(), err)
	}
	return nil
}

// Close ends every websocket and waits for their goroutines; later dials are
// refused. The HTTP server itself is the caller's to close.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := append([]*wsConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
	s.wg.Wait()
}
