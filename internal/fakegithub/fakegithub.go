// Package fakegithub is an in-memory GitHub REST server for one repository:
// a linear master branch, pull requests and issues. Tests wrap it in
// httptest.NewServer and point go-github at it; `devy shell` runs the same
// server as its GitHub. Responses follow GitHub's JSON field names, status
// codes and headers as go-github v60 decodes them.
package fakegithub

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devy-chatops/devy/internal/recorder"
)

const (
	webBase = "https://github.com"
	docsURL = "https://docs.github.com/rest"
	master  = "master"
)

// epoch is the date of the first fake commit; later commits are an hour
// apart so dates are deterministic.
func epoch() time.Time { return time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC) }

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	owner, repo, token string

	rec    recorder.Recorder // requests and injected failures; has its own lock
	strays recorder.Strays   // requests no route answered; has its own lock

	mu      sync.Mutex // guards commits, prs, issues and deployments
	commits []commit   // master, oldest first
	prs     map[int]pullRequest
	issues  []IssueRecord
	// deployments are those created, oldest first (deployments.go).
	deployments []DeploymentRecord
}

// commit is one commit on master.
type commit struct {
	sha, message, authorLogin string
	changes                   []change
	date                      time.Time
}

// change is what one commit did to one file.
type change struct {
	status, name, previous string
	additions, deletions   int
}

type pullRequest struct {
	number                                      int
	title, authorLogin, headRef, headSHA, state string
	merged, draft                               bool
}

// IssueRecord is what POST /repos/{o}/{r}/issues received.
type IssueRecord struct {
	Number    int
	Title     string
	Body      string
	Labels    []string
	Assignees []string
}

// New returns an empty repository owner/repo. With token "" any request is
// accepted; otherwise requests must carry "Authorization: Bearer <token>"
// (or GitHub's older "token <token>").
func New(owner, repo, token string) *Server {
	s := &Server{owner: owner, repo: repo, token: token, prs: map[int]pullRequest{}}
	s.rec.Name = "fakegithub"
	return s
}

// Commit appends a commit to master and returns its SHA. authorLogin ""
// makes GitHub's "author" null, as for an email tied to no account. Each
// file is a changed path: "name" is added the first time it appears and
// modified after; "-name" removes it; "old => new" renames it.
func (s *Server) Commit(message, authorLogin string, files ...string) (sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := ""
	if n := len(s.commits); n > 0 {
		parent = s.commits[n-1].sha
	}
	exists := s.filesAt(len(s.commits) - 1)
	var changes []change
	for _, f := range files {
		changes = append(changes, parseChange(f, exists))
	}
	h := sha1.New()
	fmt.Fprintf(h, "%s/%s\x00%s\x00%s\x00%s\x00%q", s.owner, s.repo, parent, authorLogin, message, files)
	c := commit{
		sha:         hex.EncodeToString(h.Sum(nil)),
		message:     message,
		authorLogin: authorLogin,
		changes:     changes,
		date:        epoch().Add(time.Duration(len(s.commits)) * time.Hour),
	}
	s.commits = append(s.commits, c)
	return c.sha
}

// parseChange reads one Commit file argument and updates exists, the set of
// files present before it.
func parseChange(f string, exists map[string]bool) change {
	if old, nu, ok := strings.Cut(f, " => "); ok {
		delete(exists, old)
		exists[nu] = true
		return change{status: "renamed", name: nu, previous: old}
	}
	if name, ok := strings.CutPrefix(f, "-"); ok {
		delete(exists, name)
		return change{status: "removed", name: name, deletions: 10}
	}
	if !exists[f] {
		exists[f] = true
		return change{status: "added", name: f, additions: 10}
	}
	return change{status: "modified", name: f, additions: 3, deletions: 1}
}

