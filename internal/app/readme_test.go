package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/internal/waitfor"
)

// promptRE is the shell's prompt, `NAME in #CHANNEL> `, at the start of a
// line: in the README it is followed by what was typed.
var promptRE = regexp.MustCompile(`^([A-Za-z0-9._-]+) in #([A-Za-z0-9._-]+)> ?`)

// transcriptStep is one typed line of a README transcript and the output
// the README shows for it, with the README's line numbers.
type transcriptStep struct {
	line   int    // of the typed command
	prompt string // "alice in #devy>"
	typed  string
	want   []readmeLine
}

type readmeLine struct {
	n    int
	text string
}

// readmeTranscripts reads the ```text blocks of the README that are shell
// transcripts (they hold a prompt line), each as its steps.
func readmeTranscripts(t *testing.T, path string) [][]transcriptStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open the README: %v", err)
	}
	defer f.Close()
	var (
		all     [][]transcriptStep
		block   []transcriptStep
		inBlock bool
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case !inBlock && strings.TrimSpace(l) == "```text":
			inBlock, block = true, nil
		case inBlock && strings.TrimSpace(l) == "```":
			inBlock = false
			if len(block) > 0 {
				all = append(all, block)
			}
		case inBlock && promptRE.MatchString(l):
			m := promptRE.FindString(l)
			block = append(block, transcriptStep{line: n, prompt: strings.TrimSpace(m), typed: strings.TrimSpace(l[len(m):])})
		case inBlock && len(block) > 0:
			block[len(block)-1].want = append(block[len(block)-1].want, readmeLine{n: n, text: l})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the README: %v", err)
	}
	return all
}

// timeRE matches what differs from run to run: relative times ("just now",
// "2 minutes ago", "in 30 min") and dates ("Dec 7 08:13 UTC").
var timeRE = regexp.MustCompile(`just now|\d+ (?:seconds?|minutes?|min|hours?|h|days?|d) ago|[A-Z][a-z]{2} \d{1,2} \d{2}:\d{2}(?: UTC)?|\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?Z?)?`)

// normalize makes a line comparable: times become one placeholder,
// trailing spaces and a leading prompt go.
func normalize(l string) string {
	l = promptRE.ReplaceAllString(l, "")
	return strings.TrimRight(timeRE.ReplaceAllString(l, "<time>"), " ")
}

// outputLines is the shell's output as the README writes it: no prompts
// (the shell redraws them between messages), no blank lines.
func outputLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = normalize(l); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// matchLines reports whether got is want, where a want line "…" stands for
// any number of lines; otherwise it returns the first want line that does
// not match (or -1 when got has lines want lacks).
func matchLines(want []readmeLine, got []string) (ok bool, bad int) {
	var wantN []readmeLine
	for _, w := range want {
		if strings.TrimSpace(w.text) != "" {
			wantN = append(wantN, readmeLine{n: w.n, text: normalize(w.text)})
		}
	}
	// best is the furthest want line reached, to say where it went wrong.
	best := 0
	var match func(i, j int) bool
	match = func(i, j int) bool {
		best = max(best, i)
		if i == len(wantN) {
			return j == len(got)
		}
		if strings.TrimSpace(wantN[i].text) == "…" {
			for k := j; k <= len(got); k++ {
				if match(i+1, k) {
					return true
				}
			}
			return false
		}
		return j < len(got) && wantN[i].text == got[j] && match(i+1, j+1)
	}
	if match(0, 0) {
		return true, 0
	}
	if best < len(wantN) {
		return false, wantN[best].n
	}
	return false, -1
}

// timeout lets a wait end without failing the test, so the test can say
// which README line differs instead (waitfor.TB).
type timeout struct{ hit bool }

func (t *timeout) Helper()               {}
func (t *timeout) Fatalf(string, ...any) { t.hit = true }

// TestReadmeTranscripts replays each shell transcript of the README in the
// sandbox shell, as `go run . shell` runs it, and compares what the shell
// shows with what the README says it shows. A README line "…" stands for
// any number of lines; times and dates match any time. A failure names the
// README line that differs.
func TestReadmeTranscripts(t *testing.T) {
	blocks := readmeTranscripts(t, "../../README.md")
	if len(blocks) == 0 {
		t.Fatal("the README has no shell transcripts")
	}
	for _, steps := range blocks {
		t.Run(fmt.Sprintf("README.md:%d", steps[0].line), func(t *testing.T) {
			replayTranscript(t, steps)
		})
	}
}

func replayTranscript(t *testing.T, steps []transcriptStep) {
	in, keys := io.Pipe()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"shell"}, func(string) string { return "" }, in, out, io.Discard) }()
	defer func() {
		keys.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shell returned %v", err)
		}
	}()
	waitfor.True(t, "the shell's first prompt", func() bool { return promptRE.MatchString(lastLine(out.String())) })
	for _, st := range steps {
		if got := strings.TrimSpace(lastLine(out.String())); got != st.prompt {
			t.Fatalf("README.md:%d: the README's prompt is %q, the shell's is %q", st.line, st.prompt, got)
		}
		from := len(out.String())
		fmt.Fprintln(keys, st.typed)
		var got []string
		var (
			bad int
			ok  bool
		)
		wait := &timeout{}
		waitfor.True(wait, "the README's output", func() bool {
			got = outputLines(out.String()[from:])
			ok, bad = matchLines(st.want, got)
			// The step is over once its output matches and the shell
			// waits at a prompt again.
			return ok && promptRE.MatchString(lastLine(out.String()[from:]))
		})
		if wait.hit && ok {
			t.Fatalf("README.md:%d: the shell showed the README's output of %q but no prompt after it", lastWantLine(st), st.typed)
		}
		if wait.hit {
			where := fmt.Sprintf("README.md:%d", bad)
			if bad < 0 {
				where = fmt.Sprintf("after README.md:%d", lastWantLine(st))
			}
			t.Fatalf("%s: the output of %q (README.md:%d) differs from the README there; the shell showed:\n%s",
				where, st.typed, st.line, strings.Join(got, "\n"))
		}
	}
}

// lastLine is the text after the last newline: the prompt the shell waits at.
func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }

func lastWantLine(st transcriptStep) int {
	if len(st.want) == 0 {
		return st.line
	}
	return st.want[len(st.want)-1].n
}
