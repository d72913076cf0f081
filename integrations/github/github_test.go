package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/internal/fakegithub"
)

const token = "ghp_test"

// newFake starts the fake GitHub and a client pointed at it. The base URL is
// given without its trailing slash on purpose: New must add it.
func newFake(t *testing.T) (*fakegithub.Server, *github.Client) {
	t.Helper()
	fake := fakegithub.New("acme", "shop", token)
	fake.FailOnUnmatched(t)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := github.New(srv.URL, token, "acme/shop", srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return fake, c
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, base, repo string
		wantWeb          string
		wantErr          bool
	}{
		{name: "default is github.com", base: "", repo: "acme/shop", wantWeb: "https://github.com/acme/shop"},
		{name: "enterprise server", base: "https://ghe.acme.io/api/v3/", repo: "acme/shop", wantWeb: "https://ghe.acme.io/acme/shop"},
		{name: "enterprise cloud", base: "https://api.acme.ghe.com", repo: "acme/shop", wantWeb: "https://acme.ghe.com/acme/shop"},
		{name: "test server", base: "http://127.0.0.1:8080", repo: "acme/my-shop.web_2", wantWeb: "http://127.0.0.1:8080/acme/my-shop.web_2"},
		{name: "no slash", base: "", repo: "acmeshop", wantErr: true},
		{name: "too many parts", base: "", repo: "acme/shop/x", wantErr: true},
		{name: "empty owner", base: "", repo: "/shop", wantErr: true},
		{name: "space", base: "", repo: "acme/my shop", wantErr: true},
		{name: "dot-dot", base: "", repo: "acme/..", wantErr: true},
		{name: "relative base", base: "api.github.com", repo: "acme/shop", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := github.New(tt.base, "", tt.repo, nil)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("New(%q, %q) succeeded, want error", tt.base, tt.repo)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.WebURL(); got != tt.wantWeb {
				t.Errorf("WebURL = %q, want %q", got, tt.wantWeb)
			}
			if got := c.Repo(); got != tt.repo {
				t.Errorf("Repo = %q, want %q", got, tt.repo)
			}
		})
	}
}

func TestIsSHA(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"abc1234", true}, {"0123456789abcdef0123456789abcdef01234567", true},
		{"abc123", false}, {"abcdefg", false}, {"ABC1234", false}, {" abc1234", false}, {"abc1234 ", false},
		{"0123456789abcdef0123456789abcdef012345678", false}, {"", false}, {"<!here>", false},
	}
	for _, tt := range tests {
		if got := github.IsSHA(tt.s); got != tt.want {
			t.Errorf("IsSHA(%q) = %v; want %v", tt.s, got, tt.want)
		}
	}
}

