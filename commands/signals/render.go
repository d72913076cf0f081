package signals

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/devy-chatops/devy/commands"
)

// Block Kit limits (api-facts 9).
const (
	maxHeader  = 150
	maxSection = 3000
	maxContext = 2000
	maxButton  = 2000
	maxText    = 3000 // the notification text: kept well under chat.postMessage's 40,000
	maxAlerts  = 10   // alert lines shown per group
	maxCommits = 10   // commit lines shown per suspect promotion
)

// escape turns Slack's control characters in outside text into entities,
// so that <!channel> or <@U…> in a title is shown, not acted on.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip shortens escaped text to n characters (Slack counts characters),
// ending in "…", without cutting an entity in half.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	cut := string(r)
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && i >= len(cut)-5 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}

// oneLine folds outside text to one line, for headers and list items.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// code puts outside text in a code span; backticks inside would end it.
func code(s string) string {
	s = strings.ReplaceAll(oneLine(s), "`", "'")
	if s == "" {
		return ""
	}
	return "`" + escape(s) + "`"
}

// link makes a Slack link to an outside URL, or just the text when the URL
// is not plain http(s). The URL is escaped too: a "|" or ">" in it would
// otherwise end the link early and let the rest be read as markup.
func link(raw, text string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return text
	}
	s := strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C", " ", "%20", "\n", "", "\r", "").Replace(u.String())
	return "<" + s + "|" + text + ">"
}

var (
	channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	userID    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	shaRE     = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
)

// channelRef links a channel id; a name is shown as #name.
func channelRef(ch string) string {
	if channelID.MatchString(ch) {
		return "<#" + ch + ">"
	}
	if ch == "" {
		return "its channel"
	}
	return "#" + escape(strings.TrimPrefix(ch, "#"))
}

// person mentions a Slack user id; anything else is a name, shown as is.
func person(s string) string {
	if userID.MatchString(s) {
		return "<@" + s + ">"
	}
	return escape(s)
}

// minutes says how long after, in words.
func minutes(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m < 1:
		return "less than a minute"
	case m == 1:
		return "1 minute"
	case m < 120:
		return fmt.Sprintf("%d minutes", m)
	}
	return fmt.Sprintf("%d hours %d minutes", m/60, m%60)
}

// suspectLine names the promotion an issue followed, blamelessly: it
// happened before, which is worth a look, nothing more.
func suspectLine(sig Signal) string {
	sp := sig.Suspect
	verb := "First seen"
	if sig.Regressed {
		verb = "Regressed"
	}
	line := fmt.Sprintf("%s %s after promotion #%d (%s v%d, approved by %s).",
		verb, minutes(sp.After), sp.Number, escape(oneLine(sp.StagingApp)), sp.Version, person(sp.Approver))
	if len(sp.Commits) == 0 {
		return line
	}
	lines := []string{line + " It shipped:"}
	for i, c := range sp.Commits {
		if i == maxCommits {
			lines = append(lines, fmt.Sprintf("… and %d more commits", len(sp.Commits)-maxCommits))
			break
		}
		sha := ""
		if shaRE.MatchString(c.SHA) {
			sha = c.SHA[:7]
			sha = link(c.URL, "`"+sha+"`")
			if !strings.HasPrefix(sha, "<") {
				sha = "`" + c.SHA[:7] + "`"
			}
			sha += " "
		}
		author := escape(oneLine(c.Author))
		if userID.MatchString(c.SlackID) {
			author = "<@" + c.SlackID + ">"
		}
		lines = append(lines, fmt.Sprintf("• %s%s — %s", sha, escape(clip(oneLine(c.Message), 120)), author))
	}
	return strings.Join(lines, "\n")
}

func statusWords(sig Signal) string {
	by := ""
	if sig.StatusNote != "" {
		by = " by " + escape(oneLine(sig.StatusNote))
	}
	switch sig.Status {
	case StatusResolved:
		if sig.Source == SourceAlertmanager {
			return "✅ Resolved: every alert of the group has stopped firing."
		}
		return "✅ Resolved in Sentry" + by + "."
	case StatusIgnored:
		return "🔕 Archived in Sentry" + by + "."
	}
	return ""
}

// alertIcon marks an alert as resolved, critical or a warning.
func alertIcon(sig Signal) string {
	switch {
	case sig.Status != StatusFiring:
		return "✅"
	case sig.Critical:
		return "🚨"
	}
	return "⚠️"
}

