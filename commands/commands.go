// Package commands is what Devy does when someone asks: each command receives
// who typed what where, and returns a reply. It knows nothing of websockets or
// Slack's payloads; bot/ and the local shell both drive it.
package commands

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/store"
)

// Source is how a request reached Devy.
type Source int

const (
	Slash        Source = iota // a slash command
	Mention                    // @Devy … in a channel or thread
	FromShortcut               // a message shortcut
)

// Request is one thing a person asked of Devy.
type Request struct {
	Command     string // "deploy", "reviewapp", "incident": no slash
	Text        string // the arguments
	UserID      string
	ChannelID   string
	ChannelName string // may be empty: mentions do not carry it
	ThreadTS    string // the thread it was asked in, if any
	TriggerID   string // for opening modals
	ResponseURL string
	Source      Source
}

// Action is a click on one of Devy's buttons.
type Action struct {
	ActionID    string
	Value       string
	UserID      string
	ChannelID   string
	MessageTS   string // the message that holds the button
	ThreadTS    string
	ResponseURL string
	TriggerID   string
}

// Shortcut is a message shortcut (the "…" menu on a message) run on a message.
type Shortcut struct {
	CallbackID  string
	UserID      string
	ChannelID   string
	MessageTS   string // the message it was run on
	ThreadTS    string // that message's thread, if it is a reply
	MessageText string
	TriggerID   string
	ResponseURL string
}

// Poster lets a command speak after its first reply: post a message it will
// update later, update it as work progresses, answer in its thread.
type Poster interface {
	// Post returns where the message landed: channel may be given as a name,
	// but Slack updates and threads need the id it answers with.
	Post(ctx context.Context, channel, threadTS string, m Message) (Posted, error)
	Update(ctx context.Context, channel, ts string, m Message) error
}

// Posted is a message Devy posted: the channel's id and the message's ts.
type Posted struct{ Channel, TS string }

// Directory answers questions about the workspace.
type Directory interface {
	// ChannelName returns the name (without #) of a channel id.
	ChannelName(ctx context.Context, channelID string) (string, error)
	// GroupMembers returns the user ids in a user group (S…).
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
	// MessageText returns the text of the message at ts (a thread's parent
	// when ts is the thread, or a reply inside one) and the thread it is in
	// ("" for a message outside any thread).
	MessageText(ctx context.Context, channelID, ts string) (text, threadTS string, err error)
}

// UserError is a mistake of the person asking: its text is shown to them as is.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// Userf makes a UserError.
func Userf(format string, args ...any) error { return &UserError{Msg: fmt.Sprintf(format, args...)} }

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// ErrorReply turns an error into what the person sees. User errors and
// service failures are explained; anything else is a bug, shown only as a
// reference that matches the log line. internal reports which it was.
func ErrorReply(err error, ref string) (r Reply, internal bool) {
	var ue *UserError
	if errors.As(err, &ue) {
		return Say("%s", ue.Msg), false
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return Say("%s", ae.UserMessage()), false
	}
	if errors.Is(err, store.ErrUnavailable) {
		return Say("My state store is unavailable right now, so I couldn't do that; try again in a minute (ref %s).", ref), true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Say("That took too long and I gave up; try again in a minute (ref %s).", ref), true
	}
	return Say("Something went wrong (ref %s). The details are in Devy's log.", ref), true
}

// Handler runs a subcommand with its arguments (the words after its name).
type Handler func(ctx context.Context, req Request, args []string) (Reply, error)

// Sub is one subcommand: its name, argument synopsis, one-line help.
type Sub struct {
	Name    string
	Args    string
	Help    string
	Handler Handler
}

// Command is a top-level command such as /deploy. Its usage text is built
// from Subs, the same table that routes, so help can't drift from behaviour.
type Command struct {
	Name    string
	Summary string
	Subs    []Sub
	// Default, if set, runs when the first word names no subcommand (as in
	// `/reviewapp 123`); it receives all the words.
	Default Handler
	// Bare, if set, runs instead of the usage when there are no words at all
	// (as `@Devy reviewapp` in a pull request's thread, which names its PR).
	Bare Handler
}