func TestLinks(t *testing.T) {
	c, err := github.New("", "", "acme/shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"commit", c.CommitURL("abc1234"), "https://github.com/acme/shop/commit/abc1234"},
		{"full commit", c.CommitURL("8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70"), "https://github.com/acme/shop/commit/8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70"},
		// Anything but 7 to 40 lowercase hex digits is not linked: the
		// text may come from a sender (a Heroku build's version) and would
		// plant markup in Slack's <url|label>.
		{"markup", c.CommitURL("abc1234|<!channel>"), ""},
		{"fake approve link", c.CommitURL("x> <https://evil.example/approve|Approve"), ""},
		{"too short", c.CommitURL("abc123"), ""},
		{"too long", c.CommitURL("8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f701"), ""},
		{"uppercase", c.CommitURL("ABC1234"), ""},
		{"branch", c.CommitURL("main"), ""},
		{"empty", c.CommitURL(""), ""},
		{"newline", c.CommitURL("abc1234\n"), ""},
		{"pull", c.PullURL(42), "https://github.com/acme/shop/pull/42"},
		{"compare", c.CompareURL("v1.0", "feature/x"), "https://github.com/acme/shop/compare/v1.0...feature/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	fake, c := newFake(t)
	base := fake.Commit("Initial commit", "alice", "README.md", "app.go")
	merge := fake.Commit("Merge pull request #12 from acme/fix-login\n\nFix the login form", "bob", "login.go")
	squash := fake.Commit("Speed up checkout (#15)\n\n* first\n* second", "", "app.go", "login.go")
	direct := fake.Commit("Bump version", "carol", "README.md => docs/README.md")

	got, err := c.Compare(context.Background(), base, direct)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	if got.Status != "ahead" || got.AheadBy != 3 || got.BehindBy != 0 || got.TotalCommits != 3 {
		t.Errorf("status = %q ahead %d behind %d total %d, want ahead 3 0 3", got.Status, got.AheadBy, got.BehindBy, got.TotalCommits)
	}
	wantURL := "https://github.com/acme/shop/compare/" + base + "..." + direct
	if got.URL != wantURL {
		t.Errorf("URL = %q, want %q", got.URL, wantURL)
	}
	wantCommits := []github.Commit{
		{SHA: merge, Message: "Merge pull request #12 from acme/fix-login", AuthorLogin: "bob", AuthorName: "bob", PR: 12,
			AuthorEmail: "12164244+bob@users.noreply.github.com", AuthoredAt: time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC),
			URL: "https://github.com/acme/shop/commit/" + merge},
		{SHA: squash, Message: "Speed up checkout (#15)", AuthorLogin: "", AuthorName: "Unknown Contributor", PR: 15,
			AuthorEmail: "contributor@example.com", AuthoredAt: time.Date(2024, 1, 2, 11, 0, 0, 0, time.UTC),
			URL: "https://github.com/acme/shop/commit/" + squash},
		{SHA: direct, Message: "Bump version", AuthorLogin: "carol", AuthorName: "carol", PR: 0,
			AuthorEmail: "19614162+carol@users.noreply.github.com", AuthoredAt: time.Date(2024, 1, 2, 12, 0, 0, 0, time.UTC),
			URL: "https://github.com/acme/shop/commit/" + direct},
	}
	if len(got.Commits) != len(wantCommits) {
		t.Fatalf("got %d commits, want %d: %+v", len(got.Commits), len(wantCommits), got.Commits)
	}
	for i, want := range wantCommits {
		if got.Commits[i] != want {
			t.Errorf("commit %d = %+v, want %+v", i, got.Commits[i], want)
		}
	}
	wantFiles := []github.File{
		{Name: "app.go", Status: "modified", Additions: 3, Deletions: 1},
		{Name: "docs/README.md", PreviousName: "README.md", Status: "renamed"},
		{Name: "login.go", Status: "added", Additions: 13, Deletions: 1},
	}
	if len(got.Files) != len(wantFiles) {
		t.Fatalf("got files %+v, want %+v", got.Files, wantFiles)
	}
	for i, want := range wantFiles {
		if got.Files[i] != want {
			t.Errorf("file %d = %+v, want %+v", i, got.Files[i], want)
		}
	}
}

// Unpaged, GitHub lists at most 250 commits of a comparison; a promotion of
// more must still know every author (DEVY_APPROVER_NOT_AUTHOR).
func TestCompareReadsEveryPage(t *testing.T) {
	fake, c := newFake(t)
	base := fake.Commit("base", "alice", "a.go")
	for i := range 260 {
		fake.Commit(fmt.Sprintf("change %d", i), "bob", fmt.Sprintf("f%d.go", i%3))
	}
	last := fake.Commit("the last one", "mallory", "z.go")
	got, err := c.Compare(context.Background(), base, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Commits) != 261 || got.TotalCommits != 261 || got.Commits[260].AuthorLogin != "mallory" || got.Commits[0].Message != "change 0" {
		t.Fatalf("read %d of %d commits, last by %q", len(got.Commits), got.TotalCommits, got.Commits[len(got.Commits)-1].AuthorLogin)
	}
	if len(got.Files) != 4 {
		t.Errorf("files = %d, want the 4 changed, once", len(got.Files))
	}
	if n := fake.Count("GET", "/repos/acme/shop/compare/*"); n != 3 {
		t.Errorf("%d requests; want 3 pages of 100", n)
	}
}

func TestCompareStatuses(t *testing.T) {
	fake, c := newFake(t)
	first := fake.Commit("one", "alice", "a.go")
	second := fake.Commit("two", "alice", "b.go")
	fake.AddPR(7, "Feature X", "alice", "feature/x", second, "open", false)

	tests := []struct {
		name, base, head string
		status           string
		ahead, behind    int
		commits          int
		wantPath         string // path as it reached GitHub
	}{
		{name: "identical", base: second, head: second, status: "identical"},
		{name: "behind", base: second, head: first, status: "behind", behind: 1},
		{name: "short sha and branch", base: first[:7], head: "master", status: "ahead", ahead: 1, commits: 1},
		{name: "branch with slash is escaped", base: first, head: "feature/x", status: "ahead", ahead: 1, commits: 1,
			wantPath: "/repos/acme/shop/compare/" + first + "...feature%2Fx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Compare(context.Background(), tt.base, tt.head)
			if err != nil {
				t.Fatalf("Compare: %v", err)
			}
			if got.Status != tt.status || got.AheadBy != tt.ahead || got.BehindBy != tt.behind || len(got.Commits) != tt.commits {
				t.Errorf("got %s ahead %d behind %d commits %d, want %s %d %d %d",
					got.Status, got.AheadBy, got.BehindBy, len(got.Commits), tt.status, tt.ahead, tt.behind, tt.commits)
			}
			if tt.wantPath != "" && fake.Count("GET", tt.wantPath) != 1 {
				t.Errorf("no request to %s; calls: %+v", tt.wantPath, fake.Calls())
			}
		})
	}
}

