package commands

// Message is what Devy says, independent of Slack: a one-line text (the
// notification and fallback text, and the whole message when there are no
// blocks) and optional layout blocks. bot/ turns it into Block Kit; the shell
// turns it into plain text.
type Message struct {
	Text   string
	Blocks []Block
}

// Block is one piece of a message's layout.
type Block interface{ block() }

// Header is a large title line.
type Header struct{ Text string }

// Section is a paragraph of mrkdwn text with optional two-column fields.
type Section struct {
	Text   string
	Fields []string
}

// Context is small grey print under a section.
type Context struct{ Texts []string }

// Divider is a horizontal rule.
type Divider struct{}

// Actions is a row of buttons. ID becomes the Slack block_id, which Slack
// needs to route the click back as a block action.
type Actions struct {
	ID      string
	Buttons []Button
}

// Button is one clickable button. ActionID routes the click; Value carries
// what it acts on (for example a request id) and is checked on every click,
// because people can tamper with it.
type Button struct {
	ActionID string
	Text     string
	Value    string
	Style    string // "", "primary" or "danger"
	URL      string // a link button, if set
	Confirm  *Confirm
}

// Confirm is a "are you sure?" dialog shown before a click counts.
type Confirm struct {
	Title, Text, Yes, No string
}

func (Header) block()  {}
func (Section) block() {}
func (Context) block() {}
func (Divider) block() {}
func (Actions) block() {}

// Buttons lists every button of the message in order, for the shell's
// "click N".
func (m Message) Buttons() []Button {
	var out []Button
	for _, b := range m.Blocks {
		if a, ok := b.(Actions); ok {
			out = append(out, a.Buttons...)
		}
	}
	return out
}

// Reply is a command's answer to the person who asked.
type Reply struct {
	Message
	// Ephemeral replies are shown only to the person who asked; others are
	// posted where they asked (in the thread, for mentions).
	Ephemeral bool
}

// Empty reports whether there is nothing to say.
func (r Reply) Empty() bool { return r.Text == "" && len(r.Blocks) == 0 }

// Say is a reply of plain text visible only to the asker.
func Say(format string, args ...any) Reply {
	return Reply{Message: Message{Text: sprintf(format, args...)}, Ephemeral: true}
}
