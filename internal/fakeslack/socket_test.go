package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

const (
	botToken = "xoxb-test-bot"
	appToken = "xapp-test-app"
	wait     = 5 * time.Second
)

type env struct {
	fake *fakeslack.Server
	srv  *httptest.Server
	api  *slack.Client
}

// newEnv starts a fake with fast pings and a slack-go client pointed at it.
func newEnv(t *testing.T) env {
	t.Helper()
	fake := fakeslack.New(botToken, appToken)
	fake.SetPingInterval(40 * time.Millisecond)
	fake.FailOnUnmatched(t)
	srv := httptest.NewServer(fake)
	fake.SetBaseURL(srv.URL)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close)
	api := slack.New(botToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(srv.URL+"/api/"))
	return env{fake: fake, srv: srv, api: api}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// runClient runs a socketmode client until the test ends and returns it with
// the channel RunContext's result arrives on.
func runClient(t *testing.T, api *slack.Client, opts ...socketmode.Option) (*socketmode.Client, <-chan error) {
	t.Helper()
	opts = append([]socketmode.Option{socketmode.OptionPingInterval(time.Second)}, opts...)
	client := socketmode.New(api, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		done <- client.RunContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(wait):
			t.Error("socketmode client did not stop")
		}
	})
	return client, done
}

// next returns the next client event of type typ, skipping others.
func next(t *testing.T, c *socketmode.Client, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case evt := <-c.Events:
			if evt.Type == typ {
				return evt
			}
		case <-timeout:
			t.Fatalf("no %s event within %s", typ, wait)
		}
	}
}

func TestSocketModeHelloAndSlashCommand(t *testing.T) {
	e := newEnv(t)
	client, _ := runClient(t, e.api)

	next(t, client, socketmode.EventTypeConnected)
	hello := next(t, client, socketmode.EventTypeHello)
	if hello.Request.ConnectionInfo.AppID != fakeslack.AppID || hello.Request.NumConnections != 1 {
		t.Errorf("hello = %+v", hello.Request)
	}
	if err := e.fake.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	id := e.fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", Text: "api staging",
		UserID: "U111", UserName: "alice", ChannelID: "C111", ChannelName: "deploys"})
	if at, ok := e.fake.EnvelopeWritten(id); !ok || at.Before(before) || at.After(time.Now()) {
		t.Errorf("EnvelopeWritten = %v, %v; want a time during SendSlashCommand", at, ok)
	}
	evt := next(t, client, socketmode.EventTypeSlashCommand)
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		t.Fatalf("data is %T", evt.Data)
	}
	if evt.Request.EnvelopeID != id || !evt.Request.AcceptsResponsePayload {
		t.Errorf("request = %+v", evt.Request)
	}
	want := slack.SlashCommand{Token: fakeslack.VerificationToken, TeamID: fakeslack.TeamID,
		TeamDomain: fakeslack.TeamDomain, ChannelID: "C111", ChannelName: "deploys", UserID: "U111",
		UserName: "alice", Command: "/deploy", Text: "api staging", APIAppID: fakeslack.AppID,
		ResponseURL: cmd.ResponseURL, TriggerID: cmd.TriggerID}
	if cmd != want {
		t.Errorf("command = %+v\nwant %+v", cmd, want)
	}
	if !strings.HasPrefix(cmd.ResponseURL, e.srv.URL+"/response/") || cmd.TriggerID == "" {
		t.Errorf("response_url %q trigger_id %q", cmd.ResponseURL, cmd.TriggerID)
	}

	if err := client.Ack(*evt.Request, map[string]any{"text": "On it"}); err != nil {
		t.Fatal(err)
	}
	payload, err := e.fake.WaitAck(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != `{"text":"On it"}` {
		t.Errorf("ack payload = %s", payload)
	}

	// An ack without payload is recorded with a nil payload.
	id2 := e.fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", UserID: "U111", ChannelID: "C111"})
	evt = next(t, client, socketmode.EventTypeSlashCommand)
	if err := client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if payload, err := e.fake.WaitAck(ctxT(t), id2); err != nil || payload != nil {
		t.Errorf("second ack = %s, %v", payload, err)
	}
}

