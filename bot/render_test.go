package bot

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/devy-chatops/devy/commands"
)

func TestBlocksAreValidBlockKit(t *testing.T) {
	m := commands.Message{Text: "fallback", Blocks: []commands.Block{
		commands.Header{Text: strings.Repeat("h", 200)},
		commands.Section{Text: "*bold*", Fields: []string{"a", "b"}},
		commands.Section{}, // empty: dropped, Slack rejects it
		commands.Context{Texts: []string{"small"}},
		commands.Divider{},
		commands.Actions{ID: "deploy.request.1", Buttons: []commands.Button{
			{ActionID: "deploy.approve", Text: "Approve", Value: "1", Style: "primary", Confirm: &commands.Confirm{Title: "Sure?", Text: "Really", Yes: "Yes", No: "No"}},
			{ActionID: "deploy.reject", Text: "Reject", Value: "1", Style: "danger"},
		}},
	}}
	bs := blocks(m)
	if len(bs) != 5 {
		t.Fatalf("%d blocks, want 5 (the empty section dropped)", len(bs))
	}
	raw, err := json.Marshal(slack.Blocks{BlockSet: bs})
	if err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	header := decoded[0]["text"].(map[string]any)["text"].(string)
	if n := len([]rune(header)); n > 150 {
		t.Errorf("header is %d characters; Slack allows 150", n)
	}
	actions := decoded[4]
	if actions["type"] != "actions" || actions["block_id"] != "deploy.request.1" {
		t.Fatalf("actions block: %v", actions)
	}
	approve := actions["elements"].([]any)[0].(map[string]any)
	if approve["action_id"] != "deploy.approve" || approve["value"] != "1" || approve["style"] != "primary" {
		t.Errorf("approve button: %v", approve)
	}
	confirm := approve["confirm"].(map[string]any)
	if confirm["title"].(map[string]any)["type"] != "plain_text" || confirm["confirm"].(map[string]any)["text"] != "Yes" {
		t.Errorf("confirm dialog: %v", confirm)
	}
}

func TestMentionPrefixIsStripped(t *testing.T) {
	for in, want := range map[string]string{
		"<@U0DEVY> deploy status":          "deploy status",
		"<@U0DEVY|devy>   reviewapp 7":     "reviewapp 7",
		"<@U0DEVY> <@U0OTHER> deploy help": "deploy help",
		"deploy status":                    "deploy status",
		"hey <@U0DEVY> deploy status":      "deploy status",
		"deploy status <@U0DEVY>":          "deploy status <@U0DEVY>",
	} {
		if got := strings.TrimSpace(mentionText(in)); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func TestClipCountsCharactersNotBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"ééééé", 5, "ééééé"}, // 10 bytes, 5 characters: fits
		{"éééééé", 5, "éééé…"},
		{"", 3, ""},
	} {
		if got := clip(c.in, c.max); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}