// filesAt replays history up to and including commit i (-1 = empty tree).
// Callers hold s.mu.
func (s *Server) filesAt(i int) map[string]bool {
	exists := map[string]bool{}
	for _, c := range s.commits[:i+1] {
		for _, ch := range c.changes {
			switch ch.status {
			case "removed":
				delete(exists, ch.name)
			case "renamed":
				delete(exists, ch.previous)
				exists[ch.name] = true
			default:
				exists[ch.name] = true
			}
		}
	}
	return exists
}

// Head returns master's newest SHA, or "" before the first Commit.
func (s *Server) Head() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.commits) == 0 {
		return ""
	}
	return s.commits[len(s.commits)-1].sha
}

// AddPR adds or replaces pull request number. state is "open" or "closed";
// merged implies closed.
func (s *Server) AddPR(number int, title, authorLogin, headRef, headSHA, state string, merged bool) {
	if merged {
		state = "closed"
	}
	if state == "" {
		state = "open"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	draft := s.prs[number].draft
	s.prs[number] = pullRequest{number: number, title: title, authorLogin: authorLogin,
		headRef: headRef, headSHA: headSHA, state: state, merged: merged, draft: draft}
}

// SetDraft marks an existing pull request as a draft or ready for review.
func (s *Server) SetDraft(number int, draft bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pr, ok := s.prs[number]; ok {
		pr.draft = draft
		s.prs[number] = pr
	}
}

// Issues returns the issues created so far, oldest first.
func (s *Server) Issues() []IssueRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]IssueRecord, len(s.issues))
	for i, is := range s.issues {
		is.Labels = slices.Clone(is.Labels)
		is.Assignees = slices.Clone(is.Assignees)
		out[i] = is
	}
	return out
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call { return s.rec.Calls() }

// Count returns how many requests matched method and path. path may end in
// "*" to match a prefix; method "" matches any method.
func (s *Server) Count(method, path string) int { return s.rec.Count(method, path) }

// FailNext makes the next request matching method and path (same rules as
// Count) get status, header and body instead of its normal answer. An empty
// body with an error status becomes GitHub's {"message": ...} shape.
// Failures queue: each is used once, oldest first. A test that needs the
// failure to happen calls Require on the stub returned.
func (s *Server) FailNext(method, path string, status int, header http.Header, body string) *recorder.Stub {
	return s.rec.FailNext(method, path, status, header, body)
}

// Unmatched describes every request no route answered so far ("METHOD
// path"), oldest first, including those AllowUnmatched covers.
func (s *Server) Unmatched() []string { return s.strays.List() }

// AllowUnmatched lets requests matching method and path (the rules of
// Count) go to no route without FailOnUnmatched failing the test: for tests
// that call an unknown endpoint on purpose.
func (s *Server) AllowUnmatched(method, path string) { s.strays.Allow(method, path) }

// FailOnUnmatched fails t when it ends if the fake received a request no
// route answered and AllowUnmatched does not cover. A harness calls it
// before registering the cleanup that stops the code under test, so that
// requests made while stopping are checked too.
func (s *Server) FailOnUnmatched(t recorder.TB) {
	t.Helper()
	s.strays.FailOn(t, "fakegithub")
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	escaped := r.URL.EscapedPath()

	f, failed := s.rec.Record(Call{
		Method: r.Method, Path: escaped, RawQuery: r.URL.RawQuery, Header: r.Header, Body: body,
	}, r.URL.Path)
	if failed {
		writeFailure(w, f)
		return
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"message": "Bad credentials", "documentation_url": docsURL, "status": "401",
		})
		return
	}
	s.route(w, r, escaped, body)
}

// writeFailure answers with an injected failure, giving an error without a
// body GitHub's {"message", "documentation_url"} shape.
func writeFailure(w http.ResponseWriter, f recorder.Failure) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := f.Body
	if body == "" && f.Status >= 400 {
		b, _ := json.Marshal(map[string]string{"message": http.StatusText(f.Status), "documentation_url": docsURL})
		body = string(b)
	}
	if w.Header().Get("Content-Type") == "" && body != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(f.Status)
	io.WriteString(w, body)
}