func TestSocketModeBlockActionAndResponseURL(t *testing.T) {
	e := newEnv(t)
	client, _ := runClient(t, e.api)
	if err := e.fake.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	parent := e.fake.AddMessage("C222", "", "U222", "PR #7 merged")
	button := slack.NewButtonBlockElement("promote", "staging->production",
		slack.NewTextBlockObject(slack.PlainTextType, "Promote", false, false))
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Deploy?", false, false), nil, nil),
		slack.NewActionBlock("", button), // no block_id: Slack generates one
	}
	_, ts, err := e.api.PostMessage("C222", slack.MsgOptionText("Deploy?", false), slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := e.fake.WaitMessage(ctxT(t), func(m fakeslack.Message) bool { return m.TS == ts })
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.fake.ClickButton(msg, "nope", "U222"); err == nil {
		t.Error("clicking a missing button succeeded")
	}
	id, err := e.fake.ClickButton(msg, "promote", "U222")
	if err != nil {
		t.Fatal(err)
	}
	evt := next(t, client, socketmode.EventTypeInteractive)
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		t.Fatalf("data is %T", evt.Data)
	}
	if evt.Request.EnvelopeID != id || cb.Type != slack.InteractionTypeBlockActions {
		t.Fatalf("request %+v type %q", evt.Request, cb.Type)
	}
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("block actions = %+v (attachment actions %d)", cb.ActionCallback.BlockActions,
			len(cb.ActionCallback.AttachmentActions))
	}
	a := cb.ActionCallback.BlockActions[0]
	if a.ActionID != "promote" || a.Value != "staging->production" || a.BlockID == "" || a.Text.Text != "Promote" {
		t.Errorf("action = %+v", a)
	}
	if cb.Container.MessageTs != ts || cb.Container.ThreadTs != parent || cb.Container.ChannelID != "C222" ||
		cb.Message.Timestamp != ts || cb.Message.ThreadTimestamp != parent || cb.User.ID != "U222" ||
		cb.Channel.ID != "C222" || cb.ResponseURL == "" || cb.TriggerID == "" {
		t.Errorf("callback = container %+v message %s/%s user %+v channel %+v", cb.Container,
			cb.Message.Timestamp, cb.Message.ThreadTimestamp, cb.User, cb.Channel.ID)
	}
	if err := client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.WaitAck(ctxT(t), id); err != nil {
		t.Fatal(err)
	}

	// Replace the clicked message through its response_url, as a bot does to
	// remove the buttons.
	if _, _, err := e.api.PostMessage("", slack.MsgOptionReplaceOriginal(cb.ResponseURL),
		slack.MsgOptionText("Promoting…", false)); err != nil {
		t.Fatal(err)
	}
	got, err := e.fake.WaitMessage(ctxT(t), func(m fakeslack.Message) bool { return m.TS == ts && m.Updates == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Promoting…" || got.Blocks != nil || got.Via != "response_url" || !got.ReplaceOriginal ||
		got.ThreadTS != parent {
		t.Errorf("replaced message = %+v", got)
	}
	// The buttons are gone, but someone still looking at the old message
	// can click what they saw.
	if _, err := e.fake.ClickButton(got, "promote", "U333"); err == nil {
		t.Error("clicking a removed button succeeded")
	}
	stale, err := e.fake.ClickSeenButton(msg, "promote", "U333")
	if err != nil {
		t.Fatal(err)
	}
	evt = next(t, client, socketmode.EventTypeInteractive)
	if cb, _ := evt.Data.(slack.InteractionCallback); evt.Request.EnvelopeID != stale ||
		len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].Value != "staging->production" {
		t.Errorf("click on the message as seen: request %+v data %+v", evt.Request, evt.Data)
	}
	if err := client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}

	// And reply in the thread through the same response_url.
	if _, _, err := e.api.PostMessage("", slack.MsgOptionResponseURL(cb.ResponseURL, slack.ResponseTypeInChannel),
		slack.MsgOptionText("Done", false), slack.MsgOptionTS(parent)); err != nil {
		t.Fatal(err)
	}
	reply, err := e.fake.WaitMessage(ctxT(t), func(m fakeslack.Message) bool { return m.Text == "Done" })
	if err != nil {
		t.Fatal(err)
	}
	if reply.Ephemeral || reply.ThreadTS != parent || reply.Channel != "C222" || reply.ResponseType != "in_channel" {
		t.Errorf("reply = %+v", reply)
	}
}

