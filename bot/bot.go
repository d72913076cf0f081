// Package bot is Devy's Slack transport: it holds the Socket Mode connection,
// acknowledges every envelope at once, turns payloads into commands'
// requests, runs them in the background and delivers their replies.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/devy-chatops/devy/commands"
)

// Socket is the Socket Mode connection. It is opened before the rest of
// Devy is built, so that connecting to Slack overlaps opening the store and
// wiring the commands; what Slack sends meanwhile waits in slack-go's queue
// until Run reads it.
type Socket struct {
	client *socketmode.Client
	ended  chan error // slack-go's loop's end
	close  context.CancelFunc
}

// Open starts connecting client to Slack. The connection ends with ctx, or
// when the Bot's Run returns.
func Open(ctx context.Context, client *socketmode.Client) *Socket {
	ctx, cancel := context.WithCancel(ctx)
	s := &Socket{client: client, ended: make(chan error, 1), close: cancel}
	go func() { s.ended <- client.RunContext(ctx) }()
	return s
}

// Bot routes Slack's Socket Mode envelopes to commands.
type Bot struct {
	log     zerolog.Logger
	socket  *Socket
	client  *socketmode.Client
	slack   *Slack
	router  *commands.Router
	bg      *commands.Background
	timeout time.Duration
	// slowAfter is when a command still running gets a "working on it" note.
	slowAfter time.Duration

	connected atomic.Bool

	// handlers runs commands, clicks and shortcuts on a bounded number of
	// goroutines.
	handlers lane

	// shared, if set, is the memory of deliveries that the Devy processes
	// on one database share (see ShareDeliveries).
	shared Deliveries

	observe Observer // never nil

	mu   sync.Mutex                       // makes seen's look-up and add one step
	seen *expirable.LRU[string, struct{}] // envelope and event ids handled recently, for Slack's redeliveries
}

// Slack redelivers an envelope within minutes; ids are remembered for
// seenFor, and at most seenMax of them, so a sustained burst cannot grow
// the memory without bound.
const (
	seenFor = 30 * time.Minute
	seenMax = 1 << 16
)

// maxHandlers bounds the handlers running at once. Far more than a team
// keeps busy; under a burst waiting on one slow read, the rest wait in a
// queue rather than in goroutines.
const maxHandlers = 64

// New builds a bot on an opened socket. timeout bounds each handler.
func New(socket *Socket, s *Slack, router *commands.Router, bg *commands.Background, timeout time.Duration, log zerolog.Logger) *Bot {
	return &Bot{log: log, socket: socket, client: socket.client, slack: s, router: router, bg: bg, timeout: timeout, slowAfter: 2 * time.Second, seen: expirable.NewLRU[string, struct{}](seenMax, nil, seenFor),
		handlers: lane{bg: bg, runners: maxHandlers}, observe: noObserver{}}
}

// Observer hears how commands end and how long acknowledgements take;
// /metrics implements it, so bot needs no metrics library.
type Observer interface {
	// Command is called once per command with its name as the router knows
	// it ("unknown" for any other word) and its outcome: ok, refused or
	// error.
	Command(command, outcome string)
	// Ack is the time from an envelope's arrival to its acknowledgement.
	Ack(latency time.Duration)
}

type noObserver struct{}

func (noObserver) Command(string, string) {}
func (noObserver) Ack(time.Duration)      {}

// Observe makes o hear of every command and acknowledgement. Call it
// before Run.
func (b *Bot) Observe(o Observer) { b.observe = o }

// commandLabel is the command's name for Observer: one the router knows,
// else "unknown", so that what people type cannot grow the label's values.
func (b *Bot) commandLabel(name string) string {
	for _, c := range b.router.Commands() {
		if c.Name == name {
			return name
		}
	}
	return "unknown"
}

// Deliveries remembers, across the Devy processes that share one database,
// which Slack deliveries one of them has taken. Slack redelivers an envelope
// it thinks was lost, and with several processes connected the retry may
// reach another process than the first delivery did.
type Deliveries interface {
	// ClaimDelivery reports whether no process has taken key before.
	ClaimDelivery(key string) (bool, error)
}

// ShareDeliveries makes b check each new envelope and event against d as
// well as against its own memory. Call it before Run.
func (b *Bot) ShareDeliveries(d Deliveries) { b.shared = d }

// Connected reports whether the Socket Mode connection is up.
func (b *Bot) Connected() bool { return b.connected.Load() }