func (s *Server) authorized(h string) bool {
	if s.token == "" {
		return true
	}
	scheme, tok, ok := strings.Cut(h, " ")
	return ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "token")) && tok == s.token
}

// route dispatches on the escaped path, so that a branch name sent as
// feature%2Fx stays one segment.
func (s *Server) route(w http.ResponseWriter, r *http.Request, escaped string, body []byte) {
	// GitHub Enterprise Server serves the same API under /api/v3.
	escaped = strings.TrimPrefix(escaped, "/api/v3")
	// A path outside the one repository the fake serves has no route: it
	// is a stray FailOnUnmatched reports, as is an unknown resource.
	stray := func() {
		s.strays.Add(r.Method, r.URL.EscapedPath(), r.URL.Path, "")
		notFound(w)
	}
	rest, ok := strings.CutPrefix(escaped, "/repos/")
	if !ok {
		stray()
		return
	}
	parts := strings.SplitN(rest, "/", 4) // owner, repo, resource, the rest
	if len(parts) < 3 || !strings.EqualFold(parts[0], s.owner) || !strings.EqualFold(parts[1], s.repo) {
		stray()
		return
	}
	arg := ""
	if len(parts) == 4 {
		arg = parts[3]
	}
	switch {
	case r.Method == http.MethodGet && parts[2] == "compare" && arg != "":
		s.compare(w, r, arg)
	case r.Method == http.MethodGet && parts[2] == "pulls" && arg != "":
		s.pull(w, r, arg)
	case r.Method == http.MethodGet && parts[2] == "tarball":
		s.tarball(w, arg)
	case r.Method == http.MethodGet && parts[2] == "commits" && arg != "":
		s.getCommit(w, r, arg)
	case r.Method == http.MethodPost && parts[2] == "issues" && arg == "":
		s.createIssue(w, r, body)
	case r.Method == http.MethodPost && parts[2] == "deployments":
		s.deploymentRoute(w, r, arg, body)
	default:
		stray()
	}
}

// compare answers GET /repos/{o}/{r}/compare/{base}...{head}. go-github
// QueryEscapes both refs, so they are unescaped that way here.
func (s *Server) compare(w http.ResponseWriter, r *http.Request, basehead string) {
	rawBase, rawHead, ok := strings.Cut(basehead, "...")
	if !ok {
		notFound(w)
		return
	}
	base, head := unescapeRef(rawBase), unescapeRef(rawHead)

	s.mu.Lock()
	defer s.mu.Unlock()
	b, okB := s.resolve(base)
	h, okH := s.resolve(head)
	if !okB || !okH {
		notFound(w)
		return
	}
	api := apiBase(r)
	out := wireComparison{
		URL:          fmt.Sprintf("%s/repos/%s/%s/compare/%s...%s", api, s.owner, s.repo, rawBase, rawHead),
		HTMLURL:      fmt.Sprintf("%s/%s/%s/compare/%s...%s", webBase, s.owner, s.repo, rawBase, rawHead),
		PermalinkURL: fmt.Sprintf("%s/%s/%s/compare/%s:%s...%s:%s", webBase, s.owner, s.repo, s.owner, s.commits[b].sha[:7], s.owner, s.commits[h].sha[:7]),
		BaseCommit:   s.wireCommit(api, b, false),
		Commits:      []wireCommit{},
		Files:        []wireFile{},
	}
	out.DiffURL = out.HTMLURL + ".diff"
	out.PatchURL = out.HTMLURL + ".patch"
	switch {
	case b == h:
		out.Status = "identical"
		out.MergeBaseCommit = out.BaseCommit
	case b < h:
		out.Status = "ahead"
		out.AheadBy = h - b
		out.MergeBaseCommit = out.BaseCommit
		for i := b + 1; i <= h; i++ {
			out.Commits = append(out.Commits, s.wireCommit(api, i, false))
		}
		out.Files = s.aggregateFiles(b, h)
	default:
		// Linear history: head is an ancestor of base.
		out.Status = "behind"
		out.BehindBy = b - h
		out.MergeBaseCommit = s.wireCommit(api, h, false)
	}
	out.TotalCommits = len(out.Commits)
	out.Commits, out.Files = page(w, r, out.Commits, out.Files)
	writeJSON(w, http.StatusOK, out)
}

