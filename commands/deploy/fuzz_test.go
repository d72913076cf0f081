package deploy

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The parsers of what people type and of what Slack sends back: whatever
// the input, they answer (never panic) and what they accept is in range.

func FuzzLockDuration(f *testing.F) {
	for _, s := range []string{"db upgrade for 1h", "for 2 days", "FOR 3H", "for -1h", "for 213503982335d", "waiting for QA", "for 99999999999999999999m", "for 1h30m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		const def = 2 * time.Hour
		args := strings.Fields(in)
		d, rest, err := lockDuration(args, def)
		if err != nil {
			return
		}
		if d != def && (d < time.Minute || d > maxLock) {
			t.Fatalf("lockDuration(%q) accepted %v, outside 1m..7d", in, d)
		}
		if len(rest) > len(args) || strings.Join(rest, " ") != strings.Join(args[:len(rest)], " ") {
			t.Fatalf("lockDuration(%q) left %q, not a prefix of the words", in, rest)
		}
	})
}

func FuzzParseSkipCI(f *testing.F) {
	for _, s := range []string{"", "--skip-ci hotfix for checkout", "--skip-ci", "now", "--SKIP-CI x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Fields(in)
		reason, err := parseSkipCI(args)
		if err == nil && reason != "" && (args[0] != "--skip-ci" || reason != strings.Join(args[1:], " ")) {
			t.Fatalf("parseSkipCI(%q) = %q", in, reason)
		}
		if err == nil && reason == "" && len(args) > 0 {
			t.Fatalf("parseSkipCI(%q) accepted arguments without a reason", in)
		}
	})
}

func FuzzButtonValue(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-1", "abc", "1; drop", "18446744073709551616", "+1", "01", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := parseRequestID(v)
		if ok && (id == 0 || strconv.FormatUint(id, 10) != v) {
			t.Fatalf("parseRequestID(%q) = %d: not the plain decimal it was given", v, id)
		}
	})
}
