package bot

import (
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/devy-chatops/devy/commands"
)

// blocks turns a Message's layout into Slack Block Kit.
func blocks(m commands.Message) []slack.Block {
	var out []slack.Block
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case commands.Header:
			out = append(out, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, clip(b.Text, 150), true, false)))
		case commands.Section:
			var text *slack.TextBlockObject
			if b.Text != "" {
				text = slack.NewTextBlockObject(slack.MarkdownType, clip(b.Text, 3000), false, false)
			}
			var fields []*slack.TextBlockObject
			for _, f := range b.Fields {
				fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, clip(f, 2000), false, false))
			}
			if text == nil && len(fields) == 0 {
				continue
			}
			out = append(out, slack.NewSectionBlock(text, fields, nil))
		case commands.Context:
			var els []slack.MixedElement
			for _, t := range b.Texts {
				els = append(els, slack.NewTextBlockObject(slack.MarkdownType, clip(t, 2000), false, false))
			}
			if len(els) > 0 {
				out = append(out, slack.NewContextBlock("", els...))
			}
		case commands.Divider:
			out = append(out, slack.NewDividerBlock())
		case commands.Actions:
			var els []slack.BlockElement
			for _, btn := range b.Buttons {
				e := slack.NewButtonBlockElement(btn.ActionID, btn.Value, slack.NewTextBlockObject(slack.PlainTextType, clip(btn.Text, 75), true, false))
				if btn.Style != "" {
					e.Style = slack.Style(btn.Style)
				}
				if btn.URL != "" {
					e.URL = btn.URL
				}
				if c := btn.Confirm; c != nil {
					e.Confirm = slack.NewConfirmationBlockObject(
						slack.NewTextBlockObject(slack.PlainTextType, c.Title, false, false),
						slack.NewTextBlockObject(slack.MarkdownType, c.Text, false, false),
						slack.NewTextBlockObject(slack.PlainTextType, c.Yes, false, false),
						slack.NewTextBlockObject(slack.PlainTextType, c.No, false, false),
					)
				}
				els = append(els, e)
			}
			if len(els) > 0 {
				out = append(out, slack.NewActionBlock(b.ID, els...))
			}
		}
	}
	return out
}

// clip keeps text within Block Kit's per-field limits; Slack rejects the
// whole message otherwise.
func clip(s string, max int) string {
	// Every message passes through here; most are far below the limits,
	// and counting bytes is free where converting to runes is not.
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// msgOptions are the options that carry a message's text and blocks.
func msgOptions(m commands.Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(clip(m.Text, 3000), false)}
	if bs := blocks(m); len(bs) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(bs...))
	}
	return opts
}