// page cuts a comparison's commits as GitHub does: unpaged, at most 250;
// with page or per_page, that page (per_page at most 100, default 30) with
// a Link header to the next and last, and the files on the first page only.
func page(w http.ResponseWriter, r *http.Request, commits []wireCommit, files []wireFile) ([]wireCommit, []wireFile) {
	q := r.URL.Query()
	if !q.Has("page") && !q.Has("per_page") {
		return commits[:min(len(commits), 250)], files
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(n, 1)
	last := max(1, (len(commits)+per-1)/per)
	link := func(p int) string {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s%s>", apiBase(r), u.RequestURI())
	}
	if n < last {
		w.Header().Set("Link", link(n+1)+`; rel="next", `+link(last)+`; rel="last"`)
	}
	if n > 1 {
		files = []wireFile{}
	}
	from := min((n-1)*per, len(commits))
	return commits[from:min(from+per, len(commits))], files
}

func unescapeRef(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// resolve finds a ref on master: a full or abbreviated SHA (4+ hex digits,
// unambiguous), "master"/"HEAD", refs/heads/master, or the head branch of a
// pull request whose head commit is on master. Callers hold s.mu.
func (s *Server) resolve(ref string) (int, bool) {
	if len(s.commits) == 0 {
		return 0, false
	}
	switch ref {
	case master, "HEAD", "refs/heads/" + master:
		return len(s.commits) - 1, true
	}
	if len(ref) >= 4 && len(ref) <= 40 && isHex(ref) {
		found := -1
		for i, c := range s.commits {
			if strings.HasPrefix(c.sha, strings.ToLower(ref)) {
				if found >= 0 {
					return 0, false // ambiguous
				}
				found = i
			}
		}
		if found >= 0 {
			return found, true
		}
	}
	for _, pr := range s.prs {
		if pr.headRef == ref || "refs/heads/"+pr.headRef == ref {
			for i, c := range s.commits {
				if c.sha == pr.headSHA {
					return i, true
				}
			}
		}
	}
	return 0, false
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// aggregateFiles is the net diff from commit b to commit h (b < h), the way
// GitHub reports a comparison: one entry per file, a file added then
// modified is "added", a rename keeps its original name. Callers hold s.mu.
func (s *Server) aggregateFiles(b, h int) []wireFile {
	atBase := s.filesAt(b)
	current := s.filesAt(b)
	origin := map[string]string{} // name now -> name at base ("" if new)
	removed := map[string]bool{}  // names at base that are gone
	adds, dels := map[string]int{}, map[string]int{}
	for _, c := range s.commits[b+1 : h+1] {
		for _, ch := range c.changes {
			switch ch.status {
			case "removed":
				o, ok := origin[ch.name]
				if !ok {
					o = ch.name
				}
				if o != "" {
					removed[o] = true
				}
				delete(origin, ch.name)
				delete(current, ch.name)
				delete(adds, ch.name)
				delete(dels, ch.name)
			case "renamed":
				o, ok := origin[ch.previous]
				if !ok {
					o = ch.previous
				}
				delete(origin, ch.previous)
				delete(current, ch.previous)
				origin[ch.name], current[ch.name] = o, true
				adds[ch.name], dels[ch.name] = adds[ch.previous], dels[ch.previous]
				delete(adds, ch.previous)
				delete(dels, ch.previous)
			default:
				if _, ok := origin[ch.name]; !ok {
					switch {
					case current[ch.name]:
						origin[ch.name] = ch.name
					case atBase[ch.name] && removed[ch.name]:
						delete(removed, ch.name) // removed and re-added: modified
						origin[ch.name] = ch.name
					default:
						origin[ch.name] = ""
					}
				}
				current[ch.name] = true
				adds[ch.name] += ch.additions
				dels[ch.name] += ch.deletions
			}
		}
	}
	var out []wireFile
	for name, o := range origin {
		f := wireFile{Filename: name, Additions: adds[name], Deletions: dels[name]}
		switch o {
		case "":
			f.Status = "added"
		case name:
			f.Status = "modified"
		default:
			f.Status, f.PreviousFilename = "renamed", o
		}
		out = append(out, f)
	}
	for name := range removed {
		out = append(out, wireFile{Filename: name, Status: "removed", Deletions: 10})
	}
	slices.SortFunc(out, func(a, b wireFile) int { return strings.Compare(a.Filename, b.Filename) })
	headSHA := s.commits[h].sha
	for i := range out {
		s.fillFile(&out[i], headSHA)
	}
	return out
}

func (s *Server) fillFile(f *wireFile, ref string) {
	f.Changes = f.Additions + f.Deletions
	f.SHA = fakeSHA("blob", ref, f.Filename)
	f.BlobURL = fmt.Sprintf("%s/%s/%s/blob/%s/%s", webBase, s.owner, s.repo, ref, f.Filename)
	f.RawURL = fmt.Sprintf("%s/%s/%s/raw/%s/%s", webBase, s.owner, s.repo, ref, f.Filename)
	f.ContentsURL = fmt.Sprintf("https://api.github.com/repos/%s/%s/contents/%s?ref=%s", s.owner, s.repo, f.Filename, ref)
	if f.Status != "removed" && f.Status != "renamed" {
		f.Patch = fmt.Sprintf("@@ -1,%d +1,%d @@", f.Deletions, f.Additions)
	}
}

// getCommit answers GET /repos/{o}/{r}/commits/{ref}, with stats and files.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.resolve(unescapeRef(ref))
	if !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{
			"message": "No commit found for SHA: " + unescapeRef(ref), "documentation_url": docsURL,
		})
		return
	}
	writeJSON(w, http.StatusOK, s.wireCommit(apiBase(r), i, true))
}

