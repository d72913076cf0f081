package fakegithub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/devy-chatops/devy/internal/fakegithub"
)

// start runs the fake and returns a real go-github client pointed at it.
func start(t *testing.T, token string) (*fakegithub.Server, *gh.Client, *httptest.Server) {
	t.Helper()
	fake := fakegithub.New("acme", "shop", token)
	fake.FailOnUnmatched(t)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c := gh.NewClient(srv.Client())
	if token != "" {
		c = c.WithAuthToken(token)
	}
	c.BaseURL, _ = url.Parse(srv.URL + "/")
	return fake, c, srv
}

func TestCompareFiles(t *testing.T) {
	tests := []struct {
		name    string
		history [][]string // files per commit; the first commit is the base
		want    []string   // "status name [previous] +adds -dels"
	}{
		{name: "added then modified stays added",
			history: [][]string{{"a"}, {"b"}, {"b"}},
			want:    []string{"added b +13 -1"}},
		{name: "modified twice adds up",
			history: [][]string{{"a"}, {"a"}, {"a"}},
			want:    []string{"modified a +6 -2"}},
		{name: "removed",
			history: [][]string{{"a", "b"}, {"-a"}},
			want:    []string{"removed a +0 -10"}},
		{name: "added then removed vanishes",
			history: [][]string{{"a"}, {"b"}, {"-b"}},
			want:    nil},
		{name: "removed then re-added is modified",
			history: [][]string{{"a"}, {"-a"}, {"a"}},
			want:    []string{"modified a +10 -0"}},
		{name: "rename chain keeps the base name",
			history: [][]string{{"a"}, {"a => b"}, {"b => c"}, {"c"}},
			want:    []string{"renamed c a +3 -1"}},
		{name: "rename of a new file is an add",
			history: [][]string{{"a"}, {"x"}, {"x => y"}},
			want:    []string{"added y +10 -0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, "")
			var shas []string
			for i, files := range tt.history {
				shas = append(shas, fake.Commit("c"+string(rune('0'+i)), "alice", files...))
			}
			cmp, _, err := c.Repositories.CompareCommits(context.Background(), "acme", "shop", shas[0], shas[len(shas)-1], nil)
			if err != nil {
				t.Fatalf("CompareCommits: %v", err)
			}
			var got []string
			for _, f := range cmp.Files {
				s := f.GetStatus() + " " + f.GetFilename()
				if f.GetPreviousFilename() != "" {
					s += " " + f.GetPreviousFilename()
				}
				s += " +" + strconv.Itoa(f.GetAdditions()) + " -" + strconv.Itoa(f.GetDeletions())
				got = append(got, s)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("files = %q, want %q", got, tt.want)
			}
			if cmp.GetTotalCommits() != len(shas)-1 || len(cmp.Commits) != len(shas)-1 {
				t.Errorf("total_commits %d, %d commits; want %d", cmp.GetTotalCommits(), len(cmp.Commits), len(shas)-1)
			}
		})
	}
}