// render draws the signal's message for one channel.
func (s *Signals) render(sig Signal, role string) commands.Message {
	p := sig.post(role)
	var head, text string
	var body []string
	switch sig.Source {
	case SourceAlertmanager:
		head = alertIcon(sig) + " " + sig.Title
		text = "Alertmanager: " + sig.Title
		body = append(body, s.alertBody(sig)...)
	case SourceSentryMetric:
		head = alertIcon(sig) + " " + sig.Title
		text = "Sentry metric alert: " + sig.Title
		line := "*Sentry metric alert*"
		if sig.Rule != "" {
			line += " " + code(sig.Rule)
		}
		if sig.Project != "" {
			line += " in " + code(sig.Project)
		}
		body = append(body, line+" · "+link(sig.Link, "open in Sentry"))
		if sig.Description != "" {
			body = append(body, escape(clip(sig.Description, 1000)))
		}
	default: // a Sentry issue
		icon := "🐞"
		if role == RoleCritical {
			icon = "🚨"
		}
		if sig.Status != StatusFiring {
			icon = "✅"
		}
		head = icon + " " + sig.Title
		text = "Sentry: " + sig.Title
		kind := "*New exception*"
		if sig.Regressed {
			kind = "*Regression*: an issue resolved before is back"
		}
		if role == RoleCritical {
			kind = "*Sentry alert*"
			if sig.Rule != "" {
				kind += " " + code(sig.Rule) + " fired"
			}
		}
		line := kind
		if sig.Project != "" {
			line += " in " + code(sig.Project)
		}
		if sig.Level != "" {
			line += " · level " + code(sig.Level)
		}
		name := firstOf(sig.ShortID, "open in Sentry")
		line += " · " + link(sig.Link, escape(name))
		body = append(body, line)
		if sig.Culprit != "" {
			body = append(body, code(sig.Culprit))
		}
		if p != nil && p.Events > 1 {
			body = append(body, fmt.Sprintf("…and %d more events since this message was posted.", p.Events-1))
		}
		if sig.Suspect != nil && role == RoleDevy {
			body = append(body, suspectLine(sig))
		}
	}
	if w := statusWords(sig); w != "" {
		body = append(body, w)
	}
	if role == RoleDevy {
		if c := sig.post(RoleCritical); c != nil && c.TS != "" {
			body = append(body, "🚨 Also posted as a critical alert in "+channelRef(c.ChannelID)+".")
		}
	}
	if sig.Incident != 0 {
		body = append(body, fmt.Sprintf("🚒 Incident #%d is open for this in %s; updates go to its timeline.", sig.Incident, channelRef(sig.IncidentChannel)))
	}

	blocks := []commands.Block{
		commands.Header{Text: clip(escape(oneLine(head)), maxHeader)},
		commands.Section{Text: clip(strings.Join(body, "\n"), maxSection)},
	}
	if sig.Status == StatusFiring && sig.Incident == 0 {
		blocks = append(blocks, commands.Actions{
			ID: "signals_" + sig.Key,
			Buttons: []commands.Button{{
				ActionID: ActionOpenIncident, Text: "Open incident", Style: "danger",
				Value: clip(sig.Key, maxButton),
			}},
		})
	}
	return commands.Message{Text: clip(escape(oneLine(text)), maxText), Blocks: blocks}
}

func (s *Signals) alertBody(sig Signal) []string {
	firing, resolved := 0, 0
	for _, a := range sig.Alerts {
		if a.Status == StatusFiring {
			firing++
		} else {
			resolved++
		}
	}
	line := fmt.Sprintf("*Alertmanager* · %d firing, %d resolved", firing, resolved)
	if sig.Link != "" {
		line += " · " + link(sig.Link, "graph")
	}
	out := []string{line}
	if sig.Description != "" {
		out = append(out, escape(clip(oneLine(sig.Description), 500)))
	}
	if sig.Labels != "" {
		out = append(out, "Labels: "+code(clip(sig.Labels, 500)))
	}
	for i, a := range sig.Alerts {
		if i == maxAlerts {
			out = append(out, fmt.Sprintf("…and %d more alerts", len(sig.Alerts)-maxAlerts))
			break
		}
		icon := "🔥"
		if a.Status != StatusFiring {
			icon = "✅"
		}
		l := icon + " " + code(clip(a.Labels, 300))
		if a.Summary != "" {
			l += " — " + escape(clip(oneLine(a.Summary), 300))
		}
		out = append(out, l)
	}
	if sig.Truncated > 0 {
		out = append(out, fmt.Sprintf("Alertmanager left out %d more alerts of this group.", sig.Truncated))
	}
	return out
}

// timelineLine is what an open incident's timeline hears of a signal.
func timelineLine(sig Signal) string {
	name := escape(oneLine(sig.Title))
	if sig.ShortID != "" {
		name = escape(sig.ShortID) + " " + name
	}
	var what string
	switch sig.Status {
	case StatusResolved:
		what = "resolved"
	case StatusIgnored:
		what = "archived in Sentry"
	default:
		what = "firing"
		if sig.Regressed {
			what = "regressed"
		}
		if sig.Source == SourceAlertmanager {
			n := 0
			for _, a := range sig.Alerts {
				if a.Status == StatusFiring {
					n++
				}
			}
			what = fmt.Sprintf("firing (%d alerts)", n)
		}
	}
	src := map[string]string{SourceAlertmanager: "Alertmanager", SourceSentryMetric: "Sentry metric alert", SourceSentryIssue: "Sentry"}[sig.Source]
	line := fmt.Sprintf("%s: %s is %s", src, name, what)
	if sig.Link != "" {
		line += " (" + link(sig.Link, "link") + ")"
	}
	return clip(line, maxSection)
}
