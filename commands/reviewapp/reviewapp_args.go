package reviewapp

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
)

// maxPR bounds pull request numbers: GitHub's are positive 32-bit integers,
// and anything longer is a typo, not a PR.
const maxPR = 1<<31 - 1

// Review app actions a person can ask for.
const (
	reviewCreate  = "create"
	reviewStatus  = "status"
	reviewDestroy = "destroy"
)

// reviewArgs is what `/reviewapp <PR number> [status|destroy]` asked for.
type reviewArgs struct {
	PR     int
	Action string
}

// parseReviewArgs reads the words after /reviewapp when they do not name a
// subcommand. The PR may be given as 123, #123 or a link to it (Slack sends
// links as <url> or <url|text>). prefix is how the person reached Devy
// ("/reviewapp" or "@Devy reviewapp"), for the error's advice.
func parseReviewArgs(args []string, prefix string, link *regexp.Regexp) (reviewArgs, error) {
	if len(args) == 0 {
		return reviewArgs{}, commands.Userf("Tell me which pull request: type `%s 123` with its number, or `%s help`.", prefix, prefix)
	}
	pr, ok := parsePRNumber(args[0], link)
	if !ok {
		return reviewArgs{}, commands.Userf("`%s` is not a pull request number; type `%s 123` with the number of an open pull request, or `%s help`.", clipWord(args[0]), prefix, prefix)
	}
	a := reviewArgs{PR: pr, Action: reviewCreate}
	if len(args) == 1 {
		return a, nil
	}
	if len(args) == 2 {
		switch strings.ToLower(args[1]) {
		case reviewStatus, reviewDestroy:
			a.Action = strings.ToLower(args[1])
			return a, nil
		}
	}
	return reviewArgs{}, commands.Userf("I don't know `%s %s`; type `%s %d`, `%s %d status` or `%s %d destroy`.",
		prefix, clipWord(strings.Join(args, " ")), prefix, pr, prefix, pr, prefix, pr)
}

// parsePRNumber reads 123, #123 or a link to a pull request of the repository.
func parsePRNumber(s string, link *regexp.Regexp) (int, bool) {
	if strings.HasPrefix(s, "<") || strings.HasPrefix(strings.ToLower(s), "http") {
		return findPRLink(s, link)
	}
	return prNumber(strings.TrimPrefix(s, "#"))
}

// prNumber accepts only plain digits (no sign, no spaces) within maxPR.
func prNumber(s string) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > maxPR {
		return 0, false
	}
	return int(n), true
}

// prLinkPattern matches links to pull requests of repo ("owner/name") on
// github.com or on the host of webURL (GitHub Enterprise), in any case, with
// or without Slack's angle brackets, followed by anything that ends the
// number: /files, #discussion…, a Slack label (|text), punctuation or the end.
func prLinkPattern(repo, webURL string) *regexp.Regexp {
	hosts := []string{regexp.QuoteMeta("github.com")}
	if u, err := url.Parse(webURL); err == nil && u.Host != "" && !strings.EqualFold(u.Host, "github.com") {
		hosts = append(hosts, regexp.QuoteMeta(u.Host))
	}
	return regexp.MustCompile(`(?i)https?://(?:` + strings.Join(hosts, "|") + `)/` + regexp.QuoteMeta(repo) +
		`/pull/([0-9]+)(?:[/?#|>)\]\s.,;:!]|$)`)
}

// findPRLink returns the number of the first pull request of the repository
// that text links to.
func findPRLink(text string, link *regexp.Regexp) (int, bool) {
	for _, m := range link.FindAllStringSubmatch(text, -1) {
		if n, ok := prNumber(m[1]); ok {
			return n, true
		}
	}
	return 0, false
}

// clipWord keeps an echoed word short and inert: people paste odd things,
// and a pasted <!channel> must not notify anyone.
func clipWord(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return format.Escape(strings.ReplaceAll(s, "`", "'"))
}