func TestSocketModeEventsAndRedelivery(t *testing.T) {
	e := newEnv(t)
	client, _ := runClient(t, e.api)
	if err := e.fake.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	id := e.fake.SendEvent(json.RawMessage(`{"type":"app_mention","user":"U333","text":"<@`+fakeslack.BotUserID+
		`> deploy","ts":"1700000001.000100","channel":"C333","event_ts":"1700000001.000100"}`), "Ev0001")
	evt := next(t, client, socketmode.EventTypeEventsAPI)
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("data is %T", evt.Data)
	}
	mention, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok || mention.Channel != "C333" || ev.TeamID != fakeslack.TeamID || evt.Request.EnvelopeID != id {
		t.Fatalf("event = %+v inner %T", ev, ev.InnerEvent.Data)
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID != "Ev0001" || evt.Request.RetryAttempt != 0 {
		t.Errorf("callback = %+v retry %d", ev.Data, evt.Request.RetryAttempt)
	}

	if err := e.fake.Redeliver(id, "timeout"); err != nil {
		t.Fatal(err)
	}
	evt = next(t, client, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != id || evt.Request.RetryAttempt != 1 || evt.Request.RetryReason != "timeout" {
		t.Errorf("redelivered request = %+v", evt.Request)
	}

	// A malformed frame does not break the connection.
	e.fake.SendRaw([]byte("{not json"))
	e.fake.SendInteractive(json.RawMessage(`{"type":"view_submission","user":{"id":"U333"},"view":{"id":"V1","callback_id":"cfg","state":{"values":{}}}}`))
	evt = next(t, client, socketmode.EventTypeInteractive)
	if cb := evt.Data.(slack.InteractionCallback); cb.View.CallbackID != "cfg" || !evt.Request.AcceptsResponsePayload {
		t.Errorf("view submission = %+v accepts %t", cb.View, evt.Request.AcceptsResponsePayload)
	}
	if n := e.fake.Connections(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
}

func TestSocketModeReconnects(t *testing.T) {
	tests := []struct {
		name string
		cut  func(*fakeslack.Server)
	}{
		{"disconnect message", func(f *fakeslack.Server) { f.Disconnect("refresh_requested") }},
		{"warning", func(f *fakeslack.Server) { f.Disconnect("warning") }},
		{"dropped connection", func(f *fakeslack.Server) { f.DropConnection() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			client, _ := runClient(t, e.api)
			if err := e.fake.WaitConnected(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			next(t, client, socketmode.EventTypeHello)

			tt.cut(e.fake)
			// Sent while no connection is live: queued for the next one.
			id := e.fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", UserID: "U1", ChannelID: "C1"})
			if err := e.fake.WaitConnections(ctxT(t), 2); err != nil {
				t.Fatal(err)
			}
			evt := next(t, client, socketmode.EventTypeSlashCommand)
			if evt.Request.EnvelopeID != id {
				t.Errorf("got envelope %s, want %s", evt.Request.EnvelopeID, id)
			}
			if err := client.Ack(*evt.Request); err != nil {
				t.Fatal(err)
			}
			if _, err := e.fake.WaitAck(ctxT(t), id); err != nil {
				t.Fatal(err)
			}
			if n := e.fake.Connections(); n != 2 {
				t.Errorf("connections = %d, want 2", n)
			}
			if n := e.fake.Count("apps.connections.open"); n != 2 {
				t.Errorf("apps.connections.open calls = %d, want 2 (one per connection)", n)
			}
		})
	}
}

func TestSocketModeQueuesBeforeFirstConnection(t *testing.T) {
	e := newEnv(t)
	first := e.fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/a", UserID: "U1", ChannelID: "C1"})
	second := e.fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/b", UserID: "U1", ChannelID: "C1"})
	if at, ok := e.fake.EnvelopeWritten(first); ok {
		t.Errorf("EnvelopeWritten of a queued envelope = %v; want none", at)
	}
	client, _ := runClient(t, e.api)
	for _, want := range []string{first, second} {
		if got := next(t, client, socketmode.EventTypeSlashCommand).Request.EnvelopeID; got != want {
			t.Errorf("envelope %s, want %s (in order)", got, want)
		}
	}
}

func TestSocketModePings(t *testing.T) {
	t.Run("server pings keep the client connected", func(t *testing.T) {
		e := newEnv(t) // pings every 40ms
		runClient(t, e.api, socketmode.OptionPingInterval(200*time.Millisecond))
		err := e.fake.WaitFor(ctxT(t), func() bool { return e.fake.Pongs() >= 15 }) // ~600ms, three client intervals
		if err != nil {
			t.Fatal(err)
		}
		if n := e.fake.Connections(); n != 1 {
			t.Errorf("connections = %d, want 1", n)
		}
	})
	t.Run("without pings slack-go reconnects", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetPingInterval(time.Hour)
		runClient(t, e.api, socketmode.OptionPingInterval(100*time.Millisecond))
		if err := e.fake.WaitConnections(ctxT(t), 2); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSocketModeRefusesBadAppToken(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		{"wrong token", "xapp-wrong", "invalid_auth"},
		{"missing token", "", "not_authed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			api := slack.New(botToken, slack.OptionAppLevelToken(tt.token), slack.OptionAPIURL(e.srv.URL+"/api/"))
			_, done := runClient(t, api)
			select {
			case err := <-done:
				if err == nil || err.Error() != tt.want {
					t.Errorf("RunContext = %v, want %s", err, tt.want)
				}
			case <-time.After(wait):
				t.Fatal("client kept running with a bad token")
			}
			if n := e.fake.Connections(); n != 0 {
				t.Errorf("connections = %d, want 0", n)
			}
		})
	}

	t.Run("bot token is the wrong type", func(t *testing.T) {
		e := newEnv(t)
		api := slack.New(botToken, slack.OptionAppLevelToken(botToken), slack.OptionAPIURL(e.srv.URL+"/api/"))
		_, _, err := api.StartSocketModeContext(ctxT(t))
		if err == nil || err.Error() != "not_allowed_token_type" {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSocketTicketsAreSingleUse(t *testing.T) {
	e := newEnv(t)
	_, wsURL, err := e.api.StartSocketModeContext(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wsURL, "ws://"+e.srv.Listener.Addr().String()+"/socket?ticket=") {
		t.Fatalf("url = %s", wsURL)
	}
	_, again, err := e.api.StartSocketModeContext(ctxT(t))
	if err != nil || again == wsURL {
		t.Fatalf("second url %s (err %v) should differ from %s", again, err, wsURL)
	}
	header := http.Header{"Origin": {"https://api.slack.com"}}
	conn, _, err := websocket.DefaultDialer.DialContext(ctxT(t), wsURL, header)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hello struct {
		Type string `json:"type"`
	}
	if err := conn.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		t.Errorf("first frame %+v, %v", hello, err)
	}
	_, resp, err := websocket.DefaultDialer.DialContext(ctxT(t), wsURL, header)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reused ticket: err %v resp %v", err, resp)
	}
}

func TestSocketModeSpreadsEnvelopesOverConnections(t *testing.T) {
	e := newEnv(t)
	e.fake.SpreadEnvelopes(true)
	first, _ := runClient(t, e.api)
	next(t, first, socketmode.EventTypeHello)
	second, _ := runClient(t, e.api)
	next(t, second, socketmode.EventTypeHello)
	if err := e.fake.WaitConnections(ctxT(t), 2); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, e.fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", UserID: "U1", ChannelID: "C1"}))
	}
	// In turn, oldest connection first: 0 and 2 to the first, 1 and 3 to
	// the second.
	for _, want := range []string{ids[0], ids[2]} {
		if got := next(t, first, socketmode.EventTypeSlashCommand).Request.EnvelopeID; got != want {
			t.Errorf("first connection got %s, want %s", got, want)
		}
	}
	for _, want := range []string{ids[1], ids[3]} {
		if got := next(t, second, socketmode.EventTypeSlashCommand).Request.EnvelopeID; got != want {
			t.Errorf("second connection got %s, want %s", got, want)
		}
	}
}

// stampedListener hands out connections that claim every byte arrived at
// one fixed moment, as the benchmark's kernel-stamped connections would.
type stampedListener struct {
	net.Listener
	at time.Time
}

type stampedConn struct {
	net.Conn
	at time.Time
}

func (c stampedConn) LastArrival() time.Time { return c.at }

func (l stampedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return stampedConn{Conn: c, at: l.at}, nil
}

func TestAcksCarryTheConnectionsArrivalTime(t *testing.T) {
	arrived := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	for _, stamped := range []bool{true, false} {
		t.Run(fmt.Sprintf("stamped=%v", stamped), func(t *testing.T) {
			fake := fakeslack.New(botToken, appToken)
			srv := httptest.NewUnstartedServer(fake)
			if stamped {
				srv.Listener = stampedListener{Listener: srv.Listener, at: arrived}
			}
			srv.Start()
			fake.SetBaseURL(srv.URL)
			t.Cleanup(srv.Close)
			t.Cleanup(fake.Close)
			api := slack.New(botToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(srv.URL+"/api/"))
			client, _ := runClient(t, api)
			if err := fake.WaitConnected(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			id := fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", UserID: "U111", ChannelID: "C111"})
			evt := next(t, client, socketmode.EventTypeSlashCommand)
			if err := client.Ack(*evt.Request); err != nil {
				t.Fatal(err)
			}
			if _, err := fake.WaitAck(ctxT(t), id); err != nil {
				t.Fatal(err)
			}
			var ack fakeslack.Ack
			for _, a := range fake.Acks() {
				if a.EnvelopeID == id {
					ack = a
				}
			}
			want := time.Time{}
			if stamped {
				want = arrived
			}
			if !ack.Arrived.Equal(want) || ack.Received.IsZero() {
				t.Errorf("ack arrived %v, received %v; want arrived %v and a read time", ack.Arrived, ack.Received, want)
			}
		})
	}
}
