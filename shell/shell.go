// Package shell is Devy's local chat: people type the same slash commands as
// in Slack, see replies as text, switch who they are and click buttons by
// number. It drives the very same commands/ code as the Slack bot.
package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/devy-chatops/devy/commands"
)

// Shell is one terminal chat session.
type Shell struct {
	router *commands.Router
	out    io.Writer

	mu       sync.Mutex // guards everything below, and writes to out
	user     string
	channel  string
	seq      int
	msgs     map[string]commands.Message // ts → the message as last drawn
	buttons  []pressable                 // the buttons of the last message that had any
	form     *form                       // the modal being filled in, if any
	channels map[string]bool             // channels created in this session
	waiting  bool                        // the prompt is shown and nothing typed since
	// buttonsGone is the message whose buttons were removed, when no
	// message has buttons now.
	buttonsGone string

	// simulate, if set, makes up a service's webhook (`simulate pr-opened 7`).
	simulate func(ctx context.Context, what string, args []string) error
}

type pressable struct {
	ts, channel string
	button      commands.Button
}

// New makes a shell that starts as user in channel.
func New(router *commands.Router, out io.Writer, user, channel string) *Shell {
	return &Shell{router: router, out: out, user: user, channel: channel, msgs: map[string]commands.Message{}, channels: map[string]bool{}}
}

const intro = `Devy shell — type Slack commands here, for example:
  /deploy status        /deploy promote        /deploy help
  /reviewapp 7          a review app for pull request #7; /reviewapp help
  /incident open Checkout down --sev1          (in #critical); /incident help
  as bob                switch who you are (someone else must approve)
  click 1               press button 1 of the last message with buttons
  in critical           switch channel (you are in #%s)
  @devy deploy status   a mention works like the slash command
  simulate merge        a new commit on staging, to promote again
  simulate pr-opened 7  a service's webhook: also pr-merged 7, staging-release, prod-release, ci-failed [7]
  simulate sentry       a signed Sentry delivery: issue, regression, alert, metric, resolved
  simulate alert        an Alertmanager group: critical, warning, resolved
  quit
`

// Run reads lines from in until it ends, "quit", or ctx is done.
func (s *Shell) Run(ctx context.Context, in io.Reader) error {
	s.printf(intro, s.channel)
	defer s.dropForm()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		s.prompt()
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			s.mu.Lock()
			s.waiting = false
			s.mu.Unlock()
			if !ok {
				return nil
			}
			if !s.Do(ctx, line) {
				return nil
			}
		}
	}
}

func (s *Shell) prompt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting = true
	s.promptLocked()
}

func (s *Shell) promptLocked() { fmt.Fprintf(s.out, "%s in #%s> ", s.user, s.channel) }

// redrawLocked shows the prompt again under a message that arrived while
// the shell waited at it, so that it is not left stranded above the
// message. Callers hold s.mu.
func (s *Shell) redrawLocked() {
	if s.waiting {
		s.promptLocked()
	}
}

// Do runs one typed line and reports whether the shell should go on.
func (s *Shell) Do(ctx context.Context, line string) bool {
	line = strings.TrimSpace(line)
	// Checked before a form's answer: leaving must work everywhere, and
	// Run drops an open form unsent.
	if line == "quit" || line == "exit" {
		return false
	}
	if s.answer(ctx, line) {
		return true
	}
	s.mu.Lock()
	user, channel := s.user, s.channel
	s.mu.Unlock()
	word, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case line == "":
	case word == "as":
		if rest == "" || strings.ContainsAny(rest, " <>") {
			s.printf("Type `as NAME`, for example `as bob`.\n")
			break
		}
		s.mu.Lock()
		s.user = strings.TrimPrefix(rest, "@")
		s.mu.Unlock()
		s.printf("You are now %s.\n", strings.TrimPrefix(rest, "@"))
	case word == "in":
		if rest == "" || strings.Contains(rest, " ") {
			s.printf("Type `in CHANNEL`, for example `in devy`.\n")
			break
		}
		s.mu.Lock()
		s.channel = strings.TrimPrefix(rest, "#")
		s.mu.Unlock()
		s.printf("You are now in #%s.\n", strings.TrimPrefix(rest, "#"))
	case word == "click":
		s.click(ctx, user, rest)
	case strings.HasPrefix(word, "/"):
		s.request(ctx, commands.Request{Command: strings.TrimPrefix(word, "/"), Text: escapeMentions(rest), UserID: user, ChannelID: channel, ChannelName: channel, Source: commands.Slash})
	case strings.EqualFold(word, "@devy"):
		name, args, _ := strings.Cut(rest, " ")
		s.request(ctx, commands.Request{Command: strings.ToLower(name), Text: escapeMentions(args), UserID: user, ChannelID: channel, ChannelName: channel, Source: commands.Mention})
	case word == "simulate":
		s.runSimulation(ctx, rest)
	case word == "help":
		s.printf(intro, channel)
	default:
		s.printf("I don't understand %q here; type a slash command such as `/deploy help`, or `help`.\n", line)
	}
	return true
}

