// Package format turns what Devy talks about — people, commits, channels,
// times — into Slack text, the same way in every message. It holds no
// state: whatever a sentence depends on (the user map, a commit URL) is
// passed in.
package format

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/semaphore"
)

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape keeps text from outside (titles, commit messages, logins) from
// turning into Slack mentions, links or entities.
func Escape(s string) string { return escaper.Replace(s) }

// Link is label linked to url as Slack's <url|label>, label escaped. A url
// that is not http(s) or holds what would end the link early ('|', '<',
// '>', spaces) — a payload's field can be anything — gives the label
// alone, as text.
func Link(url, label string) string {
	if !safeURL(url) {
		return Escape(label)
	}
	return "<" + Escape(url) + "|" + Escape(label) + ">"
}

func safeURL(u string) bool {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return false
	}
	return !strings.ContainsFunc(u, func(r rune) bool {
		return r == '|' || r == '<' || r == '>' || r <= ' ' || r == 0x7f || unicode.IsSpace(r)
	})
}

// Plural is the "s" a count of n takes.
func Plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Person names a GitHub user: a Slack mention when users (lower-case login
// → Slack id) knows them, else the login as text.
func Person(users map[string]string, login string) string {
	if login == "" {
		return "someone"
	}
	if id := users[strings.ToLower(login)]; id != "" {
		return "<@" + id + ">"
	}
	return Escape(login)
}

// shaPattern is what a commit SHA looks like; nothing else is ever put
// into a link as one.
var shaPattern = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// Short is a SHA's first seven characters, "unknown" when there is none.
func Short(sha string) string {
	if sha == "" {
		return "unknown"
	}
	if len(sha) > 7 {
		sha = sha[:7]
	}
	return sha
}

// Commit is a commit as code, linked through commitURL when it is not nil
// and sha is a SHA; anything else is shown as escaped text.
func Commit(sha string, commitURL func(sha string) string) string {
	if sha == "" {
		return "an unknown commit"
	}
	if commitURL == nil || !shaPattern.MatchString(sha) {
		return "`" + Escape(Short(sha)) + "`"
	}
	return fmt.Sprintf("<%s|`%s`>", commitURL(sha), Short(sha))
}

// IsChannelID reports whether s is a Slack channel id (C…/G…) rather
// than a name.
func IsChannelID(s string) bool {
	if len(s) < 9 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Channel refers to a channel given by id (a Slack link) or by name, with
// or without its "#" (the shell's channel ids are names).
func Channel(c string) string {
	c = strings.TrimPrefix(c, "#")
	if IsChannelID(c) {
		return "<#" + c + ">"
	}
	return "#" + c
}

// Stamp is a moment as a date and a UTC time.
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "unknown time"
	}
	return t.UTC().Format("Jan 2 15:04 UTC")
}

// Ago is how long before now t was, coarsely: "just now", "5 min ago",
// "3h ago", "4 days ago".
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// Until is when t comes, seen from now: "in 12 min", or its stamp.
func Until(now, t time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "now"
	}
	if d < time.Hour {
		return fmt.Sprintf("in %d min", int(d.Round(time.Minute).Minutes()))
	}
	return "at " + Stamp(t)
}

// Span is a long duration as people say it, to the minute: "45 min",
// "2h 5m", "3 days 4h".
func Span(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		s := fmt.Sprintf("%d day%s", days, Plural(days))
		if hours > 0 {
			s += fmt.Sprintf(" %dh", hours)
		}
		return s
	case hours > 0:
		if mins == 0 {
			return fmt.Sprintf("%dh", hours)
		}
		return fmt.Sprintf("%dh %dm", hours, mins)
	}
	return fmt.Sprintf("%d min", mins)
}

// Elapsed is a short run's length to the second, as CI reports it: "45s",
// "3m 12s", "1h 4m".
func Elapsed(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
}

// Clip trims s and cuts it to at most n characters, ending with "…" when
// it was cut.
func Clip(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

// Failure is a service's failure as a short clause for a status line:
// "Heroku unreachable", "GitHub answered 502".
func Failure(err error) string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		if ae.StatusCode == 0 {
			return ae.Service + " unreachable"
		}
		return fmt.Sprintf("%s answered %d", ae.Service, ae.StatusCode)
	}
	return "error"
}

// CI is a commit's CI result, with a link to its workflow when known.
type CI struct {
	State semaphore.State
	URL   string
	Err   error // Semaphore could not be asked
}

// String is the result as a status line shows it: "✅ passed", linked.
func (c CI) String() string {
	if c.Err != nil {
		return "⚠️ unknown (Semaphore could not be asked)"
	}
	icon := map[semaphore.State]string{semaphore.Passed: "✅", semaphore.Failed: "❌", semaphore.Stopped: "⏹", semaphore.Running: "⏳", semaphore.None: "❔"}[c.State]
	s := strings.TrimSpace(icon + " " + string(c.State))
	if c.State == semaphore.None {
		s = "❔ no pipeline found"
	}
	if c.URL != "" {
		s = fmt.Sprintf("<%s|%s>", c.URL, s)
	}
	return s
}