// TestCompareWireFormat checks the raw JSON against GitHub's shape, in
// particular that an unknown author is sent as null, not omitted.
func TestCompareWireFormat(t *testing.T) {
	fake, _, srv := start(t, "")
	base := fake.Commit("one", "alice", "a")
	head := fake.Commit("two", "", "a")
	resp, err := http.Get(srv.URL + "/repos/acme/shop/compare/" + base[:7] + "..." + head)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"url", "html_url", "permalink_url", "diff_url", "patch_url", "base_commit", "merge_base_commit",
		"status", "ahead_by", "behind_by", "total_commits", "commits", "files"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("compare has no %q", k)
		}
	}
	c := raw["commits"].([]any)[0].(map[string]any)
	if a, ok := c["author"]; !ok || a != nil {
		t.Errorf(`commit "author" = %v (present %v), want null`, a, ok)
	}
	if got := c["commit"].(map[string]any)["author"].(map[string]any)["name"]; got != "Unknown Contributor" {
		t.Errorf("git author name = %v", got)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestGetCommit(t *testing.T) {
	fake, c, _ := start(t, "")
	fake.Commit("one", "alice", "a", "b")
	sha := fake.Commit("two\n\nbody", "bob", "a", "-b", "c")
	rc, _, err := c.Repositories.GetCommit(context.Background(), "acme", "shop", sha, nil)
	if err != nil {
		t.Fatalf("GetCommit: %v", err)
	}
	if rc.GetCommit().GetMessage() != "two\n\nbody" || rc.GetAuthor().GetLogin() != "bob" || len(rc.Parents) != 1 {
		t.Errorf("commit = %v", rc)
	}
	if rc.GetStats().GetTotal() != 3+1+10+10 || len(rc.Files) != 3 {
		t.Errorf("stats %v files %v", rc.GetStats(), rc.Files)
	}
	_, _, err = c.Repositories.GetCommit(context.Background(), "acme", "shop", "deadbeef", nil)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 {
		t.Errorf("unknown sha: got %v, want 422", err)
	}
}

func TestRouting(t *testing.T) {
	fake, _, srv := start(t, "s3cret")
	fake.Commit("one", "alice", "a")
	// The fake has no route for another repository or an unknown resource.
	fake.AllowUnmatched("GET", "/repos/acme/other/*")
	fake.AllowUnmatched("DELETE", "/repos/acme/shop")
	tests := []struct {
		name, method, path, auth string
		wantStatus               int
		wantBody                 string
	}{
		{"no token", "GET", "/repos/acme/shop/pulls/1", "", 401, `"message":"Bad credentials"`},
		{"wrong token", "GET", "/repos/acme/shop/pulls/1", "Bearer nope", 401, `"documentation_url":"https://docs.github.com/rest"`},
		{"old token scheme", "GET", "/repos/acme/shop/tarball/master", "token s3cret", 302, ""},
		{"other repo", "GET", "/repos/acme/other/tarball/master", "Bearer s3cret", 404, `"message":"Not Found"`},
		{"repo name is case-insensitive", "GET", "/repos/ACME/Shop/tarball/master", "Bearer s3cret", 302, ""},
		{"enterprise prefix", "GET", "/api/v3/repos/acme/shop/tarball/master", "Bearer s3cret", 302, ""},
		{"unknown pull", "GET", "/repos/acme/shop/pulls/99", "Bearer s3cret", 404, `"message":"Not Found"`},
		{"unknown tarball ref", "GET", "/repos/acme/shop/tarball/nope", "Bearer s3cret", 404, `"message":"Not Found"`},
		{"unknown route", "DELETE", "/repos/acme/shop", "Bearer s3cret", 404, `"message":"Not Found"`},
		{"issue without title", "POST", "/repos/acme/shop/issues", "Bearer s3cret", 422, `"code":"missing_field"`},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{}`))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("got %d %s, want %d containing %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	want := []string{"GET /repos/acme/other/tarball/master", "DELETE /repos/acme/shop"}
	if got := fake.Unmatched(); !slices.Equal(got, want) {
		t.Errorf("Unmatched() = %q, want %q", got, want)
	}
}

func TestRecordingAndFailures(t *testing.T) {
	fake, c, _ := start(t, "")
	sha := fake.Commit("one", "alice", "a")
	ctx := context.Background()

	hdr := http.Header{"Retry-After": {"5"}}
	fake.FailNext("GET", "/repos/acme/shop/pulls/*", 429, hdr, `{"message":"slow down"}`).Require(t)
	fake.FailNext("", "/repos/acme/shop/pulls/*", 500, nil, "").Require(t)
	fake.AddPR(1, "t", "alice", "b", sha, "open", false)

	_, _, err := c.PullRequests.Get(ctx, "acme", "shop", 1)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 429 || er.Message != "slow down" || er.Response.Header.Get("Retry-After") != "5" {
		t.Fatalf("first: got %v, want the injected 429", err)
	}
	_, _, err = c.PullRequests.Get(ctx, "acme", "shop", 1)
	if !errors.As(err, &er) || er.Response.StatusCode != 500 || er.Message != "Internal Server Error" {
		t.Fatalf("second: got %v, want the injected 500 with a default message", err)
	}
	if _, _, err = c.PullRequests.Get(ctx, "acme", "shop", 1); err != nil {
		t.Fatalf("third: %v", err)
	}
	if _, _, err := c.Repositories.CompareCommits(ctx, "acme", "shop", sha, "feature/x y", nil); err == nil {
		t.Fatal("compare with an unknown branch should fail")
	}

	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/repos/acme/shop/pulls/1", 3},
		{"", "/repos/acme/shop/pulls/*", 3},
		{"POST", "/repos/acme/shop/pulls/*", 0},
		{"GET", "/repos/acme/shop/compare/" + sha + "...feature%2Fx+y", 1}, // as sent
		{"GET", "/repos/acme/shop/compare/" + sha + "...feature/x+y", 1},   // as decoded
		{"GET", "*", 4},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if got := fake.Count(tt.method, tt.path); got != tt.want {
				t.Errorf("Count = %d, want %d", got, tt.want)
			}
		})
	}
	calls := fake.Calls()
	if len(calls) != 4 || calls[0].Header.Get("X-GitHub-Api-Version") != "2022-11-28" {
		t.Errorf("calls = %+v", calls)
	}
}

// TestConcurrentUse is for -race: tests and the sandbox drive the fake from
// several goroutines at once.
func TestConcurrentUse(t *testing.T) {
	fake, c, _ := start(t, "")
	base := fake.Commit("base", "alice", "a")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fake.Commit("more", "bob", "a")
			fake.AddPR(i+1, "t", "bob", "b", base, "open", false)
			if _, _, err := c.Repositories.CompareCommits(context.Background(), "acme", "shop", base, "master", nil); err != nil {
				t.Error(err)
			}
			if _, _, err := c.Issues.Create(context.Background(), "acme", "shop", &gh.IssueRequest{Title: gh.String("x")}); err != nil {
				t.Error(err)
			}
			_ = fake.Calls()
			_ = fake.Count("GET", "*")
			_ = fake.Issues()
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, is := range fake.Issues() {
		if seen[is.Number] {
			t.Errorf("issue number %d given twice", is.Number)
		}
		seen[is.Number] = true
	}
}
