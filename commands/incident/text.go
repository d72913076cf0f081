package incident

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// Slack's markup in text people typed: mentions, channel links, links,
// special mentions.
var (
	slackUserRE    = regexp.MustCompile(`<@([A-Za-z0-9._-]+)(?:\|([^>]*))?>`)
	slackChannelRE = regexp.MustCompile(`<#([A-Za-z0-9._-]+)(?:\|([^>]*))?>`)
	slackLinkRE    = regexp.MustCompile(`<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>`)
	slackSpecialRE = regexp.MustCompile(`<!([a-z]+)(?:\^[A-Za-z0-9]+)?(?:\|([^>]*))?>`)
)

func unescapeSlack(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// plainText is Slack text as words, for plain-text places (headers, channel
// names): mentions and links become their labels.
func plainText(s string) string {
	label := func(re *regexp.Regexp, prefix string) func(string) string {
		return func(m string) string {
			sub := re.FindStringSubmatch(m)
			if len(sub) > 2 && sub[2] != "" {
				return prefix + sub[2]
			}
			return prefix + sub[1]
		}
	}
	s = slackUserRE.ReplaceAllStringFunc(s, label(slackUserRE, "@"))
	s = slackChannelRE.ReplaceAllStringFunc(s, label(slackChannelRE, "#"))
	s = slackLinkRE.ReplaceAllStringFunc(s, label(slackLinkRE, ""))
	s = slackSpecialRE.ReplaceAllStringFunc(s, label(slackSpecialRE, "@"))
	return unescapeSlack(s)
}

// slackToMarkdown turns Slack text into GitHub Markdown. Slack user ids mean
// nothing on GitHub and could ping a namesake there, so mentions become
// code.
func slackToMarkdown(s string) string {
	s = slackUserRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackUserRE.FindStringSubmatch(m)
		if sub[2] != "" {
			return "`@" + sub[2] + "`"
		}
		return "`@" + sub[1] + "`"
	})
	s = slackChannelRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackChannelRE.FindStringSubmatch(m)
		if sub[2] != "" {
			return "#" + sub[2]
		}
		return "#" + sub[1]
	})
	s = slackLinkRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackLinkRE.FindStringSubmatch(m)
		if sub[2] != "" {
			return "[" + sub[2] + "](" + sub[1] + ")"
		}
		return sub[1]
	})
	s = slackSpecialRE.ReplaceAllString(s, "@$1")
	return unescapeSlack(s)
}

// ligatures are the letters people type that are not a base letter plus an
// accent, so Unicode decomposition leaves them alone.
var ligatures = strings.NewReplacer("æ", "ae", "ø", "o", "œ", "oe", "ß", "ss", "đ", "d", "ł", "l")

// foldAccents turns accented letters into their base letter, so "Résumé
// upload" still names its channel: decompose, drop the combining marks.
func foldAccents(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		return s // the separators of slugify drop what is left
	}
	return ligatures.Replace(folded)
}

// slugify makes a title fit Slack's channel-name rules: lowercase letters,
// digits, "-" and "_"; everything else separates words.
func slugify(title string) string {
	s := foldAccents(strings.ToLower(plainText(title)))
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return b.String()
}

// maxChannelName is Slack's limit on channel names.
const maxChannelName = 80

// incidentChannelName is "inc-N-<slug>", at most 80 characters; attempt > 0
// adds "-2", "-3"… for when the name is taken.
func incidentChannelName(n uint64, title string, attempt int) string {
	prefix := fmt.Sprintf("inc-%d", n)
	suffix := ""
	if attempt > 0 {
		suffix = fmt.Sprintf("-%d", attempt+1)
	}
	slug := slugify(title)
	if room := maxChannelName - len(prefix) - len(suffix) - 1; len(slug) > room {
		slug = strings.TrimRight(slug[:max(room, 0)], "-_")
	}
	if slug == "" {
		return prefix + suffix
	}
	return prefix + "-" + slug + suffix
}

// stopWords carry no meaning for comparing titles.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "is": true, "are": true, "was": true, "were": true, "be": true, "on": true,
	"in": true, "at": true, "of": true, "for": true, "to": true, "and": true, "or": true, "with": true, "from": true,
	"by": true, "it": true, "its": true, "we": true, "our": true, "again": true, "after": true, "some": true,
}

// titleWords are the meaningful words of a title, lowercased, with a plural
// "s" dropped so "errors" matches "error".
func titleWords(title string) map[string]bool {
	words := map[string]bool{}
	for _, w := range strings.Split(slugify(title), "-") {
		w = strings.Trim(w, "_")
		if w == "" || stopWords[w] {
			continue
		}
		if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
			w = strings.TrimSuffix(w, "s")
		}
		words[w] = true
	}
	return words
}

