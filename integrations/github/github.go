// Package github is Devy's thin adapter over go-github: it reads what
// changed between two commits, reads pull requests, finds the tarball Heroku
// builds from, and opens issues. Every failure comes back as an
// *apierr.Error with Service "GitHub".
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/devy-chatops/devy/integrations/apierr"
)

const (
	service        = "GitHub"
	defaultBaseURL = "https://api.github.com/"
	// defaultTimeout bounds calls when the caller passes no *http.Client, so
	// that a hung GitHub cannot hold a command forever.
	defaultTimeout = 30 * time.Second
)

// Client talks to one repository.
type Client struct {
	gh    *gh.Client
	owner string
	name  string
	web   string // https://github.com/owner/name, without a trailing slash
}

// New returns a client for repo ("owner/name"). baseURL "" means
// api.github.com; GitHub Enterprise uses "https://host/api/v3/". token ""
// makes unauthenticated calls. hc nil uses a client with a 30s timeout.
func New(baseURL, token, repo string, hc *http.Client) (*Client, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	if baseURL == "" {
		baseURL = defaultBaseURL
	}
	base, err := url.Parse(baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("github: base URL %q must be an absolute http(s) URL", baseURL)
	}
	// go-github refuses a BaseURL without a trailing slash, and
	// WithEnterpriseURLs would append api/v3/ to a test server's URL, so the
	// field is set directly.
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	c := gh.NewClient(closingClient(hc))
	if token != "" {
		c = c.WithAuthToken(token)
	}
	c.BaseURL = base
	return &Client{gh: c, owner: owner, name: name, web: webURL(base, owner, name)}, nil
}

// splitRepo validates "owner/name" with the characters GitHub allows, so a
// typo in config fails at startup rather than as a confusing 404 later.
func splitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !validRepoPart(owner) || !validRepoPart(name) {
		return "", "", fmt.Errorf("github: repository %q must look like owner/name", repo)
	}
	return owner, name, nil
}