// Run holds the connection until ctx ends. slack-go reconnects by itself on
// Slack's disconnect messages and dropped sockets; Run returns an error only
// when Slack refuses the tokens.
func (b *Bot) Run(ctx context.Context) error {
	// slack-go's own loop ends when Run returns, early or not.
	defer b.socket.close()
	for {
		select {
		case <-ctx.Done():
			b.connected.Store(false)
			return nil
		case err := <-b.socket.ended:
			b.connected.Store(false)
			if ctx.Err() != nil {
				return nil
			}
			if RefusedToken(err.Error()) {
				return fmt.Errorf("SLACK_APP_TOKEN: Slack refused the app-level token (%s)", err)
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-b.client.Events:
			if err := appTokenMistake(evt); err != nil {
				b.connected.Store(false)
				return err
			}
			b.dispatch(evt)
		}
	}
}

// appTokenMistake turns a failure to open the socket that no retry mends
// into an error naming SLACK_APP_TOKEN and the fix; slack-go retries
// these for ever. It returns nil for anything else.
func appTokenMistake(evt socketmode.Event) error {
	if evt.Type != socketmode.EventTypeConnectionError {
		return nil
	}
	ce, ok := evt.Data.(*slack.ConnectionErrorEvent)
	if !ok {
		return nil
	}
	var se slack.SlackErrorResponse
	if !errors.As(ce.ErrorObj, &se) {
		return nil
	}
	switch se.Err {
	case "missing_scope":
		needed := se.Needed
		if needed == "" {
			needed = "connections:write"
		}
		return fmt.Errorf("SLACK_APP_TOKEN: Slack refused the app-level token (missing_scope): give it the %s scope under Basic Information → App-Level Tokens, then restart Devy", needed)
	case "not_allowed_token_type":
		return fmt.Errorf("SLACK_APP_TOKEN: Slack refused the token (not_allowed_token_type): Socket Mode needs an app-level token (xapp-…) with connections:write, not a bot or user token")
	}
	if RefusedToken(se.Err) {
		return fmt.Errorf("SLACK_APP_TOKEN: Slack refused the app-level token (%s)", se.Err)
	}
	return nil
}

// RefusedToken reports whether a Slack error code says the token itself is
// no good, which no retry will mend.
func RefusedToken(code string) bool {
	switch code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return true
	}
	return false
}

func (b *Bot) dispatch(evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.connected.Store(false)
		b.log.Info().Msg("connecting to Slack")
	case socketmode.EventTypeConnected:
		b.connected.Store(true)
		b.log.Info().Msg("connected to Slack")
	case socketmode.EventTypeConnectionError:
		b.connected.Store(false)
		ev := b.log.Warn()
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			ev = ev.Err(ce.ErrorObj).Int("attempt", ce.Attempt).Dur("backoff", ce.Backoff)
		}
		ev.Msg("Slack connection failed; retrying")
	case socketmode.EventTypeInvalidAuth:
		b.connected.Store(false)
		b.log.Error().Msg("Slack refused the app token")
	case socketmode.EventTypeHello:
		b.log.Debug().Msg("hello from Slack")
	case socketmode.EventTypeErrorBadMessage:
		b.ackMalformed(evt)
	case socketmode.EventTypeSlashCommand:
		b.ackAndStart(evt, func() {
			cmd, ok := evt.Data.(slack.SlashCommand)
			if !ok {
				b.log.Warn().Msg("slash command envelope without a command; dropped")
				return
			}
			b.handle(commands.Request{
				Command: strings.TrimPrefix(cmd.Command, "/"), Text: cmd.Text, UserID: cmd.UserID,
				ChannelID: cmd.ChannelID, ChannelName: cmd.ChannelName, TriggerID: cmd.TriggerID,
				ResponseURL: cmd.ResponseURL, Source: commands.Slash,
			})
		})
	case socketmode.EventTypeEventsAPI:
		b.ackAndStart(evt, func() { b.event(evt) })
	case socketmode.EventTypeInteractive:
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && cb.Type == slack.InteractionTypeViewSubmission {
			b.viewSubmission(evt, cb)
			return
		}
		b.ackAndStart(evt, func() { b.interactive(evt) })
	default:
		b.log.Debug().Str("type", string(evt.Type)).Msg("ignored socket mode event")
	}
}

