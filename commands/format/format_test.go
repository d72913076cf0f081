package format

import (
	"testing"
	"time"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a & b", "a &amp; b"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"<https://x|y>", "&lt;https://x|y&gt;"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLink(t *testing.T) {
	for _, tc := range []struct{ url, label, want string }{
		{"https://github.com/acme/shop/pull/7", "#7 <b> & co", "<https://github.com/acme/shop/pull/7|#7 &lt;b&gt; &amp; co>"},
		{"https://x.test/a?b=1&c=2", "x", "<https://x.test/a?b=1&amp;c=2|x>"},
		{"https://x.test/|Approve><!channel>", "#7", "#7"},
		{"https://x.test/a b", "#7", "#7"},
		{"javascript:alert(1)", "#7", "#7"},
		{"", "<!here>", "&lt;!here&gt;"},
	} {
		if got := Link(tc.url, tc.label); got != tc.want {
			t.Errorf("Link(%q, %q) = %q, want %q", tc.url, tc.label, got, tc.want)
		}
	}
}

func TestCommit(t *testing.T) {
	url := func(sha string) string { return "https://github.com/acme/shop/commit/" + sha }
	tests := []struct {
		name, sha string
		url       func(string) string
		want      string
	}{
		{name: "linked", sha: "ee43f5a1b2", url: url, want: "<https://github.com/acme/shop/commit/ee43f5a1b2|`ee43f5a`>"},
		{name: "no GitHub", sha: "ee43f5a1b2", want: "`ee43f5a`"},
		{name: "empty", sha: "", url: url, want: "an unknown commit"},
		{name: "not a SHA", sha: "<!here>", url: url, want: "`&lt;!here&gt;`"},
		{name: "upper case is not a SHA", sha: "EE43F5A", url: url, want: "`EE43F5A`"},
		{name: "too short", sha: "ee43f5", url: url, want: "`ee43f5`"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Commit(tc.sha, tc.url); got != tc.want {
				t.Errorf("Commit(%q) = %q, want %q", tc.sha, got, tc.want)
			}
		})
	}
}

func TestPerson(t *testing.T) {
	users := map[string]string{"carol": "U0CAROL"}
	for _, tc := range []struct{ login, want string }{
		{"Carol", "<@U0CAROL>"},
		{"dave", "dave"},
		{"", "someone"},
		{"<b>", "&lt;b&gt;"},
	} {
		if got := Person(users, tc.login); got != tc.want {
			t.Errorf("Person(%q) = %q, want %q", tc.login, got, tc.want)
		}
	}
}

func TestChannel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"C0123456789", "<#C0123456789>"},
		{"#devy", "#devy"},
		{"devy", "#devy"},
		{"G0ABCDEFGH", "<#G0ABCDEFGH>"},
		{"C12", "#C12"},
	} {
		if got := Channel(tc.in); got != tc.want {
			t.Errorf("Channel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDurations(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ name, got, want string }{
		{"ago now", Ago(now, now.Add(-10*time.Second)), "just now"},
		{"ago min", Ago(now, now.Add(-5*time.Minute)), "5 min ago"},
		{"ago days", Ago(now, now.Add(-72*time.Hour)), "3 days ago"},
		{"span", Span(2*time.Hour + 5*time.Minute), "2h 5m"},
		{"span days", Span(76 * time.Hour), "3 days 4h"},
		{"elapsed", Elapsed(3*time.Minute + 12*time.Second), "3m 12s"},
		{"until", Until(now, now.Add(12*time.Minute)), "in 12 min"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
