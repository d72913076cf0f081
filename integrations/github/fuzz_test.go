package github

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzPRNumber reads any commit title: a number it finds is positive and
// written in the title after a '#' (leading zeros aside).
func FuzzPRNumber(f *testing.F) {
	f.Fuzz(func(t *testing.T, title string) {
		n := prNumber(title)
		if n < 0 {
			t.Fatalf("prNumber(%q) = %d", title, n)
		}
		if n > 0 && (!strings.Contains(title, "#") || !strings.Contains(title, strconv.Itoa(n))) {
			t.Fatalf("prNumber(%q) = %d, which the title does not hold", title, n)
		}
	})
}

// FuzzCommitURL: a link is made only of a commit id, so nothing a sender
// writes can plant markup in Slack's <url|label>.
func FuzzCommitURL(f *testing.F) {
	base, _ := url.Parse("https://api.github.com/")
	c := &Client{web: webURL(base, "acme", "shop")}
	f.Fuzz(func(t *testing.T, sha string) {
		u := c.CommitURL(sha)
		if u == "" {
			return
		}
		if !IsSHA(sha) || strings.ContainsAny(u, "<>|& \n") {
			t.Fatalf("CommitURL(%q) = %q", sha, u)
		}
	})
}
