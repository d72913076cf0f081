package check

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit's limits, from Slack's reference pages (docs.slack.dev/
// reference/block-kit/…) as summarised in api-facts.md §9 and trap 28.
// Slack answers invalid_blocks (or drops the message) beyond them, so they
// are checked on every message, update and view Devy sends.
const (
	blocksPage   = "docs.slack.dev/reference/block-kit/blocks"
	elementsPage = "docs.slack.dev/reference/block-kit/block-elements"
	objectsPage  = "docs.slack.dev/reference/block-kit/composition-objects"
	chatPage     = "api.slack.com/methods/chat.postMessage"
	viewsPage    = "docs.slack.dev/reference/views"

	MaxMessageBlocks   = 50
	MaxViewBlocks      = 100
	MaxSectionText     = 3000
	MaxSectionFields   = 10
	MaxFieldText       = 2000
	MaxHeaderText      = 150
	MaxButtonText      = 75
	MaxButtonValue     = 2000
	MaxID              = 255 // action_id, block_id, callback_id
	MaxContextElements = 10
	MaxActionsElements = 25
	MaxMessageText     = 40000
	MaxViewTitle       = 24
	MaxOptionText      = 75
	MaxOptionValue     = 150
	MaxConfirmTitle    = 100
	MaxConfirmText     = 300
	MaxConfirmButton   = 30
	MaxPrivateMetadata = 3000
	MaxInputLabel      = 2000
)

// MessageText checks a message's top-level text.
func MessageText(text string) []Violation {
	if n := utf8.RuneCountInString(text); n > MaxMessageText {
		return []Violation{{chatPage, fmt.Sprintf("message text at most %d characters", MaxMessageText), fmt.Sprint(n)}}
	}
	return nil
}

// MessageBlocks checks the blocks of a message (a JSON array).
func MessageBlocks(raw string) []Violation {
	return checkBlocks(raw, MaxMessageBlocks, "a message")
}

// View checks a view (modal or Home tab), given as JSON.
func View(raw string) []Violation {
	var v struct {
		Type            string          `json:"type"`
		Title           *textObject     `json:"title"`
		Submit          *textObject     `json:"submit"`
		Close           *textObject     `json:"close"`
		CallbackID      string          `json:"callback_id"`
		PrivateMetadata string          `json:"private_metadata"`
		Blocks          json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return []Violation{{viewsPage, "a view must be a JSON object", err.Error()}}
	}
	var out []Violation
	if v.Type == "modal" {
		for name, t := range map[string]*textObject{"title": v.Title, "submit": v.Submit, "close": v.Close} {
			if t != nil {
				out = append(out, maxLen(viewsPage, "modal "+name, t.Text, MaxViewTitle)...)
			}
		}
		if v.Title == nil {
			out = append(out, Violation{viewsPage, "a modal needs a title", "none"})
		}
	}
	out = append(out, maxLen(viewsPage, "callback_id", v.CallbackID, MaxID)...)
	out = append(out, maxLen(viewsPage, "private_metadata", v.PrivateMetadata, MaxPrivateMetadata)...)
	if len(v.Blocks) > 0 {
		out = append(out, checkBlocks(string(v.Blocks), MaxViewBlocks, "a "+v.Type+" view")...)
	}
	return out
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type element struct {
	Type     string          `json:"type"`
	ActionID string          `json:"action_id"`
	Text     *textObject     `json:"text"`
	Value    *string         `json:"value"`
	Confirm  *confirmObject  `json:"confirm"`
	Options  []option        `json:"options"`
	Raw      json.RawMessage `json:"-"`
}

type option struct {
	Text  *textObject `json:"text"`
	Value string      `json:"value"`
}

type confirmObject struct {
	Title   *textObject `json:"title"`
	Text    *textObject `json:"text"`
	Confirm *textObject `json:"confirm"`
	Deny    *textObject `json:"deny"`
}

type block struct {
	Type     string          `json:"type"`
	BlockID  string          `json:"block_id"`
	Text     *textObject     `json:"text"`
	Fields   []textObject    `json:"fields"`
	Elements json.RawMessage `json:"elements"`
	Element  *element        `json:"element"`
	Label    *textObject     `json:"label"`
	Hint     *textObject     `json:"hint"`
}

func checkBlocks(raw string, maxBlocks int, surface string) []Violation {
	if raw == "" || raw == "null" {
		return nil
	}
	var blocks []block
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return []Violation{{blocksPage, "blocks must be a JSON array of blocks", err.Error()}}
	}
	var out []Violation
	if len(blocks) > maxBlocks {
		out = append(out, Violation{blocksPage, fmt.Sprintf("at most %d blocks in %s", maxBlocks, surface), fmt.Sprint(len(blocks))})
	}
	for i, b := range blocks {
		where := fmt.Sprintf("block %d (%s)", i, b.Type)
		out = append(out, maxLen(blocksPage, where+" block_id", b.BlockID, MaxID)...)
		switch b.Type {
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				out = append(out, Violation{blocksPage, where + " needs text or fields", "neither"})
			}
			if b.Text != nil {
				out = append(out, minMax(blocksPage, where+" text", b.Text.Text, 1, MaxSectionText)...)
			}
			if len(b.Fields) > MaxSectionFields {
				out = append(out, Violation{blocksPage, fmt.Sprintf("%s at most %d fields", where, MaxSectionFields), fmt.Sprint(len(b.Fields))})
			}
			for j, f := range b.Fields {
				out = append(out, minMax(blocksPage, fmt.Sprintf("%s field %d", where, j), f.Text, 1, MaxFieldText)...)
			}
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				out = append(out, Violation{blocksPage, where + " text must be plain_text", "missing or mrkdwn"})
			} else {
				out = append(out, minMax(blocksPage, where+" text", b.Text.Text, 1, MaxHeaderText)...)
			}
		case "context":
			var els []json.RawMessage
			_ = json.Unmarshal(b.Elements, &els)
			if len(els) == 0 || len(els) > MaxContextElements {
				out = append(out, Violation{blocksPage, fmt.Sprintf("%s needs 1 to %d elements", where, MaxContextElements), fmt.Sprint(len(els))})
			}
		case "actions":
			var els []element
			_ = json.Unmarshal(b.Elements, &els)
			if len(els) == 0 || len(els) > MaxActionsElements {
				out = append(out, Violation{blocksPage, fmt.Sprintf("%s needs 1 to %d elements", where, MaxActionsElements), fmt.Sprint(len(els))})
			}
			for j, e := range els {
				out = append(out, checkElement(fmt.Sprintf("%s element %d", where, j), e)...)
			}
		case "input":
			if b.Label == nil {
				out = append(out, Violation{blocksPage, where + " needs a label", "none"})
			} else {
				out = append(out, minMax(blocksPage, where+" label", b.Label.Text, 1, MaxInputLabel)...)
			}
			if b.Hint != nil {
				out = append(out, maxLen(blocksPage, where+" hint", b.Hint.Text, MaxInputLabel)...)
			}
			if b.Element == nil {
				out = append(out, Violation{blocksPage, where + " needs an element", "none"})
			} else {
				out = append(out, checkElement(where+" element", *b.Element)...)
			}
		}
	}
	return out
}