// typedMentionRE is an @name typed as a word of its own: not the middle of
// an e-mail address, and ending before trailing punctuation.
var typedMentionRE = regexp.MustCompile(`(^|[\s(])@([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)`)

// escapeMentions writes @name as <@name>, the way Slack hands a command the
// people it mentions (it sends their ids; in the shell a user's id is the
// name `as NAME` took), so that commands parsing mentions work here too.
// @here, @channel and @everyone are not people and stay as typed.
func escapeMentions(text string) string {
	return typedMentionRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := typedMentionRE.FindStringSubmatch(m)
		switch sub[2] {
		case "here", "channel", "everyone":
			return m
		}
		return sub[1] + "<@" + sub[2] + ">"
	})
}

func (s *Shell) request(ctx context.Context, req commands.Request) {
	reply, err := s.router.Handle(ctx, req)
	if err != nil {
		reply, _ = commands.ErrorReply(err, "shell")
		if _, internal := commands.ErrorReply(err, ""); internal {
			s.printf("(error: %v)\n", err)
		}
	}
	s.show(req.ChannelID, reply)
}

func (s *Shell) click(ctx context.Context, user, arg string) {
	n, err := strconv.Atoi(arg)
	s.mu.Lock()
	buttons := s.buttons
	s.mu.Unlock()
	if err != nil || n < 1 || n > len(buttons) {
		s.mu.Lock()
		gone := s.buttonsGone
		s.mu.Unlock()
		if len(buttons) == 0 && gone != "" {
			s.printf("The buttons of message %s were removed when it changed, so there is nothing to click.\n", gone)
		} else if len(buttons) == 0 {
			s.printf("There is no message with buttons yet.\n")
		} else {
			s.printf("Type `click N` with N from 1 to %d.\n", len(buttons))
		}
		return
	}
	p := buttons[n-1]
	if p.button.URL != "" {
		s.printf("That button opens %s\n", p.button.URL)
		return
	}
	a := commands.Action{ActionID: p.button.ActionID, Value: p.button.Value, UserID: user, ChannelID: p.channel, MessageTS: p.ts}
	if c := p.button.Confirm; c != nil {
		// The shell draws the confirm itself, so it can ask first whether
		// the click would be refused: "are you sure?" and then "you may
		// not" is a question for nothing.
		if err := s.router.Precheck(ctx, a); err != nil {
			reply, _ := commands.ErrorReply(err, "shell")
			reply.Ephemeral = true
			s.show(p.channel, reply)
			return
		}
		s.printf("(%s — %s → %s)\n", c.Title, plain(c.Text), c.Yes)
	}
	reply, err := s.router.Click(ctx, a)
	if err != nil {
		reply, _ = commands.ErrorReply(err, "shell")
	}
	reply.Ephemeral = true
	s.show(p.channel, reply)
}

func (s *Shell) show(channel string, r commands.Reply) {
	if r.Empty() {
		return
	}
	if r.Ephemeral {
		s.printf("\n(only you can see this)\n%s\n", render(r.Message))
		return
	}
	_, _ = s.Post(context.Background(), channel, "", r.Message)
}

// Post prints a new message and remembers its buttons (commands.Poster).
func (s *Shell) Post(ctx context.Context, channel, threadTS string, m commands.Message) (commands.Posted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	ts := strconv.Itoa(s.seq)
	s.msgs[ts] = m
	where := "#" + channel
	if threadTS != "" {
		where += " (in the thread of message " + threadTS + ")"
	}
	fmt.Fprintf(s.out, "\n[message %s in %s]\n%s\n", ts, where, render(m))
	s.remember(channel, ts, m)
	s.redrawLocked()
	return commands.Posted{Channel: channel, TS: ts}, nil
}

// Update reprints a message that changed (commands.Poster).
func (s *Shell) Update(ctx context.Context, channel, ts string, m commands.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.msgs[ts]; !ok {
		return fmt.Errorf("shell: no message %s", ts)
	}
	// Show only what changed: reprinting a long message at every step of a
	// promotion buries the news.
	before := map[string]bool{}
	for _, l := range strings.Split(render(s.msgs[ts]), "\n") {
		before[l] = true
	}
	var changed []string
	for _, l := range strings.Split(render(m), "\n") {
		if !before[l] {
			changed = append(changed, l)
		}
	}
	s.msgs[ts] = m
	fmt.Fprintf(s.out, "\n[message %s in #%s, updated]\n%s\n", ts, channel, strings.Join(changed, "\n"))
	s.remember(channel, ts, m)
	s.redrawLocked()
	return nil
}