// ackAndStart acknowledges the envelope and, unless Slack is redelivering
// one it thinks was lost, starts its work in the background.
//
// The work's goroutine is started before the acknowledgement is queued:
// Go runs the goroutine readied last first, so one started after Ack would
// run ahead of slack-go's socket writer and delay the acknowledgement.
// start therefore only reads the payload and starts goroutines.
func (b *Bot) ackAndStart(evt socketmode.Event, start func()) {
	arrived := time.Now()
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		b.log.Warn().Str("type", string(evt.Type)).Msg("envelope without an id; dropped")
		return
	}
	key := "env:" + evt.Request.EnvelopeID
	redelivered := b.seenBefore(key)
	switch {
	case redelivered:
	case b.shared == nil:
		start()
	default:
		// Asking the other processes is a database round trip: it happens
		// in the background, never on the loop that acknowledges.
		b.bg.Go(func(context.Context) {
			if b.firstAnywhere(key) {
				start()
			}
		})
	}
	if err := b.client.Ack(*evt.Request); err != nil {
		b.log.Error().Err(err).Str("envelope", evt.Request.EnvelopeID).Msg("ack failed")
	}
	b.observe.Ack(time.Since(arrived))
	if redelivered {
		b.log.Info().Str("envelope", evt.Request.EnvelopeID).Int("retry", evt.Request.RetryAttempt).Msg("redelivered envelope ignored")
	}
}

// ackMalformed still acknowledges an envelope slack-go could not parse, when
// its id can be read, so that Slack does not keep resending it.
func (b *Bot) ackMalformed(evt socketmode.Event) {
	bad, _ := evt.Data.(*socketmode.ErrorBadMessage)
	var cause error
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	if bad != nil {
		cause = bad.Cause
		_ = json.Unmarshal(bad.Message, &env)
	}
	if env.EnvelopeID != "" {
		if err := b.client.Ack(socketmode.Request{EnvelopeID: env.EnvelopeID}); err != nil {
			b.log.Error().Err(err).Msg("ack of malformed envelope failed")
		}
	}
	b.log.Warn().Err(cause).Str("type", env.Type).Str("envelope", env.EnvelopeID).Msg("malformed envelope dropped")
}

// firstAnywhere reports whether no other Devy process has taken delivery
// key. Without a shared memory it is always true. When the database cannot
// say, the delivery is handled: a rare duplicate answer is better than a
// lost command, and decisions and promotions are exactly-once in the store
// whatever reaches it twice.
func (b *Bot) firstAnywhere(key string) bool {
	if b.shared == nil {
		return true
	}
	first, err := b.shared.ClaimDelivery(key)
	if err != nil {
		b.log.Warn().Err(err).Str("delivery", key).Msg("could not check whether another process took this delivery; handling it")
		return true
	}
	if !first {
		b.log.Info().Str("delivery", key).Msg("redelivery already taken by another Devy process; ignored")
	}
	return first
}

// seenBefore records key and reports whether it was recorded before.
func (b *Bot) seenBefore(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen.Peek(key); ok {
		return true
	}
	b.seen.Add(key, struct{}{})
	return false
}

var mentionRE = regexp.MustCompile(`^\s*(<@[A-Z0-9]+(\|[^>]*)?>\s*)+`)

// anyMentionRE finds the first mention in a message.
var anyMentionRE = regexp.MustCompile(`<@[A-Z0-9]+(\|[^>]*)?>`)

// mentionText is what a mention asks Devy to do: the words after the
// mention that starts it ("@Devy deploy status"), or, when people write
// ahead of it ("hey @Devy deploy status"), the words after the mention.
func mentionText(text string) string {
	if rest := mentionRE.ReplaceAllString(text, ""); rest != text {
		return rest
	}
	if loc := anyMentionRE.FindStringIndex(text); loc != nil && strings.TrimSpace(text[loc[1]:]) != "" {
		return text[loc[1]:]
	}
	return text
}