func TestPullRequest(t *testing.T) {
	fake, c := newFake(t)
	fake.AddPR(12, "Fix login", "bob", "fix-login", "0123456789abcdef0123456789abcdef01234567", "closed", true)
	fake.AddPR(13, "WIP: new cart", "alice", "cart", "89abcdef0123456789abcdef0123456789abcdef", "open", false)
	fake.SetDraft(13, true)

	tests := []struct {
		n    int
		want github.PullRequest
	}{
		{12, github.PullRequest{Number: 12, Title: "Fix login", State: "closed", AuthorLogin: "bob", HeadRef: "fix-login",
			HeadSHA: "0123456789abcdef0123456789abcdef01234567", URL: "https://github.com/acme/shop/pull/12", Merged: true}},
		{13, github.PullRequest{Number: 13, Title: "WIP: new cart", State: "open", AuthorLogin: "alice", HeadRef: "cart",
			HeadSHA: "89abcdef0123456789abcdef0123456789abcdef", URL: "https://github.com/acme/shop/pull/13", Draft: true}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.n), func(t *testing.T) {
			got, err := c.PullRequest(context.Background(), tt.n)
			if err != nil {
				t.Fatalf("PullRequest: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTarballURL(t *testing.T) {
	fake, c := newFake(t)
	sha := fake.Commit("one", "alice", "a.go")
	got, err := c.TarballURL(context.Background(), sha)
	if err != nil {
		t.Fatalf("TarballURL: %v", err)
	}
	if want := "https://codeload.github.com/acme/shop/legacy.tar.gz/" + sha; got != want {
		t.Errorf("TarballURL = %q, want %q", got, want)
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].Header.Get("Authorization") != "Bearer "+token {
		t.Errorf("want one call with the bearer token, got %+v", calls)
	}
}

func TestCreateIssue(t *testing.T) {
	fake, c := newFake(t)
	fake.AddPR(40, "Older PR", "alice", "x", "0123456789abcdef0123456789abcdef01234567", "open", false)
	got, err := c.CreateIssue(context.Background(), "Deploy of abc1234 failed", "Release v42 crashed.", []string{"deploy", "bug"})
	if err != nil {
		t.Fatalf("CreateIssue: %v", err)
	}
	// Issues and pull requests share one number sequence.
	want := github.Issue{Number: 41, URL: "https://github.com/acme/shop/issues/41"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	recs := fake.Issues()
	if len(recs) != 1 || recs[0].Title != "Deploy of abc1234 failed" || recs[0].Body != "Release v42 crashed." ||
		strings.Join(recs[0].Labels, ",") != "deploy,bug" {
		t.Errorf("fake recorded %+v", recs)
	}
}

func TestUnauthenticated(t *testing.T) {
	fake := fakegithub.New("acme", "shop", "")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.Commit("one", "alice", "a.go")
	c, err := github.New(srv.URL+"/", "", "acme/shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TarballURL(context.Background(), "master"); err != nil {
		t.Fatalf("TarballURL: %v", err)
	}
	if h := fake.Calls()[0].Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization = %q, want none", h)
	}
}

// TestErrors drives every call through answers the real GitHub gives when
// things go wrong, and checks what the user would read.
func TestErrors(t *testing.T) {
	reset := time.Now().Unix() + 90
	tests := []struct {
		name       string
		call       string // compare, pull, tarball or issue
		status     int
		header     map[string]string
		body       string
		wantStatus int
		wantMsg    string
		wantRetry  time.Duration // compared to the second
		wantUser   string
	}{
		{name: "bad token", call: "compare", status: 401,
			body:       `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`,
			wantStatus: 401, wantMsg: "Bad credentials",
			wantUser: "GitHub refused Devy's token (401) while comparing abc1234...def5678; ask an admin to check Devy's GitHub token."},
		{name: "unknown pull request", call: "pull", status: 404,
			body:       `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/pulls/pulls#get-a-pull-request"}`,
			wantStatus: 404, wantMsg: "Not Found",
			wantUser: "GitHub answered 404 while reading pull request #7; check Devy's GitHub configuration."},
		{name: "primary rate limit", call: "pull", status: 403,
			header:     map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)},
			body:       `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`,
			wantStatus: 403, wantMsg: "API rate limit exceeded for user ID 1.", wantRetry: 90 * time.Second,
			wantUser: "GitHub is rate-limiting Devy (403) while reading pull request #7; try again in {wait}."},
		{name: "secondary rate limit", call: "issue", status: 403,
			header:     map[string]string{"Retry-After": "30"},
			body:       `{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			wantStatus: 403, wantMsg: "You have exceeded a secondary rate limit.", wantRetry: 30 * time.Second,
			wantUser: "GitHub is rate-limiting Devy (403) while opening an issue; try again in 30s."},
		{name: "429 with Retry-After", call: "compare", status: 429,
			header:     map[string]string{"Retry-After": "7"},
			body:       `{"message":"Too many requests"}`,
			wantStatus: 429, wantMsg: "Too many requests", wantRetry: 7 * time.Second,
			wantUser: "GitHub is rate-limiting Devy (429) while comparing abc1234...def5678; try again in 7s."},
		{name: "validation failed", call: "issue", status: 422,
			body:       `{"message":"Validation Failed","errors":[{"resource":"Issue","code":"missing_field","field":"title"}]}`,
			wantStatus: 422, wantMsg: "Validation Failed: title missing_field",
			wantUser: "GitHub answered 422 while opening an issue; try again in a minute."},
		{name: "server error", call: "compare", status: 502, body: "<html>Bad gateway</html>",
			wantStatus: 502,
			wantUser:   "GitHub answered 502 while comparing abc1234...def5678; try again in a minute."},
		{name: "tarball 404", call: "tarball", status: 404, body: `{"message":"Not Found"}`,
			wantStatus: 404,
			wantUser:   "GitHub answered 404 while finding the source tarball of abc1234; check Devy's GitHub configuration."},
		{name: "tarball 200 instead of redirect", call: "tarball", status: 200, body: "tarball bytes",
			wantStatus: 200, wantMsg: "unexpected response",
			wantUser: "GitHub answered 200 while finding the source tarball of abc1234; try again in a minute."},
		{name: "tarball rate limited", call: "tarball", status: 403,
			header:     map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)},
			wantStatus: 403, wantRetry: 90 * time.Second,
			wantUser: "GitHub is rate-limiting Devy (403) while finding the source tarball of abc1234; try again in {wait}."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := github.New(srv.URL, token, "acme/shop", nil)
			if err != nil {
				t.Fatal(err)
			}
			err = call(c, tt.call)
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
			}
			if ae.Service != "GitHub" || ae.StatusCode != tt.wantStatus || ae.Message != tt.wantMsg {
				t.Errorf("got service %q status %d message %q, want GitHub %d %q", ae.Service, ae.StatusCode, ae.Message, tt.wantStatus, tt.wantMsg)
			}
			// A reset header is in whole seconds of wall-clock time, so a
			// second may tick between building it and reading it.
			if ae.RetryAfter != tt.wantRetry && (tt.header["X-RateLimit-Reset"] == "" || ae.RetryAfter != tt.wantRetry-time.Second) {
				t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, tt.wantRetry)
			}
			wantUser := strings.ReplaceAll(tt.wantUser, "{wait}", ae.RetryAfter.String())
			if got := ae.UserMessage(); got != wantUser {
				t.Errorf("UserMessage =\n%q\nwant\n%q", got, wantUser)
			}
		})
	}
}

func call(c *github.Client, which string) error {
	ctx := context.Background()
	var err error
	switch which {
	case "compare":
		_, err = c.Compare(ctx, "abc1234def0abc1234def0abc1234def0abc1234", "def5678")
	case "pull":
		_, err = c.PullRequest(ctx, 7)
	case "tarball":
		_, err = c.TarballURL(ctx, "abc1234def0abc1234def0abc1234def0abc1234")
	case "issue":
		_, err = c.CreateIssue(ctx, "t", "b", nil)
	}
	return err
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	c, err := github.New(srv.URL, token, "acme/shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, which := range []string{"compare", "pull", "tarball", "issue"} {
		t.Run(which, func(t *testing.T) {
			err := call(c, which)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.StatusCode != 0 || ae.Err == nil {
				t.Fatalf("got %#v, want an *apierr.Error with status 0", err)
			}
			if !strings.HasPrefix(ae.UserMessage(), "GitHub could not be reached while ") {
				t.Errorf("UserMessage = %q", ae.UserMessage())
			}
		})
	}
}

func TestFakeFailuresReachTheUser(t *testing.T) {
	fake, c := newFake(t)
	sha := fake.Commit("one", "alice", "a.go")
	fake.FailNext("GET", "/repos/acme/shop/tarball/*", http.StatusServiceUnavailable, nil, "").Require(t)
	if _, err := c.TarballURL(context.Background(), sha); apierr.StatusCode(err) != 503 {
		t.Fatalf("first call: got %v, want a 503", err)
	}
	if _, err := c.TarballURL(context.Background(), sha); err != nil {
		t.Fatalf("second call should succeed: %v", err)
	}

	_, wrong := newFake(t)
	if _, err := wrong.Compare(context.Background(), "master", "nope"); apierr.StatusCode(err) != 404 {
		t.Errorf("unknown ref: got %v, want 404", err)
	}

	bad, err := github.New(strings.TrimSuffix(c.WebURL(), "/acme/shop"), "wrong", "acme/shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.PullRequest(context.Background(), 1)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Message != "Bad credentials" {
		t.Errorf("wrong token: got %v, want 401 Bad credentials", err)
	}
}