// wireCommit renders commit i as GitHub's RepositoryCommit. Callers hold s.mu.
func (s *Server) wireCommit(api string, i int, detailed bool) wireCommit {
	c := s.commits[i]
	repoAPI := fmt.Sprintf("%s/repos/%s/%s", api, s.owner, s.repo)
	repoWeb := fmt.Sprintf("%s/%s/%s", webBase, s.owner, s.repo)
	actor := wireGitActor{Name: "Unknown Contributor", Email: "contributor@example.com", Date: c.date.Format(time.RFC3339)}
	var author *wireUser
	if c.authorLogin != "" {
		actor.Name = c.authorLogin
		actor.Email = fmt.Sprintf("%d+%s@users.noreply.github.com", userID(c.authorLogin), c.authorLogin)
		u := user(c.authorLogin)
		author = &u
	}
	wc := wireCommit{
		SHA:    c.sha,
		NodeID: "C_" + c.sha[:20],
		Commit: wireGitCommit{
			Author:       actor,
			Committer:    actor,
			Message:      c.message,
			Tree:         wireRef{SHA: fakeSHA("tree", c.sha), URL: repoAPI + "/git/trees/" + fakeSHA("tree", c.sha)},
			URL:          repoAPI + "/git/commits/" + c.sha,
			Verification: wireVerification{Reason: "unsigned"},
		},
		URL:         repoAPI + "/commits/" + c.sha,
		HTMLURL:     repoWeb + "/commit/" + c.sha,
		CommentsURL: repoAPI + "/commits/" + c.sha + "/comments",
		Author:      author,
		Committer:   author,
		Parents:     []wireRef{},
	}
	if i > 0 {
		p := s.commits[i-1].sha
		wc.Parents = append(wc.Parents, wireRef{SHA: p, URL: repoAPI + "/commits/" + p, HTMLURL: repoWeb + "/commit/" + p})
	}
	if detailed {
		st := &wireStats{}
		wc.Files = []wireFile{}
		for _, ch := range c.changes {
			f := wireFile{Filename: ch.name, Status: ch.status, Additions: ch.additions, Deletions: ch.deletions, PreviousFilename: ch.previous}
			s.fillFile(&f, c.sha)
			st.Additions += f.Additions
			st.Deletions += f.Deletions
			wc.Files = append(wc.Files, f)
		}
		st.Total = st.Additions + st.Deletions
		wc.Stats = st
	}
	return wc
}