// Usage is the help text of the command.
func (c Command) Usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "*/%s* — %s\n", c.Name, c.Summary)
	for _, s := range c.Subs {
		line := "/" + c.Name + " " + s.Name
		if s.Args != "" {
			line += " " + s.Args
		}
		fmt.Fprintf(&b, "• `%s` — %s\n", line, s.Help)
	}
	return strings.TrimRight(b.String(), "\n")
}

// HomeHandler builds a person's App Home tab when they open it.
type HomeHandler func(ctx context.Context, user string) (Message, error)

// OnHome sets what the App Home shows (commands/home's live dashboard).
func (r *Router) OnHome(h HomeHandler) { r.home = h }

// Home is user's App Home tab: the handler set with OnHome, or else what
// Devy is and every command's usage.
func (r *Router) Home(ctx context.Context, user string) (m Message, err error) {
	defer recovered(&err, "home ", user)
	if r.home != nil {
		return r.home(ctx, user)
	}
	return r.usage(), nil
}

// usage is what Devy is and every command's usage, from the same table that
// routes them.
func (r *Router) usage() Message {
	blocks := []Block{
		Header{Text: "Devy — deploy desk and incident desk"},
		Section{Text: "Every command also works as a mention, which is how to use Devy in a thread: `@Devy deploy status`."},
	}
	for _, c := range r.commands {
		blocks = append(blocks, Divider{}, Section{Text: c.Usage()})
	}
	return Message{Text: "Devy's commands", Blocks: blocks}
}

// ActionHandler runs a button click.
type ActionHandler func(ctx context.Context, a Action) (Reply, error)

// ActionCheck says, changing nothing, whether a click would be refused: the
// refusal the click itself would answer, or nil. A transport that shows a
// button's confirm dialog itself (the shell) asks first, so that someone who
// may not click is refused before being asked "are you sure?".
type ActionCheck func(ctx context.Context, a Action) error

// ShortcutHandler runs a message shortcut.
type ShortcutHandler func(ctx context.Context, s Shortcut) (Reply, error)

// Router sends requests to commands and clicks to their handlers.
type Router struct {
	commands  []Command
	actions   map[string]ActionHandler
	checks    map[string]ActionCheck
	shortcuts map[string]ShortcutHandler
	views     map[string]ViewHandler
	reactions []ReactionHandler
	home      HomeHandler
}

// NewRouter builds a router from the commands Devy offers.
func NewRouter() *Router {
	return &Router{actions: map[string]ActionHandler{}, checks: map[string]ActionCheck{}, shortcuts: map[string]ShortcutHandler{}, views: map[string]ViewHandler{}}
}

// OnView registers the handler of a modal's callback id.
func (r *Router) OnView(callbackID string, h ViewHandler) { r.views[callbackID] = h }

// ValidateView checks a submission before Slack is answered. Unknown
// modals validate (there is nothing to show) and are dropped by SubmitView.
func (r *Router) ValidateView(v View) map[string]string {
	h, ok := r.views[v.CallbackID]
	if !ok || h.Validate == nil {
		return nil
	}
	return h.Validate(v)
}

// SubmitView runs a validated submission.
func (r *Router) SubmitView(ctx context.Context, v View) (reply Reply, err error) {
	defer recovered(&err, "form ", v.CallbackID)
	h, ok := r.views[v.CallbackID]
	if !ok {
		return Say("That form is not one I know how to handle."), nil
	}
	return h.Submit(ctx, v)
}

// OnReaction registers a handler for every reaction added.
func (r *Router) OnReaction(h ReactionHandler) { r.reactions = append(r.reactions, h) }