func checkElement(where string, e element) []Violation {
	var out []Violation
	out = append(out, maxLen(elementsPage, where+" action_id", e.ActionID, MaxID)...)
	if e.Type == "button" {
		if e.Text == nil || e.Text.Type != "plain_text" {
			out = append(out, Violation{elementsPage, where + " button text must be plain_text", "missing or mrkdwn"})
		} else {
			out = append(out, minMax(elementsPage, where+" button text", e.Text.Text, 1, MaxButtonText)...)
		}
		if e.Value != nil {
			out = append(out, maxLen(elementsPage, where+" button value", *e.Value, MaxButtonValue)...)
		}
	}
	for k, o := range e.Options {
		if o.Text != nil {
			out = append(out, maxLen(objectsPage, fmt.Sprintf("%s option %d text", where, k), o.Text.Text, MaxOptionText)...)
		}
		out = append(out, maxLen(objectsPage, fmt.Sprintf("%s option %d value", where, k), o.Value, MaxOptionValue)...)
	}
	if c := e.Confirm; c != nil {
		for _, x := range []struct {
			name string
			t    *textObject
			max  int
		}{{"title", c.Title, MaxConfirmTitle}, {"text", c.Text, MaxConfirmText}, {"confirm", c.Confirm, MaxConfirmButton}, {"deny", c.Deny, MaxConfirmButton}} {
			if x.t != nil {
				out = append(out, maxLen(objectsPage, where+" confirm "+x.name, x.t.Text, x.max)...)
			}
		}
	}
	return out
}

func maxLen(page, what, s string, max int) []Violation {
	if n := utf8.RuneCountInString(s); n > max {
		return []Violation{{page, fmt.Sprintf("%s at most %d characters", what, max), fmt.Sprint(n)}}
	}
	return nil
}

func minMax(page, what, s string, min, max int) []Violation {
	if n := utf8.RuneCountInString(s); n < min {
		return []Violation{{page, fmt.Sprintf("%s at least %d character", what, min), fmt.Sprint(n)}}
	}
	return maxLen(page, what, s, max)
}