// pull answers GET /repos/{o}/{r}/pulls/{n}.
func (s *Server) pull(w http.ResponseWriter, r *http.Request, arg string) {
	n, err := strconv.Atoi(arg)
	s.mu.Lock()
	pr, ok := s.prs[n]
	baseSHA := ""
	if len(s.commits) > 0 {
		baseSHA = s.commits[len(s.commits)-1].sha
	}
	s.mu.Unlock()
	if err != nil || !ok {
		notFound(w)
		return
	}
	repoAPI := fmt.Sprintf("%s/repos/%s/%s", apiBase(r), s.owner, s.repo)
	htmlURL := fmt.Sprintf("%s/%s/%s/pull/%d", webBase, s.owner, s.repo, n)
	created := epoch().Add(-24 * time.Hour).Format(time.RFC3339)
	repo := s.wireRepo()
	owner := user(s.owner)
	out := wirePull{
		URL:               fmt.Sprintf("%s/pulls/%d", repoAPI, n),
		ID:                int64(1000000 + n),
		NodeID:            fmt.Sprintf("PR_fake%d", n),
		HTMLURL:           htmlURL,
		DiffURL:           htmlURL + ".diff",
		PatchURL:          htmlURL + ".patch",
		IssueURL:          fmt.Sprintf("%s/issues/%d", repoAPI, n),
		Number:            n,
		State:             pr.state,
		Locked:            false,
		Title:             pr.title,
		User:              user(cmp.Or(pr.authorLogin, "ghost")), // GitHub's stand-in for deleted accounts
		Body:              nil,
		CreatedAt:         created,
		UpdatedAt:         created,
		Draft:             pr.draft,
		Merged:            pr.merged,
		Mergeable:         nil,
		AuthorAssociation: "MEMBER",
		Head: wireBranch{
			Label: s.owner + ":" + pr.headRef, Ref: pr.headRef, SHA: pr.headSHA, User: owner, Repo: repo,
		},
		Base: wireBranch{
			Label: s.owner + ":" + master, Ref: master, SHA: baseSHA, User: owner, Repo: repo,
		},
		Comments: 0, Commits: 1, ChangedFiles: 1,
	}
	if pr.state == "closed" {
		out.ClosedAt = &created
	}
	if pr.merged {
		out.MergedAt = &created
		mc := pr.headSHA
		out.MergeCommitSHA = &mc
		out.MergedBy = &owner
	}
	writeJSON(w, http.StatusOK, out)
}

// tarball answers GET /repos/{o}/{r}/tarball/{ref} with the 302 that
// go-github's GetArchiveLink requires; the Location is codeload's.
func (s *Server) tarball(w http.ResponseWriter, ref string) {
	s.mu.Lock()
	_, ok := s.resolve(unescapeRef(ref))
	if ref == "" {
		ok = len(s.commits) > 0
		ref = master
	}
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("https://codeload.github.com/%s/%s/legacy.tar.gz/%s", s.owner, s.repo, ref))
	w.WriteHeader(http.StatusFound)
}

