package shell

import (
	"context"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/commands"
)

// echoShell is a shell whose only command, /echo, records what it was given,
// and whose form (opened by /form) records whether it was sent.
func echoShell(out *strings.Builder) (sh *Shell, got *string, sent *bool) {
	got, sent = new(string), new(bool)
	r := commands.NewRouter()
	sh = New(r, out, "alice", "devy")
	r.Add(commands.Command{Name: "echo", Summary: "says it back", Default: func(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
		*got = req.Text
		return commands.Reply{}, nil
	}})
	r.Add(commands.Command{Name: "form", Summary: "asks", Bare: func(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
		return commands.Reply{}, sh.OpenModal(ctx, "", commands.Modal{CallbackID: "f", Title: "Severity", Channel: req.ChannelID, Inputs: []commands.Input{
			{ID: "sev", Label: "Severity", Kind: commands.InputSelect, Options: []commands.Option{{Value: "SEV1", Text: "SEV1"}, {Value: "SEV2", Text: "SEV2"}}},
		}})
	}})
	r.OnView("f", commands.ViewHandler{Submit: func(ctx context.Context, v commands.View) (commands.Reply, error) {
		*sent = true
		return commands.Reply{}, nil
	}})
	return sh, got, sent
}

// TestShellMentions: an @name typed in a command reaches it as Slack sends
// a mention, <@id>; the shell's user ids are names.
func TestShellMentions(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{name: "slash command", line: "/echo commander @bob", want: "commander <@bob>"},
		{name: "mention", line: "@devy echo commander @bob", want: "commander <@bob>"},
		{name: "several, with punctuation", line: "/echo asked @carol, then @dan.smith. (@erin)", want: "asked <@carol>, then <@dan.smith>. (<@erin>)"},
		{name: "e-mail address", line: "/echo mail bob@example.com", want: "mail bob@example.com"},
		{name: "already escaped", line: "/echo commander <@bob>", want: "commander <@bob>"},
		{name: "not a person", line: "/echo ping @here and @channel", want: "ping @here and @channel"},
		{name: "a lone @", line: "/echo lunch @ noon", want: "lunch @ noon"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			sh, got, _ := echoShell(&out)
			sh.Do(context.Background(), tc.line)
			if *got != tc.want {
				t.Errorf("%q reached the command as %q, want %q", tc.line, *got, tc.want)
			}
		})
	}
}

// TestShellLeavesForm: quitting while a form asks its questions leaves the
// shell and drops the form unsent, instead of taking `quit` as an answer.
func TestShellLeavesForm(t *testing.T) {
	tests := []struct {
		name, input string
		wantSent    bool
	}{
		{name: "quit", input: "/form\nquit\n1\n"},
		{name: "exit", input: "/form\n  exit\n1\n"},
		{name: "end of input", input: "/form\n"},
		{name: "answered", input: "/form\n2\nquit\n", wantSent: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			sh, _, sent := echoShell(&out)
			if err := sh.Run(context.Background(), strings.NewReader(tc.input)); err != nil {
				t.Fatalf("Run returned %v", err)
			}
			if *sent != tc.wantSent {
				t.Errorf("form sent = %v, want %v; the shell showed:\n%s", *sent, tc.wantSent, out.String())
			}
			if strings.Contains(out.String(), "Please answer") {
				t.Errorf("the shell took a line for an answer:\n%s", out.String())
			}
			if dropped := strings.Contains(out.String(), `(form "Severity" not sent)`); dropped == tc.wantSent {
				t.Errorf("said the form was not sent = %v, want %v:\n%s", dropped, !tc.wantSent, out.String())
			}
		})
	}
}
