// Package verify holds the rules and the wording of the Etsy step, without
// the services: each author confirms their change on staging before it is
// promoted. It groups a range's commits by author, says who is left, and
// draws the ✅/⏳ lines and the staging release message's part.
package verify

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// Action is the Verified on staging button's action id.
const Action = "deploy.verify"

// Release is a staging release Devy posted about.
type Release struct {
	ID       string    `json:"id"`
	Version  int       `json:"version"`
	Pipeline string    `json:"pipeline"`
	Channel  string    `json:"channel,omitempty"`
	TS       string    `json:"ts,omitempty"`
	At       time.Time `json:"at"`
	Reminded bool      `json:"reminded,omitempty"`
}

// releaseID is what a Heroku release id may look like; anything else in a
// button's value was not put there by Devy.
var releaseID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// ValidReleaseID reports whether a button's value may be a release id.
func ValidReleaseID(s string) bool { return releaseID.MatchString(s) }

// Author is one author of the range with their commits and how far they
// are verified.
type Author struct {
	User     string // Slack user; "" when none was found
	Login    string // GitHub login, else the git author name
	SHAs     []string
	Verified int
	Vouchers []string // who vouched for an unowned author's commits
}

// Done reports whether all of the author's commits are verified.
func (a Author) Done() bool { return a.Verified == len(a.SHAs) }

// Who names the author: a mention, else the GitHub login (escaped).
func (a Author) Who() string {
	if a.User != "" {
		return "<@" + a.User + ">"
	}
	return format.Escape(a.Login)
}

// Group groups commits by author, in the order they first appear, with
// what is verified of them.
func Group(commits []store.CommitInfo, verified map[string]store.Verification) []Author {
	var out []Author
	index := map[string]int{}
	for _, c := range commits {
		key := "u:" + c.SlackUser
		if c.SlackUser == "" {
			key = "l:" + firstNonEmpty(c.AuthorLogin, c.AuthorName, c.AuthorEmail)
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Author{User: c.SlackUser, Login: firstNonEmpty(c.AuthorLogin, c.AuthorName, "unknown")})
		}
		a := &out[i]
		a.SHAs = append(a.SHAs, c.SHA)
		if v, ok := verified[c.SHA]; ok {
			a.Verified++
			if v.Vouched && !contains(a.Vouchers, v.By) {
				a.Vouchers = append(a.Vouchers, v.By)
			}
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Lines shows each author ✅ or ⏳.
func Lines(as []Author) string {
	var lines []string
	for _, a := range as {
		n := len(a.SHAs)
		switch {
		case a.Done() && len(a.Vouchers) > 0:
			vouchers := make([]string, len(a.Vouchers))
			for i, v := range a.Vouchers {
				vouchers[i] = "<@" + v + ">"
			}
			lines = append(lines, fmt.Sprintf("✅ %s — %d commit%s, vouched for by %s", a.Who(), n, format.Plural(n), strings.Join(vouchers, ", ")))
		case a.Done():
			lines = append(lines, fmt.Sprintf("✅ %s — %d commit%s verified", a.Who(), n, format.Plural(n)))
		case a.User == "":
			lines = append(lines, fmt.Sprintf("⏳ %s — %d of %d commit%s not verified (no Slack user: the next person who verifies vouches for them)", a.Who(), n-a.Verified, n, format.Plural(n)))
		default:
			lines = append(lines, fmt.Sprintf("⏳ %s — %d of %d commit%s not verified yet", a.Who(), n-a.Verified, n, format.Plural(n)))
		}
	}
	return strings.Join(lines, "\n")
}

// Left names the authors still to verify.
func Left(as []Author) []string {
	var out []string
	for _, a := range as {
		if !a.Done() {
			out = append(out, a.Who())
		}
	}
	return out
}

// LeftLogins are the logins of the authors still to verify, sorted: plain
// text, for a modal's label.
func LeftLogins(as []Author) []string {
	var out []string
	for _, a := range as {
		if !a.Done() {
			out = append(out, a.Login)
		}
	}
	sort.Strings(out)
	return out
}

// StatusLine is /deploy status's line on the range's verification, for
// the commits staging has and production lacks.
func StatusLine(commits int, as []Author) string {
	if commits == 0 {
		return "Verified on staging: nothing to verify."
	}
	who := Left(as)
	if len(who) == 0 {
		return fmt.Sprintf("✅ Verified on staging: all %d commit%s.", commits, format.Plural(commits))
	}
	n := 0
	for _, a := range as {
		n += a.Verified
	}
	return fmt.Sprintf("⏳ Verified on staging: %d of %d commits; waiting for %s.", n, commits, strings.Join(who, ", "))
}

// maxCommitsPerAuthor folds an author's long list of commits.
const maxCommitsPerAuthor = 5

// Blocks are the Etsy step's part of release rel's message: the commits
// new since production by author, each mentioned, and the Verified on
// staging button. link draws a commit's SHA.
func Blocks(rel Release, commits []store.CommitInfo, as []Author, link func(sha string) string) []commands.Block {
	bySHA := map[string]store.CommitInfo{}
	for _, c := range commits {
		bySHA[c.SHA] = c
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Verify on staging* — %d commit%s new since production:", len(commits), format.Plural(len(commits)))
	for _, a := range as {
		fmt.Fprintf(&b, "\n%s", a.Who())
		for i, sha := range a.SHAs {
			if i == maxCommitsPerAuthor {
				fmt.Fprintf(&b, "\n   …and %d more", len(a.SHAs)-i)
				break
			}
			fmt.Fprintf(&b, "\n   • %s %s", link(sha), format.Escape(bySHA[sha].Message))
		}
	}
	return []commands.Block{
		commands.Section{Text: b.String()},
		commands.Actions{ID: "deploy.verify." + rel.ID, Buttons: []commands.Button{{ActionID: Action, Text: "Verified on staging", Value: rel.ID}}},
		commands.Context{Texts: []string{"Authors: test your change on staging, then click. A click verifies your own commits and vouches for those of authors not on Slack; `/deploy verify` does the same."}},
	}
}