// createIssue answers POST /repos/{o}/{r}/issues with 201. Issues share
// their number sequence with pull requests, as on GitHub.
func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Title     *string  `json:"title"`
		Body      *string  `json:"body"`
		Labels    []string `json:"labels"`
		Assignees []string `json:"assignees"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": docsURL})
		return
	}
	if req.Title == nil || *req.Title == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message":           "Validation Failed",
			"errors":            []map[string]string{{"resource": "Issue", "code": "missing_field", "field": "title"}},
			"documentation_url": docsURL,
		})
		return
	}
	rec := IssueRecord{Title: *req.Title, Labels: req.Labels, Assignees: req.Assignees}
	if req.Body != nil {
		rec.Body = *req.Body
	}

	s.mu.Lock()
	for n := range s.prs {
		rec.Number = max(rec.Number, n)
	}
	for _, is := range s.issues {
		rec.Number = max(rec.Number, is.Number)
	}
	rec.Number++
	s.issues = append(s.issues, rec)
	s.mu.Unlock()

	repoAPI := fmt.Sprintf("%s/repos/%s/%s", apiBase(r), s.owner, s.repo)
	now := time.Now().UTC().Format(time.RFC3339)
	labels := []wireLabel{}
	for _, l := range rec.Labels {
		labels = append(labels, wireLabel{ID: userID("label:" + l), NodeID: "LA_" + l, URL: repoAPI + "/labels/" + url.PathEscape(l), Name: l, Color: "ededed"})
	}
	assignees := []wireUser{}
	for _, a := range rec.Assignees {
		assignees = append(assignees, user(a))
	}
	out := wireIssue{
		URL:           fmt.Sprintf("%s/issues/%d", repoAPI, rec.Number),
		RepositoryURL: repoAPI,
		LabelsURL:     fmt.Sprintf("%s/issues/%d/labels{/name}", repoAPI, rec.Number),
		CommentsURL:   fmt.Sprintf("%s/issues/%d/comments", repoAPI, rec.Number),
		EventsURL:     fmt.Sprintf("%s/issues/%d/events", repoAPI, rec.Number),
		HTMLURL:       fmt.Sprintf("%s/%s/%s/issues/%d", webBase, s.owner, s.repo, rec.Number),
		ID:            int64(2000000 + rec.Number),
		NodeID:        fmt.Sprintf("I_fake%d", rec.Number),
		Number:        rec.Number,
		Title:         rec.Title,
		User:          user("devy-bot"),
		Labels:        labels,
		State:         "open",
		Assignees:     assignees,
		Body:          req.Body,
		CreatedAt:     now,
		UpdatedAt:     now,
		AuthorAssoc:   "NONE",
	}
	w.Header().Set("Location", out.URL)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) wireRepo() wireRepo {
	return wireRepo{
		ID: userID("repo:" + s.owner + "/" + s.repo), NodeID: "R_fake", Name: s.repo,
		FullName: s.owner + "/" + s.repo, Private: true, Owner: user(s.owner),
		HTMLURL:       fmt.Sprintf("%s/%s/%s", webBase, s.owner, s.repo),
		URL:           fmt.Sprintf("https://api.github.com/repos/%s/%s", s.owner, s.repo),
		DefaultBranch: master,
	}
}

// apiBase is the API root as the client reached it, for "url" fields.
func apiBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func user(login string) wireUser {
	id := userID(login)
	return wireUser{
		Login: login, ID: id, NodeID: fmt.Sprintf("U_fake%d", id),
		AvatarURL: fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		URL:       "https://api.github.com/users/" + login, HTMLURL: webBase + "/" + login,
		Type: "User",
	}
}

// userID is a stable positive id derived from a name.
func userID(name string) int64 {
	h := fnv.New32a()
	io.WriteString(h, name)
	return int64(h.Sum32()%90000000) + 1000000
}

func fakeSHA(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		io.WriteString(h, p+"\x00")
	}
	return hex.EncodeToString(h.Sum(nil))
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docsURL, "status": "404"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	// A constant, generous quota: go-github stops calling by itself once it
	// sees Remaining 0, so the fake never reports exhaustion unless a test
	// injects it with FailNext.
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Used", "1")
	h.Set("X-RateLimit-Resource", "core")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	w.WriteHeader(status)
	w.Write(b)
}