func (b *Bot) event(evt socketmode.Event) {
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
		if b.seenBefore("evt:" + cb.EventID) {
			b.log.Info().Str("event", cb.EventID).Msg("redelivered event ignored")
			return
		}
		// With a shared memory this runs in the background (see ackAndStart).
		if !b.firstAnywhere("evt:" + cb.EventID) {
			return
		}
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" {
			return // another bot talking; don't start loops
		}
		text := mentionText(e.Text)
		name, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
		thread := e.ThreadTimeStamp
		if thread == "" {
			thread = e.TimeStamp
		}
		b.handle(commands.Request{
			Command: strings.TrimPrefix(strings.ToLower(name), "/"), Text: strings.TrimSpace(rest), UserID: e.User,
			ChannelID: e.Channel, ThreadTS: thread, Source: commands.Mention,
		})
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab != "home" {
			return
		}
		user := e.User
		b.background(func(ctx context.Context) {
			m, err := b.router.Home(ctx, user)
			if err != nil {
				b.log.Error().Err(err).Str("user", user).Msg("building the App Home failed")
				return
			}
			if err := b.slack.PublishHome(ctx, user, m); err != nil {
				b.log.Warn().Err(err).Msg("publishing the App Home failed")
			}
		})
	case *slackevents.ReactionAddedEvent:
		if e.Item.Type != "message" {
			return
		}
		r := commands.Reaction{UserID: e.User, Emoji: e.Reaction, ChannelID: e.Item.Channel, MessageTS: e.Item.Timestamp}
		b.background(func(ctx context.Context) {
			if err := b.router.React(ctx, r); err != nil {
				b.log.Error().Err(err).Str("emoji", r.Emoji).Str("channel", r.ChannelID).Msg("reaction handler failed")
			}
		})
	default:
		b.log.Debug().Str("event", ev.InnerEvent.Type).Msg("ignored event")
	}
}

func (b *Bot) interactive(evt socketmode.Event) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			if a == nil {
				continue
			}
			channel := cb.Channel.ID
			if channel == "" {
				channel = cb.Container.ChannelID
			}
			thread := cb.Container.ThreadTs
			if thread == "" {
				thread = cb.Message.ThreadTimestamp
			}
			msgTS := cb.Container.MessageTs
			if msgTS == "" {
				msgTS = cb.Message.Timestamp
			}
			b.click(commands.Action{
				ActionID: a.ActionID, Value: a.Value, UserID: cb.User.ID, ChannelID: channel,
				MessageTS: msgTS, ThreadTS: thread, ResponseURL: cb.ResponseURL, TriggerID: cb.TriggerID,
			})
		}
	case slack.InteractionTypeMessageAction:
		thread := cb.Message.ThreadTimestamp
		if thread == "" {
			thread = cb.Message.Timestamp
		}
		b.shortcut(commands.Shortcut{
			CallbackID: cb.CallbackID, UserID: cb.User.ID, ChannelID: cb.Channel.ID, MessageTS: cb.Message.Timestamp,
			ThreadTS: thread, MessageText: messageText(cb.Message.Msg), TriggerID: cb.TriggerID, ResponseURL: cb.ResponseURL,
		})
	default:
		b.log.Info().Str("interaction", string(cb.Type)).Msg("interaction not handled yet; dropped")
	}
}

// background runs f in a goroutine of its own, bounded by the handler
// timeout. The goroutine first yields its processor once: it was started
// from the loop that reads envelopes, and Go would otherwise run it ahead of
// slack-go's socket writer queued on the same processor, so the
// acknowledgement of the next envelope would wait for this one's work.
func (b *Bot) background(f func(ctx context.Context)) {
	b.bg.Go(func(ctx context.Context) {
		runtime.Gosched()
		ctx, cancel := context.WithTimeout(ctx, b.timeout)
		defer cancel()
		f(ctx)
	})
}

// handler runs f on the handlers' lane, bounded by the handler timeout.
func (b *Bot) handler(f func(ctx context.Context)) {
	b.handlers.add(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, b.timeout)
		defer cancel()
		f(ctx)
	})
}