func validRepoPart(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// webURL derives the human-facing repository URL from the API base:
// api.github.com (and GHE.com's api.<sub>.ghe.com) drop the "api." host
// prefix; GitHub Enterprise Server drops the /api/v3/ path; anything else
// (a test server) keeps its scheme and host.
func webURL(base *url.URL, owner, name string) string {
	host := base.Host
	if h, ok := strings.CutPrefix(host, "api."); ok {
		host = h
	}
	return fmt.Sprintf("%s://%s/%s/%s", base.Scheme, host, owner, name)
}

// Repo returns "owner/name".
func (c *Client) Repo() string { return c.owner + "/" + c.name }

// WebURL returns the repository's page, e.g. https://github.com/owner/name.
func (c *Client) WebURL() string { return c.web }

// CommitURL links to one commit, or is "" when sha is not a commit id (see
// IsSHA): the text may come from outside (a Heroku build's version is set
// by whoever creates the build), and a link made of it could plant markup
// in Slack's <url|label>. Callers show such text escaped, unlinked.
func (c *Client) CommitURL(sha string) string {
	if !IsSHA(sha) {
		return ""
	}
	return c.web + "/commit/" + sha
}

// IsSHA reports whether s is a commit id as Devy links it: 7 to 40
// lowercase hex digits.
func IsSHA(s string) bool {
	if len(s) < 7 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// PullURL links to one pull request.
func (c *Client) PullURL(n int) string { return c.web + "/pull/" + strconv.Itoa(n) }

// CompareURL links to the diff between two refs.
func (c *Client) CompareURL(base, head string) string {
	return c.web + "/compare/" + escapeRef(base) + "..." + escapeRef(head)
}

// escapeRef keeps slashes readable in branch names ("feature/x") while
// escaping anything that would break the URL.
func escapeRef(ref string) string {
	return strings.ReplaceAll(url.PathEscape(ref), "%2F", "/")
}

// Commit is one commit in a comparison.
type Commit struct {
	SHA         string
	Message     string    // first line only
	AuthorLogin string    // "" when the commit's email maps to no GitHub user
	AuthorName  string    // the git author name, always present
	AuthorEmail string    // the git author e-mail
	AuthoredAt  time.Time // the git author date
	URL         string
	PR          int // the pull request the commit came from, 0 if unknown
}

// File is one changed file in a comparison.
type File struct {
	Name         string
	PreviousName string // set when Status is "renamed"
	Status       string // added, removed, modified, renamed, copied, changed, unchanged
	Additions    int
	Deletions    int
}

// Comparison is what changed from base to head.
type Comparison struct {
	Status       string // ahead, behind, identical, diverged
	AheadBy      int
	BehindBy     int
	TotalCommits int      // may exceed len(Commits): GitHub returns at most 250 commits
	Commits      []Commit // oldest first
	Files        []File
	URL          string
}

// maxComparePages bounds the commits read of one comparison (100 a page): a
// promotion of thousands of commits is shown folded anyway.
const maxComparePages = 10

// Compare lists the commits and files between base and head.
func (c *Client) Compare(ctx context.Context, base, head string) (Comparison, error) {
	op := fmt.Sprintf("comparing %s...%s", shortRef(base), shortRef(head))
	// Unpaged, GitHub lists at most 250 commits; paged, all of them (the
	// files come whole with the first page).
	opts := &gh.ListOptions{PerPage: 100}
	cmp, resp, err := c.gh.Repositories.CompareCommits(ctx, c.owner, c.name, base, head, opts)
	if err != nil {
		return Comparison{}, fail(op, resp, err)
	}
	for page := 2; resp.NextPage != 0 && page <= maxComparePages; page++ {
		opts.Page = resp.NextPage
		var more *gh.CommitsComparison
		if more, resp, err = c.gh.Repositories.CompareCommits(ctx, c.owner, c.name, base, head, opts); err != nil {
			return Comparison{}, fail(op, resp, err)
		}
		cmp.Commits = append(cmp.Commits, more.Commits...)
	}
	out := Comparison{
		Status:       cmp.GetStatus(),
		AheadBy:      cmp.GetAheadBy(),
		BehindBy:     cmp.GetBehindBy(),
		TotalCommits: cmp.GetTotalCommits(),
		URL:          cmp.GetHTMLURL(),
	}
	if out.URL == "" {
		out.URL = c.CompareURL(base, head)
	}
	for _, rc := range cmp.Commits {
		out.Commits = append(out.Commits, c.commit(rc))
	}
	for _, f := range cmp.Files {
		out.Files = append(out.Files, File{
			Name:         f.GetFilename(),
			PreviousName: f.GetPreviousFilename(),
			Status:       f.GetStatus(),
			Additions:    f.GetAdditions(),
			Deletions:    f.GetDeletions(),
		})
	}
	return out, nil
}

func (c *Client) commit(rc *gh.RepositoryCommit) Commit {
	// The Get* accessors are nil-safe: GitHub sends "author": null when the
	// commit email belongs to no account.
	msg := firstLine(rc.GetCommit().GetMessage())
	out := Commit{
		SHA:         rc.GetSHA(),
		Message:     msg,
		AuthorLogin: rc.GetAuthor().GetLogin(),
		AuthorName:  rc.GetCommit().GetAuthor().GetName(),
		AuthorEmail: rc.GetCommit().GetAuthor().GetEmail(),
		AuthoredAt:  rc.GetCommit().GetAuthor().GetDate().Time,
		URL:         rc.GetHTMLURL(),
		PR:          prNumber(msg),
	}
	if out.URL == "" {
		out.URL = c.CommitURL(out.SHA)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// prNumber finds the pull request in a merge commit title ("Merge pull
// request #123 from owner/branch") or a squash title ("Fix thing (#123)").
func prNumber(title string) int {
	if rest, ok := strings.CutPrefix(title, "Merge pull request #"); ok {
		num, _, _ := strings.Cut(rest, " ")
		return positive(num)
	}
	t := strings.TrimSpace(title)
	if !strings.HasSuffix(t, ")") {
		return 0
	}
	i := strings.LastIndex(t, "(#")
	if i < 0 {
		return 0
	}
	return positive(t[i+2 : len(t)-1])
}

func positive(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || strings.HasPrefix(s, "+") {
		return 0
	}
	return n
}

// PullRequest is the part of a pull request Devy shows.
type PullRequest struct {
	Number      int
	Title       string
	State       string // open or closed; see Merged
	AuthorLogin string
	HeadRef     string
	HeadSHA     string
	URL         string
	Merged      bool
	Draft       bool
}

// PullRequest reads pull request n.
func (c *Client) PullRequest(ctx context.Context, n int) (PullRequest, error) {
	pr, resp, err := c.gh.PullRequests.Get(ctx, c.owner, c.name, n)
	if err != nil {
		return PullRequest{}, fail(fmt.Sprintf("reading pull request #%d", n), resp, err)
	}
	out := PullRequest{
		Number:      pr.GetNumber(),
		Title:       pr.GetTitle(),
		State:       pr.GetState(),
		AuthorLogin: pr.GetUser().GetLogin(),
		HeadRef:     pr.GetHead().GetRef(),
		HeadSHA:     pr.GetHead().GetSHA(),
		URL:         pr.GetHTMLURL(),
		Merged:      pr.GetMerged() || pr.MergedAt != nil,
		Draft:       pr.GetDraft(),
	}
	if out.URL == "" {
		out.URL = c.PullURL(n)
	}
	return out, nil
}

// TarballURL returns the short-lived download URL of the source at sha,
// suitable for a Heroku build's source_blob.url.
func (c *Client) TarballURL(ctx context.Context, sha string) (string, error) {
	op := "finding the source tarball of " + shortRef(sha)
	u, resp, err := c.gh.Repositories.GetArchiveLink(ctx, c.owner, c.name, gh.Tarball,
		&gh.RepositoryContentGetOptions{Ref: sha}, 1)
	if err != nil {
		return "", fail(op, resp, err)
	}
	return u.String(), nil
}

// Issue is a created issue.
type Issue struct {
	Number int
	URL    string
}

// CreateIssue opens an issue; labels may be nil.
func (c *Client) CreateIssue(ctx context.Context, title, body string, labels []string) (Issue, error) {
	req := &gh.IssueRequest{Title: &title, Body: &body}
	if len(labels) > 0 {
		req.Labels = &labels
	}
	is, resp, err := c.gh.Issues.Create(ctx, c.owner, c.name, req)
	if err != nil {
		return Issue{}, fail("opening an issue", resp, err)
	}
	return Issue{Number: is.GetNumber(), URL: is.GetHTMLURL()}, nil
}

// shortRef abbreviates full SHAs for messages people read; branch names are
// kept as they are.
func shortRef(ref string) string {
	if len(ref) == 40 && strings.Trim(strings.ToLower(ref), "0123456789abcdef") == "" {
		return ref[:7]
	}
	return ref
}

// fail turns whatever go-github returned into an *apierr.Error.
func fail(op string, resp *gh.Response, err error) error {
	e := &apierr.Error{Service: service, Op: op, Err: err}
	var (
		rateErr  *gh.RateLimitError
		abuseErr *gh.AbuseRateLimitError
		respErr  *gh.ErrorResponse
		twoFA    *gh.TwoFactorAuthError
		accepted *gh.AcceptedError
	)
	switch {
	case errors.As(err, &rateErr):
		e.StatusCode = statusOf(rateErr.Response, http.StatusForbidden)
		e.Message = rateErr.Message
		// Always leave a positive wait so the user is told about the rate
		// limit rather than about a bad token (both arrive as 403).
		e.RetryAfter = untilReset(rateErr.Rate.Reset.Time)
	case errors.As(err, &abuseErr):
		e.StatusCode = statusOf(abuseErr.Response, http.StatusForbidden)
		e.Message = abuseErr.Message
		// GitHub's advice when a secondary limit names no wait is a minute.
		e.RetryAfter = time.Minute
		if abuseErr.RetryAfter != nil && *abuseErr.RetryAfter > 0 {
			e.RetryAfter = *abuseErr.RetryAfter
		}
	case errors.As(err, &twoFA):
		e.StatusCode = statusOf(twoFA.Response, http.StatusUnauthorized)
		e.Message = twoFA.Message
	case errors.As(err, &respErr):
		e.StatusCode = statusOf(respErr.Response, 0)
		e.Message = errorMessage(respErr)
		if respErr.Response != nil {
			e.RetryAfter = retryAfter(respErr.Response.Header)
		}
	case errors.As(err, &accepted):
		// 202: GitHub is still computing the answer (large comparisons).
		e.StatusCode = http.StatusAccepted
		e.Message = "GitHub is still preparing this answer"
	case resp != nil && resp.Response != nil:
		// GetArchiveLink reports non-302 answers as a plain error, and a body
		// that does not decode lands here too.
		e.StatusCode = resp.StatusCode
		e.RetryAfter = retryAfter(resp.Header)
		if e.StatusCode/100 == 2 {
			e.Message = "unexpected response"
		}
	}
	// Anything else (DNS, refused connection, timeout, cancelled context)
	// keeps StatusCode 0: GitHub was not reached.
	return e
}

func statusOf(r *http.Response, fallback int) int {
	if r == nil {
		return fallback
	}
	return r.StatusCode
}

// errorMessage keeps GitHub's message and the first validation detail, e.g.
// "Validation Failed: title missing_field".
func errorMessage(r *gh.ErrorResponse) string {
	msg := r.Message
	if len(r.Errors) > 0 {
		d := r.Errors[0]
		detail := d.Message
		if detail == "" {
			detail = strings.TrimSpace(d.Field + " " + d.Code)
		}
		if detail != "" {
			msg += ": " + detail
		}
	}
	return msg
}

// retryAfter reads Retry-After, or, when the primary limit is exhausted, the
// X-RateLimit-Reset epoch. go-github v60 has no special case for 429, so
// this is where a 429 gets its wait.
func retryAfter(h http.Header) time.Duration {
	if d := apierr.ParseRetryAfter(h); d > 0 {
		return d
	}
	if h.Get("X-RateLimit-Remaining") != "0" {
		return 0
	}
	reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return 0
	}
	return untilReset(time.Unix(reset, 0))
}

// untilReset is the wait until a rate-limit reset, rounded up to whole
// seconds (the reset header has second precision) and at least one second.
func untilReset(t time.Time) time.Duration {
	d := time.Until(t)
	if r := d % time.Second; r > 0 {
		d += time.Second - r
	}
	return max(d.Truncate(time.Second), time.Second)
}