// React runs the reaction handlers; the first error is returned after all ran.
func (r *Router) React(ctx context.Context, re Reaction) error {
	var first error
	for _, h := range r.reactions {
		if err := h(ctx, re); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// OnShortcut registers the handler of a message shortcut's callback id.
func (r *Router) OnShortcut(callbackID string, h ShortcutHandler) { r.shortcuts[callbackID] = h }

// RunShortcut runs a message shortcut.
func (r *Router) RunShortcut(ctx context.Context, s Shortcut) (reply Reply, err error) {
	defer recovered(&err, "shortcut ", s.CallbackID)
	h, ok := r.shortcuts[s.CallbackID]
	if !ok {
		return Say("That shortcut is not one I know how to handle."), nil
	}
	return h(ctx, s)
}

// Add registers a command.
func (r *Router) Add(c Command) { r.commands = append(r.commands, c) }

// OnAction registers the handler of a button's action id.
func (r *Router) OnAction(actionID string, h ActionHandler) { r.actions[actionID] = h }

// OnPrecheck registers the check of a button's click (see ActionCheck).
func (r *Router) OnPrecheck(actionID string, c ActionCheck) { r.checks[actionID] = c }

// Precheck runs the check of a click, if its action has one: nil means the
// click may go on (the click still checks everything again).
func (r *Router) Precheck(ctx context.Context, a Action) (err error) {
	defer recovered(&err, "button check ", a.ActionID)
	if c, ok := r.checks[a.ActionID]; ok {
		return c(ctx, a)
	}
	return nil
}

// Commands lists the registered commands.
func (r *Router) Commands() []Command { return r.commands }

// Handle runs a request. Help, no arguments and unknown subcommands answer
// with usage; unknown commands list what Devy knows.
func (r *Router) Handle(ctx context.Context, req Request) (reply Reply, err error) {
	defer recovered(&err, "/", req.Command)
	name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(req.Command)), "/")
	cmd, ok := r.command(name)
	if !ok {
		return r.unknownCommand(name), nil
	}
	args := strings.Fields(req.Text)
	if len(args) == 0 && cmd.Bare != nil {
		return cmd.Bare(ctx, req, nil)
	}
	if len(args) == 0 || isHelp(args[0]) {
		return Say("%s", cmd.Usage()), nil
	}
	for _, s := range cmd.Subs {
		if strings.EqualFold(s.Name, args[0]) && s.Handler != nil {
			return s.Handler(ctx, req, args[1:])
		}
	}
	if cmd.Default != nil {
		return cmd.Default(ctx, req, args)
	}
	return Say("I don't know `/%s %s`.\n%s", cmd.Name, args[0], cmd.Usage()), nil
}

func isHelp(s string) bool {
	s = strings.ToLower(s)
	return s == "help" || s == "-h" || s == "--help" || s == "?"
}

func (r *Router) command(name string) (Command, bool) {
	for _, c := range r.commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func (r *Router) unknownCommand(name string) Reply {
	var names []string
	for _, c := range r.commands {
		names = append(names, "`"+c.Name+"`")
	}
	if name == "" || isHelp(name) {
		usages := []string{"I can help with " + strings.Join(names, ", ") + ". Each works as a slash command or as a mention (`@Devy deploy status`), which is how to ask in a thread."}
		for _, c := range r.commands {
			usages = append(usages, c.Usage())
		}
		return Say("%s", strings.Join(usages, "\n\n"))
	}
	return Say("I don't know `%s`; I can help with %s — try `@Devy %s help`.", name, strings.Join(names, ", "), r.commands[0].Name)
}

// Click runs a button click. Unknown action ids are answered, not crashed on:
// they come from old messages or tampered payloads.
func (r *Router) Click(ctx context.Context, a Action) (reply Reply, err error) {
	defer recovered(&err, "button ", a.ActionID)
	h, ok := r.actions[a.ActionID]
	if !ok {
		return Say("That button is no longer something I know how to handle."), nil
	}
	return h(ctx, a)
}

// recovered turns a handler's panic into its error, so that a bug in one
// command is answered as "something went wrong" and logged with its stack,
// rather than ending the process and every promotion it follows.
// kind and name are kept apart so that no string is built unless it panics.
func recovered(err *error, kind, name string) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("%s%s panicked: %v\n%s", kind, name, v, debug.Stack())
	}
}