// remember makes m's buttons the ones "click N" presses; a message that lost
// its buttons clears them. Callers hold s.mu.
func (s *Shell) remember(channel, ts string, m commands.Message) {
	bs := m.Buttons()
	if len(bs) == 0 {
		if len(s.buttons) > 0 && s.buttons[0].ts == ts {
			s.buttons, s.buttonsGone = nil, ts
		}
		return
	}
	s.buttons, s.buttonsGone = nil, ""
	for _, b := range bs {
		s.buttons = append(s.buttons, pressable{ts: ts, channel: channel, button: b})
	}
}

// ChannelName: in the shell channel ids are their names (commands.Directory).
func (s *Shell) ChannelName(ctx context.Context, id string) (string, error) { return id, nil }

// MessageText: the shell shows threads by message number (commands.Directory).
func (s *Shell) MessageText(ctx context.Context, channel, ts string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[ts]
	if !ok {
		return "", "", fmt.Errorf("shell: no message %s", ts)
	}
	return m.Text, "", nil
}

// GroupMembers: the shell has no user groups (commands.Directory).
func (s *Shell) GroupMembers(ctx context.Context, id string) ([]string, error) { return nil, nil }

// Say prints a line of the shell's own, between messages.
func (s *Shell) Say(format string, args ...any) { s.printf(format, args...) }

func (s *Shell) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, format, args...)
}

// render draws a message as plain text: headers underlined, fields as lines,
// buttons numbered.
func render(m commands.Message) string {
	if len(m.Blocks) == 0 {
		return plain(m.Text)
	}
	var b strings.Builder
	n := 0
	for _, bl := range m.Blocks {
		switch x := bl.(type) {
		case commands.Header:
			fmt.Fprintf(&b, "%s\n%s\n", plain(x.Text), strings.Repeat("=", len([]rune(plain(x.Text)))))
		case commands.Section:
			if x.Text != "" {
				fmt.Fprintf(&b, "%s\n", plain(x.Text))
			}
			for _, f := range x.Fields {
				fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(plain(f), "\n", "\n    "))
			}
		case commands.Context:
			for _, t := range x.Texts {
				fmt.Fprintf(&b, "  (%s)\n", plain(t))
			}
		case commands.Divider:
			b.WriteString("--------\n")
		case commands.Actions:
			var parts []string
			for _, btn := range x.Buttons {
				n++
				parts = append(parts, fmt.Sprintf("[%d] %s", n, btn.Text))
			}
			fmt.Fprintf(&b, "%s   (type `click N`)\n", strings.Join(parts, "   "))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

var (
	linkRE    = regexp.MustCompile(`<(https?://[^|>]+)\|([^>]+)>`)
	bareRE    = regexp.MustCompile(`<(https?://[^|>]+)>`)
	userRE    = regexp.MustCompile(`<@([A-Za-z0-9._-]+)>`)
	channelRE = regexp.MustCompile(`<#([A-Za-z0-9._-]+)(\|[^>]*)?>`)
	groupRE   = regexp.MustCompile(`<!subteam\^([A-Za-z0-9]+)(\|[^>]*)?>`)
	boldRE    = regexp.MustCompile(`\*([^*\n]+)\*`)
)

// plain turns Slack mrkdwn into terminal text.
func plain(s string) string {
	s = linkRE.ReplaceAllString(s, "$2")
	s = bareRE.ReplaceAllString(s, "$1")
	s = userRE.ReplaceAllString(s, "@$1")
	s = channelRE.ReplaceAllString(s, "#$1")
	s = groupRE.ReplaceAllString(s, "@$1")
	s = boldRE.ReplaceAllString(s, "$1")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// SetSimulator sets what `simulate` runs: it makes up a service's webhook
// and hands it to Devy's notifications, whose messages the shell shows.
func (s *Shell) SetSimulator(f func(ctx context.Context, what string, args []string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.simulate = f
}

func (s *Shell) runSimulation(ctx context.Context, rest string) {
	s.mu.Lock()
	f := s.simulate
	s.mu.Unlock()
	args := strings.Fields(rest)
	switch {
	case f == nil:
		s.printf("This shell cannot simulate webhooks.\n")
		return
	case len(args) == 0:
		s.printf("Type `simulate merge`, `simulate pr-opened 7`, `simulate pr-merged 7`, `simulate staging-release`, `simulate prod-release`, `simulate ci-failed [7]`, `simulate sentry [issue|regression|alert|metric|resolved]` or `simulate alert [critical|warning|resolved]`.\n")
		return
	}
	if err := f(ctx, args[0], args[1:]); err != nil {
		var ue *commands.UserError
		if errors.As(err, &ue) {
			s.printf("%s\n", ue.Msg)
			return
		}
		s.printf("Could not simulate %s: %v\n", args[0], err)
	}
}

// SetRouter sets the router after construction: the shell is itself the
// commands' Poster, so the router is built after the shell.
func (s *Shell) SetRouter(r *commands.Router) { s.router = r }
