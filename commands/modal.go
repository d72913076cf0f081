package commands

import (
	"context"
	"errors"
)

// Modal is a form Devy asks someone to fill in (Slack shows it as a modal;
// the shell asks field by field).
type Modal struct {
	CallbackID string // routes the submission
	Title      string // at most 24 characters
	Submit     string // the submit button's label
	Channel    string // where replies to the submission go
	// ResponseURL, from the command or click that opened the form, answers
	// the submission where Devy is no member (chat.postEphemeral needs one).
	ResponseURL string
	Metadata    string // anything the submit handler needs back
	Inputs      []Input
}

// Input kinds.
const (
	InputText        = "text"
	InputMultiline   = "multiline"
	InputSelect      = "select"
	InputMultiSelect = "multiselect"
)

// Input is one field of a modal. ID names it in the submission.
type Input struct {
	ID       string
	Label    string
	Hint     string
	Kind     string
	Options  []Option // for selects
	Initial  string   // initial value (for selects: the option value)
	Optional bool
}

// Option is one choice of a select.
type Option struct{ Value, Text string }

// View is a submitted modal.
type View struct {
	CallbackID string
	UserID     string
	Channel    string
	Metadata   string
	Values     map[string][]string // input id → value(s)
}

// Value is the single value of an input, or "".
func (v View) Value(id string) string {
	if vs := v.Values[id]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Modals opens modals.
type Modals interface {
	OpenModal(ctx context.Context, triggerID string, m Modal) error
}

// ViewHandler handles a modal's submission in two steps. Validate runs
// before Slack is answered — it must be quick and do no I/O — and returns
// input id → message for every field that must be corrected (the modal stays
// open showing them). Submit does the work afterwards.
type ViewHandler struct {
	Validate func(v View) map[string]string
	Submit   func(ctx context.Context, v View) (Reply, error)
}

// Reaction is an emoji reaction added to a message.
type Reaction struct {
	UserID    string
	Emoji     string // without colons, e.g. "pushpin"
	ChannelID string
	MessageTS string
}

// ReactionHandler handles a reaction.
type ReactionHandler func(ctx context.Context, r Reaction) error

// ErrNameTaken is returned by Channels.CreateChannel when the name is in use.
var ErrNameTaken = errors.New("channel name taken")

// Channels manages Slack channels.
type Channels interface {
	// CreateChannel creates a public channel and returns its id, or
	// ErrNameTaken.
	CreateChannel(ctx context.Context, name string) (string, error)
	Invite(ctx context.Context, channelID string, users ...string) error
}
