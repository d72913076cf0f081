package shell

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/devy-chatops/devy/commands"
)

// form is a modal being filled in at the prompt, one input per line.
type form struct {
	modal   commands.Modal
	user    string
	next    int
	answers map[string][]string
}

// OpenModal turns a modal into questions asked at the prompt
// (commands.Modals).
func (s *Shell) OpenModal(ctx context.Context, triggerID string, m commands.Modal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.form = &form{modal: m, user: s.user, answers: map[string][]string{}}
	fmt.Fprintf(s.out, "\n[form: %s] Answer each question; an empty line skips an optional one, `cancel` stops.\n", m.Title)
	s.askLocked()
	return nil
}

// askLocked prints the current question. Callers hold s.mu.
func (s *Shell) askLocked() {
	in := s.form.modal.Inputs[s.form.next]
	q := in.Label
	if in.Optional {
		q += " (optional)"
	}
	if in.Hint != "" {
		q += " — " + in.Hint
	}
	fmt.Fprintf(s.out, "%s\n", q)
	for i, o := range in.Options {
		preset := ""
		if o.Value == in.Initial {
			preset = "   (preset: an empty line keeps it)"
		}
		fmt.Fprintf(s.out, "  %d. %s%s\n", i+1, o.Text, preset)
	}
	if in.Kind == commands.InputMultiSelect {
		fmt.Fprintf(s.out, "  (numbers separated by commas)\n")
	}
	if in.Kind == commands.InputMultiline {
		fmt.Fprintf(s.out, "  (one line; write \\n for a line break)\n")
	}
}

// dropForm closes the open form, if any, without sending it.
func (s *Shell) dropForm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.form != nil {
		fmt.Fprintf(s.out, "\n(form %q not sent)\n", s.form.modal.Title)
		s.form = nil
	}
}

// answer takes one typed line for the open form and reports whether a form
// was open.
func (s *Shell) answer(ctx context.Context, line string) bool {
	s.mu.Lock()
	f := s.form
	if f == nil {
		s.mu.Unlock()
		return false
	}
	if strings.TrimSpace(line) == "cancel" {
		s.form = nil
		fmt.Fprintf(s.out, "Form cancelled.\n")
		s.mu.Unlock()
		return true
	}
	if isCommand(line) {
		// A command typed at a question is meant as a command: answering
		// the form with it would, for example, title an incident
		// "/incident open …".
		s.form = nil
		fmt.Fprintf(s.out, "(form %q not sent: running your command instead)\n", f.modal.Title)
		s.mu.Unlock()
		return false
	}
	in := f.modal.Inputs[f.next]
	vals, ok := parseAnswer(in, line)
	if !ok {
		fmt.Fprintf(s.out, "Please answer with one of the numbers shown.\n")
		s.askLocked()
		s.mu.Unlock()
		return true
	}
	if len(vals) == 0 && !in.Optional {
		fmt.Fprintf(s.out, "This one is required.\n")
		s.askLocked()
		s.mu.Unlock()
		return true
	}
	f.answers[in.ID] = vals
	f.next++
	if f.next < len(f.modal.Inputs) {
		s.askLocked()
		s.mu.Unlock()
		return true
	}
	s.form = nil
	s.mu.Unlock()

	v := commands.View{CallbackID: f.modal.CallbackID, UserID: f.user, Channel: f.modal.Channel, Metadata: f.modal.Metadata, Values: f.answers}
	if errs := s.router.ValidateView(v); len(errs) > 0 {
		for id, msg := range errs {
			s.printf("%s: %s\n", id, msg)
		}
		s.printf("The form was not sent; run the command again.\n")
		return true
	}
	reply, err := s.router.SubmitView(ctx, v)
	if err != nil {
		reply, _ = commands.ErrorReply(err, "shell")
	}
	s.show(f.modal.Channel, reply)
	return true
}

// isCommand reports whether a line typed while a form is open is one of
// Devy's commands rather than an answer.
func isCommand(line string) bool {
	word, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch strings.ToLower(word) {
	case "/deploy", "/reviewapp", "/incident", "@devy":
		return true
	}
	return false
}

func parseAnswer(in commands.Input, line string) ([]string, bool) {
	line = strings.TrimSpace(line)
	if line == "" {
		if in.Initial != "" {
			return []string{in.Initial}, true
		}
		return nil, true
	}
	switch in.Kind {
	case commands.InputSelect, commands.InputMultiSelect:
		var out []string
		for _, part := range strings.Split(line, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || n < 1 || n > len(in.Options) {
				return nil, false
			}
			out = append(out, in.Options[n-1].Value)
			if in.Kind == commands.InputSelect {
				break
			}
		}
		return out, true
	case commands.InputMultiline:
		return []string{strings.ReplaceAll(line, `\n`, "\n")}, true
	}
	return []string{line}, true
}

// CreateChannel: in the shell a channel's id is its name (commands.Channels).
func (s *Shell) CreateChannel(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[name] {
		return "", commands.ErrNameTaken
	}
	s.channels[name] = true
	fmt.Fprintf(s.out, "\n(#%s was created)\n", name)
	return name, nil
}

// Invite prints who joined (commands.Channels).
func (s *Shell) Invite(ctx context.Context, channel string, users ...string) error {
	s.printf("(invited %s to #%s)\n", strings.Join(users, ", "), channel)
	return nil
}