func (b *Bot) handle(req commands.Request) {
	b.handler(func(ctx context.Context) {
		start := time.Now()
		// Most commands answer in well under a second; when one waits on a
		// slow service, say so rather than leave the person guessing. The
		// note has a context of its own, so that it still goes out when the
		// handler runs out of time just then.
		slow := time.AfterFunc(b.slowAfter, func() {
			if nowhere(req.ChannelID, req.ResponseURL) {
				return
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			msg := commands.Message{Text: fmt.Sprintf("⏳ Working on `%s`; Heroku, GitHub or Semaphore is taking a moment…", strings.TrimSpace("/"+req.Command+" "+req.Text))}
			if err := b.slack.Ephemeral(ctx, req.ChannelID, req.ThreadTS, req.UserID, req.ResponseURL, msg); err != nil {
				b.log.Warn().Err(err).Msg("progress note failed")
			}
		})
		reply, err := b.router.Handle(ctx, req)
		slow.Stop()
		outcome := b.explain(&reply, err, req.Command)
		b.observe.Command(b.commandLabel(req.Command), outcome)
		b.deliver(ctx, req.ChannelID, req.ThreadTS, req.UserID, req.ResponseURL, reply)
		b.log.Info().Str("cmd", req.Command).Str("sub", firstWord(req.Text)).Str("user", req.UserID).
			Str("channel", req.ChannelID).Dur("duration", time.Since(start)).Str("outcome", outcome).Msg("command handled")
	})
}

func (b *Bot) click(a commands.Action) {
	b.handler(func(ctx context.Context) {
		start := time.Now()
		reply, err := b.router.Click(ctx, a)
		outcome := b.explain(&reply, err, a.ActionID)
		reply.Ephemeral = true // a click's answer is for the clicker; the message itself is updated by the command
		if a.ChannelID == "" && a.ResponseURL == "" {
			// A click in a view (the App Home, a modal): no channel to
			// answer in, so the answer comes as a direct message from Devy.
			reply.Ephemeral = false
			b.deliver(ctx, a.UserID, "", a.UserID, "", reply)
		} else {
			b.deliver(ctx, a.ChannelID, a.ThreadTS, a.UserID, a.ResponseURL, reply)
		}
		b.log.Info().Str("action", a.ActionID).Str("user", a.UserID).Str("channel", a.ChannelID).
			Dur("duration", time.Since(start)).Str("outcome", outcome).Msg("click handled")
	})
}

func (b *Bot) shortcut(sc commands.Shortcut) {
	b.handler(func(ctx context.Context) {
		start := time.Now()
		reply, err := b.router.RunShortcut(ctx, sc)
		outcome := b.explain(&reply, err, sc.CallbackID)
		// Replies go into the thread of the message the shortcut ran on.
		// The response_url answers where Devy may not post: a private
		// channel it was never invited to.
		b.deliver(ctx, sc.ChannelID, sc.ThreadTS, sc.UserID, sc.ResponseURL, reply)
		b.log.Info().Str("shortcut", sc.CallbackID).Str("user", sc.UserID).Str("channel", sc.ChannelID).
			Dur("duration", time.Since(start)).Str("outcome", outcome).Msg("shortcut handled")
	})
}

// explain is the one place errors become replies.
func (b *Bot) explain(reply *commands.Reply, err error, what string) string {
	if err == nil {
		return "ok"
	}
	ref := newRef()
	r, internal := commands.ErrorReply(err, ref)
	*reply = r
	if internal {
		b.log.Error().Err(err).Str("ref", ref).Str("what", what).Msg("handler failed")
		return "error"
	}
	b.log.Info().Err(err).Str("what", what).Msg("refused")
	return "refused"
}

func (b *Bot) deliver(ctx context.Context, channel, thread, user, responseURL string, r commands.Reply) {
	if r.Empty() {
		return
	}
	if nowhere(channel, responseURL) {
		b.log.Debug().Str("user", user).Msg("reply dropped: the event names no channel and has no response_url to answer through")
		return
	}
	if ctx.Err() != nil {
		// The handler ran out of time; still tell the person.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
	}
	var err error
	if r.Ephemeral {
		err = b.slack.Ephemeral(ctx, channel, thread, user, responseURL, r.Message)
	} else {
		_, err = b.slack.Post(ctx, channel, thread, r.Message)
		var se slack.SlackErrorResponse
		if err != nil && responseURL != "" && errors.As(err, &se) {
			// Not a member of that channel, for example: answer through the
			// slash command's response_url, which works anywhere.
			err = b.slack.Respond(ctx, channel, thread, responseURL, r.Message, slack.ResponseTypeInChannel)
		}
	}
	if err != nil {
		b.log.Error().Err(err).Str("channel", channel).Msg("reply could not be delivered")
	}
}

// nowhere reports whether an answer has nowhere to go: a click in a modal
// (no channel, no response_url) or an event without a channel. Slack
// refuses chat.postEphemeral without a channel, so Devy does not send it.
func nowhere(channel, responseURL string) bool { return channel == "" && responseURL == "" }

func firstWord(s string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	return w
}

func newRef() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
