package verify

import (
	"testing"

	"github.com/devy-chatops/devy/store"
)

// Commits group by Slack user, else by login; each author's line says how
// far they are, and the status line who is left.
func TestAuthors(t *testing.T) {
	commits := []store.CommitInfo{
		{SHA: "a1", AuthorLogin: "bob", SlackUser: "UBOB"},
		{SHA: "d1", AuthorLogin: "dave"},
		{SHA: "a2", AuthorLogin: "bob", SlackUser: "UBOB"},
		{SHA: "e1", AuthorName: "Erin <no login>"},
	}
	tests := []struct {
		name       string
		verified   map[string]store.Verification
		lines      string
		statusLine string
	}{
		{"nothing verified", nil,
			"⏳ <@UBOB> — 2 of 2 commits not verified yet\n" +
				"⏳ dave — 1 of 1 commit not verified (no Slack user: the next person who verifies vouches for them)\n" +
				"⏳ Erin &lt;no login&gt; — 1 of 1 commit not verified (no Slack user: the next person who verifies vouches for them)",
			"⏳ Verified on staging: 0 of 4 commits; waiting for <@UBOB>, dave, Erin &lt;no login&gt;."},
		{"bob verified and vouched for dave", map[string]store.Verification{"a1": {By: "UBOB"}, "a2": {By: "UBOB"}, "d1": {By: "UBOB", Vouched: true}},
			"✅ <@UBOB> — 2 commits verified\n" +
				"✅ dave — 1 commit, vouched for by <@UBOB>\n" +
				"⏳ Erin &lt;no login&gt; — 1 of 1 commit not verified (no Slack user: the next person who verifies vouches for them)",
			"⏳ Verified on staging: 3 of 4 commits; waiting for Erin &lt;no login&gt;."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := Group(commits, tt.verified)
			if got := Lines(as); got != tt.lines {
				t.Errorf("Lines =\n%s\nwant\n%s", got, tt.lines)
			}
			if got := StatusLine(len(commits), as); got != tt.statusLine {
				t.Errorf("StatusLine = %q; want %q", got, tt.statusLine)
			}
		})
	}
	if got := StatusLine(0, nil); got != "Verified on staging: nothing to verify." {
		t.Errorf("StatusLine of no commits = %q", got)
	}
}
