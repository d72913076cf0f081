package fakeslack

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits Slack enforces [DOC api.slack.com/reference/block-kit].
// The fake checks the ones a bot trips over in practice, so a message that
// Slack would refuse with invalid_blocks is refused here too.
const (
	maxMessageBlocks  = 50
	maxViewBlocks     = 100
	maxSectionText    = 3000
	maxSectionFields  = 10
	maxFieldText      = 2000
	maxHeaderText     = 150
	maxActionElements = 25
	maxContextElems   = 10
	maxButtonText     = 75
	maxButtonValue    = 2000
	maxIDLength       = 255
)

type block map[string]json.RawMessage

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// validateBlocks returns Slack-style problems ("… [json-pointer:/blocks/0/…]")
// for blocks, or an error when it is not a JSON array of objects.
func validateBlocks(raw json.RawMessage, limit int) ([]string, error) {
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, err
	}
	var problems []string
	add := func(ptr, format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...)+" [json-pointer:/blocks"+ptr+"]")
	}
	if len(blocks) > limit {
		add("", "no more than %d items allowed", limit)
	}
	seenBlockIDs := map[string]bool{}
	for i, b := range blocks {
		at := fmt.Sprintf("/%d", i)
		var typ, blockID string
		if json.Unmarshal(b["type"], &typ) != nil || typ == "" {
			add(at+"/type", "missing required field: type")
			continue
		}
		if raw, ok := b["block_id"]; ok {
			_ = json.Unmarshal(raw, &blockID)
			if utf8.RuneCountInString(blockID) > maxIDLength {
				add(at+"/block_id", "must be less than %d characters", maxIDLength+1)
			}
			if seenBlockIDs[blockID] {
				add(at+"/block_id", "duplicate block_id")
			}
			seenBlockIDs[blockID] = true
		}
		switch typ {
		case "section":
			_, hasText := b["text"]
			_, hasFields := b["fields"]
			if !hasText && !hasFields {
				add(at, "must provide either text or fields")
			}
			if hasText {
				checkText(b["text"], at+"/text", maxSectionText, false, add)
			}
			var fields []json.RawMessage
			_ = json.Unmarshal(b["fields"], &fields)
			if len(fields) > maxSectionFields {
				add(at+"/fields", "no more than %d items allowed", maxSectionFields)
			}
			for j, f := range fields {
				checkText(f, fmt.Sprintf("%s/fields/%d", at, j), maxFieldText, false, add)
			}
			if acc, ok := b["accessory"]; ok {
				checkElement(acc, at+"/accessory", map[string]bool{}, add)
			}
		case "header":
			checkText(b["text"], at+"/text", maxHeaderText, true, add)
		case "actions":
			var elems []json.RawMessage
			_ = json.Unmarshal(b["elements"], &elems)
			if len(elems) == 0 {
				add(at+"/elements", "must provide at least 1 items")
			}
			if len(elems) > maxActionElements {
				add(at+"/elements", "no more than %d items allowed", maxActionElements)
			}
			seenActions := map[string]bool{}
			for j, e := range elems {
				checkElement(e, fmt.Sprintf("%s/elements/%d", at, j), seenActions, add)
			}
		case "context":
			var elems []json.RawMessage
			_ = json.Unmarshal(b["elements"], &elems)
			if len(elems) == 0 {
				add(at+"/elements", "must provide at least 1 items")
			}
			if len(elems) > maxContextElems {
				add(at+"/elements", "no more than %d items allowed", maxContextElems)
			}
		}
	}
	return problems, nil
}

func checkText(raw json.RawMessage, at string, limit int, plainOnly bool, add func(string, string, ...any)) {
	var t textObject
	if raw == nil || json.Unmarshal(raw, &t) != nil {
		add(at, "must provide an object")
		return
	}
	switch {
	case t.Type != "plain_text" && t.Type != "mrkdwn":
		add(at+"/type", "must be one of [plain_text, mrkdwn]")
	case plainOnly && t.Type != "plain_text":
		add(at+"/type", "must be plain_text")
	}
	n := utf8.RuneCountInString(t.Text)
	if n == 0 {
		add(at+"/text", "must be more than 0 characters")
	}
	if n > limit {
		add(at+"/text", "must be less than %d characters", limit+1)
	}
}

func checkElement(raw json.RawMessage, at string, seenActions map[string]bool, add func(string, string, ...any)) {
	var e struct {
		Type     string          `json:"type"`
		ActionID string          `json:"action_id"`
		Text     json.RawMessage `json:"text"`
		Value    string          `json:"value"`
	}
	if json.Unmarshal(raw, &e) != nil || e.Type == "" {
		add(at+"/type", "missing required field: type")
		return
	}
	if utf8.RuneCountInString(e.ActionID) > maxIDLength {
		add(at+"/action_id", "must be less than %d characters", maxIDLength+1)
	}
	if e.ActionID != "" {
		if seenActions[e.ActionID] {
			add(at+"/action_id", "duplicate action_id")
		}
		seenActions[e.ActionID] = true
	}
	if e.Type == "button" {
		checkText(e.Text, at+"/text", maxButtonText, true, add)
		if utf8.RuneCountInString(e.Value) > maxButtonValue {
			add(at+"/value", "must be less than %d characters", maxButtonValue+1)
		}
	}
}

// element is an interactive element found in a message's blocks.
type element struct {
	blockID, actionID, typ, value, text string
}

// findElement looks for the element with actionID in blocks (actions
// elements and section accessories), returning its block's block_id.
func findElement(blocks json.RawMessage, actionID string) (element, bool) {
	var bs []struct {
		BlockID   string            `json:"block_id"`
		Elements  []json.RawMessage `json:"elements"`
		Accessory json.RawMessage   `json:"accessory"`
	}
	if json.Unmarshal(blocks, &bs) != nil {
		return element{}, false
	}
	for _, b := range bs {
		candidates := b.Elements
		if b.Accessory != nil {
			candidates = append(candidates, b.Accessory)
		}
		for _, raw := range candidates {
			var e struct {
				Type     string     `json:"type"`
				ActionID string     `json:"action_id"`
				Value    string     `json:"value"`
				Text     textObject `json:"text"`
			}
			if json.Unmarshal(raw, &e) == nil && e.ActionID == actionID {
				return element{blockID: b.BlockID, actionID: e.ActionID, typ: e.Type, value: e.Value, text: e.Text.Text}, true
			}
		}
	}
	return element{}, false
}