// titleSimilarity is the Jaccard index of two titles' words: 1 for the same
// words, 0 for none in common.
func titleSimilarity(a, b string) float64 {
	wa, wb := titleWords(a), titleWords(b)
	if len(wa) == 0 || len(wb) == 0 {
		return 0
	}
	common := 0
	for w := range wa {
		if wb[w] {
			common++
		}
	}
	return float64(common) / float64(len(wa)+len(wb)-common)
}

// repeatThreshold is how similar titles must be to call an incident a
// possible repeat: half of their words in common.
const repeatThreshold = 0.5

// similarIncident finds the incident opened since since whose title is most
// like title.
func similarIncident(all []store.Incident, title string, since time.Time) (store.Incident, bool) {
	var best store.Incident
	bestScore := 0.0
	for _, inc := range all {
		if inc.OpenedAt.Before(since) {
			continue
		}
		if s := titleSimilarity(title, inc.Title); s >= repeatThreshold && s > bestScore {
			best, bestScore = inc, s
		}
	}
	return best, bestScore > 0
}

// Postmortem categories: any kind of cause can be reviewed.
var categories = []commands.Option{
	{Value: "product", Text: "Product"}, {Value: "software", Text: "Software"}, {Value: "process", Text: "Process"}, {Value: "tools", Text: "Tools"}, {Value: "communication", Text: "Communication"},
}

// postmortemMarkdown writes the blameless postmortem document. Incident
// fields and the timeline are Slack text; the form's answers are as typed.
func postmortemMarkdown(inc store.Incident, timeline []store.TimelineEntry, pm store.Postmortem, now time.Time) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	md := slackToMarkdown
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

	line("# Postmortem: incident #%d — %s", inc.Number, md(inc.Title))
	line("")
	line("> This postmortem is blameless: it is about what happened and how to make it less likely, not about who. Any cause — product, software, process, tools, communication — can be reviewed.")
	line("")
	line("| | |")
	line("|---|---|")
	line("| Severity | %s |", inc.Severity)
	line("| Opened | %s |", ts(inc.OpenedAt))
	if inc.Open() {
		line("| Status | **still open** when this was written (%s) |", ts(now))
	} else {
		line("| Resolved | %s, after %s |", ts(inc.ResolvedAt), format.Span(inc.ResolvedAt.Sub(inc.OpenedAt)))
	}
	line("| Commander | %s |", md("<@"+inc.Commander+">"))
	if inc.ChannelName != "" {
		line("| Slack channel | #%s |", inc.ChannelName)
	}
	line("")
	section := func(title, body, empty string) {
		line("## %s", title)
		line("")
		if strings.TrimSpace(body) == "" {
			body = empty
		}
		line("%s", strings.TrimSpace(body))
		line("")
	}
	section("Summary", pm.WhatHappened, "_Not written._")
	section("Impact", pm.Impact, "_Not written._")

	line("## Timeline")
	line("")
	for _, e := range timeline {
		line("- `%s` **%s** — %s", ts(e.At), entryWord(e.Kind), strings.ReplaceAll(md(e.Text), "\n", " "))
	}
	if len(timeline) == 0 {
		line("_No entries._")
	}
	line("")

	line("## 5 Whys")
	line("")
	n := 0
	for _, w := range pm.Whys {
		if strings.TrimSpace(w) == "" {
			continue
		}
		n++
		line("%d. **Why?** %s", n, strings.TrimSpace(w))
	}
	if n == 0 {
		line("_Not written._")
	}
	line("")
	section("Root cause", pm.RootCause, "_Not written._")

	var cats []string
	for _, c := range pm.Categories {
		for _, o := range categories {
			if o.Value == c {
				cats = append(cats, o.Text)
			}
		}
	}
	section("Categories", strings.Join(cats, ", "), "_None chosen._")
	section("The fix", pm.Fix, "_Not recorded._")

	line("## Action items")
	line("")
	filed := map[string]store.IssueLink{}
	for _, a := range pm.ActionIssues {
		filed[a.Title] = a
	}
	for _, item := range pm.ActionItems {
		if a, ok := filed[item]; ok && a.Number > 0 {
			line("- [ ] %s — #%d", item, a.Number)
		} else {
			line("- [ ] %s", item)
		}
	}
	if len(pm.ActionItems) == 0 {
		line("_None._")
	}
	line("")
	section("What went well", pm.WentWell, "_Not written._")
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func entryWord(kind string) string {
	switch kind {
	case store.EntryOpened:
		return "Opened"
	case store.EntryUpdate:
		return "Update"
	case store.EntrySeverity:
		return "Severity"
	case store.EntryCommander:
		return "Commander"
	case store.EntryPromotion:
		return "Promotion"
	case store.EntryPin:
		return "Pinned"
	case store.EntryResolved:
		return "Resolved"
	}
	return kind
}
