package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/semaphore"
	"github.com/devy-chatops/devy/internal/fakesemaphore"
)

const (
	project = "c394d20b-b3c6-4c90-b743-a9a65fa95a78"
	token   = "sem-token"
)

func sha(n int) string { return fmt.Sprintf("%040x", n+0xabc0000) }

func newFake(t *testing.T) (*fakesemaphore.Server, *semaphore.Client) {
	t.Helper()
	fake := fakesemaphore.New(project, token)
	fake.FailOnUnmatched(t)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := semaphore.New(srv.URL, token, project, srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return fake, c
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, org, project string
		wantErr            bool
	}{
		{"saas", "https://acme.semaphoreci.com", project, false},
		{"trailing slash", "https://acme.semaphoreci.com/", project, false},
		{"test server", "http://127.0.0.1:4000", project, false},
		{"no scheme", "acme.semaphoreci.com", project, true},
		{"with path", "https://acme.semaphoreci.com/api/v1alpha", project, true},
		{"ftp", "ftp://acme.semaphoreci.com", project, true},
		{"no project", "https://acme.semaphoreci.com", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := semaphore.New(tt.org, token, tt.project, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) error = %v, want error %v", tt.org, err, tt.wantErr)
			}
			if err == nil {
				want := strings.TrimSuffix(tt.org, "/") + "/workflows/484e263a-424a-4820-bff0-bba436c54042"
				if got := c.WorkflowURL("484e263a-424a-4820-bff0-bba436c54042"); got != want {
					t.Errorf("WorkflowURL = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestCommitState(t *testing.T) {
	type pipe struct{ branch, sha, state, result string }
	tests := []struct {
		name       string
		pipelines  []pipe // oldest first
		sha        string
		branch     string
		want       semaphore.State
		wantResult string
	}{
		{name: "running", pipelines: []pipe{{"master", sha(1), "running", ""}}, sha: sha(1), want: semaphore.Running},
		{name: "queuing counts as running", pipelines: []pipe{{"master", sha(1), "queuing", ""}}, sha: sha(1), want: semaphore.Running},
		{name: "passed", pipelines: []pipe{{"master", sha(1), "done", "passed"}}, sha: sha(1), want: semaphore.Passed, wantResult: "passed"},
		{name: "failed", pipelines: []pipe{{"master", sha(1), "done", "failed"}}, sha: sha(1), want: semaphore.Failed, wantResult: "failed"},
		{name: "stopped", pipelines: []pipe{{"master", sha(1), "done", "stopped"}}, sha: sha(1), want: semaphore.Stopped, wantResult: "stopped"},
		{name: "canceled is stopped", pipelines: []pipe{{"master", sha(1), "done", "canceled"}}, sha: sha(1), want: semaphore.Stopped, wantResult: "canceled"},
		{name: "no pipeline", pipelines: []pipe{{"master", sha(2), "done", "passed"}}, sha: sha(1), want: semaphore.None},
		{name: "latest wins", pipelines: []pipe{{"master", sha(1), "done", "failed"}, {"master", sha(1), "done", "passed"}},
			sha: sha(1), want: semaphore.Passed, wantResult: "passed"},
		{name: "rerun still running", pipelines: []pipe{{"master", sha(1), "done", "passed"}, {"master", sha(1), "running", ""}},
			sha: sha(1), want: semaphore.Running},
		{name: "short and uppercase sha", pipelines: []pipe{{"master", sha(1), "done", "passed"}},
			sha: strings.ToUpper(sha(1)[:10]), want: semaphore.Passed, wantResult: "passed"},
		{name: "other branch ignored", pipelines: []pipe{{"master", sha(1), "done", "passed"}, {"feature/x", sha(1), "done", "failed"}},
			sha: sha(1), branch: "master", want: semaphore.Passed, wantResult: "passed"},
		{name: "any branch", pipelines: []pipe{{"master", sha(1), "done", "passed"}, {"feature/x", sha(1), "done", "failed"}},
			sha: sha(1), want: semaphore.Failed, wantResult: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c := newFake(t)
			var lastID string
			for _, p := range tt.pipelines {
				lastID = fake.AddPipeline(p.branch, p.sha, p.state, p.result)
			}
			state, p, err := c.CommitState(context.Background(), tt.sha, tt.branch)
			if err != nil {
				t.Fatalf("CommitState: %v", err)
			}
			if state != tt.want || p.Result != tt.wantResult {
				t.Errorf("got %q (result %q), want %q (%q)", state, p.Result, tt.want, tt.wantResult)
			}
			if tt.want == semaphore.None {
				return
			}
			if p.ID == "" || p.WorkflowID == "" || p.CreatedAt.IsZero() || p.CommitSHA != sha(1) {
				t.Errorf("pipeline not filled in: %+v", p)
			}
			if (p.State == "done") == p.DoneAt.IsZero() {
				t.Errorf("state %q with DoneAt %v", p.State, p.DoneAt)
			}
			if tt.name == "latest wins" && p.ID != lastID {
				t.Errorf("got pipeline %s, want the newest %s", p.ID, lastID)
			}
			call := fake.Calls()[0]
			if call.Header.Get("Authorization") != "Token "+token || call.Header.Get("User-Agent") != "SemaphoreCI v2.0 Client" {
				t.Errorf("headers = %v", call.Header)
			}
			if tt.branch != "" && !strings.Contains(call.RawQuery, "branch_name="+tt.branch) {
				t.Errorf("query %q has no branch_name", call.RawQuery)
			}
		})
	}
}

func TestCommitStateFollowsPages(t *testing.T) {
	tests := []struct {
		name      string
		newer     int // pipelines added after the one we look for
		want      semaphore.State
		wantCalls int
	}{
		{name: "first page", newer: 29, want: semaphore.Passed, wantCalls: 1},
		{name: "second page", newer: 30, want: semaphore.Passed, wantCalls: 2},
		{name: "fifth page", newer: 4*30 + 29, want: semaphore.Passed, wantCalls: 5},
		{name: "too old", newer: 5 * 30, want: semaphore.None, wantCalls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c := newFake(t)
			fake.AddPipeline("master", sha(0), "done", "passed")
			for i := range tt.newer {
				fake.AddPipeline("master", sha(i+1), "done", "failed")
			}
			state, _, err := c.CommitState(context.Background(), sha(0), "master")
			if err != nil {
				t.Fatalf("CommitState: %v", err)
			}
			if state != tt.want {
				t.Errorf("state = %q, want %q", state, tt.want)
			}
			if got := fake.Count("GET", "/api/v1alpha/pipelines"); got != tt.wantCalls {
				t.Errorf("%d list calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

// A project that builds pull requests runs them on branch
// "pull-request-N"; the newest such run is the pull request's verdict.
func TestPullRequestState(t *testing.T) {
	fake, c := newFake(t)
	fake.AddPipeline("pull-request-7", sha(1), "done", "failed")
	fake.AddPipeline("pull-request-7", sha(2), "done", "passed")
	fake.AddPipeline("pull-request-8", sha(3), "running", "")
	for _, tc := range []struct {
		pr   int
		want semaphore.State
	}{{7, semaphore.Passed}, {8, semaphore.Running}, {9, semaphore.None}} {
		state, p, err := c.PullRequestState(context.Background(), tc.pr)
		if err != nil || state != tc.want {
			t.Errorf("PullRequestState(%d) = %q (%+v), %v; want %q", tc.pr, state, p, err, tc.want)
		}
	}
}

func TestSetPipeline(t *testing.T) {
	fake, c := newFake(t)
	id := fake.AddPipeline("master", sha(1), "running", "")
	if s, _, _ := c.CommitState(context.Background(), sha(1), ""); s != semaphore.Running {
		t.Fatalf("before: %q", s)
	}
	fake.SetPipeline(id, "done", "failed")
	s, p, err := c.CommitState(context.Background(), sha(1), "")
	if err != nil || s != semaphore.Failed || p.ResultReason != "test" || p.DoneAt.IsZero() {
		t.Fatalf("after: %q %+v %v", s, p, err)
	}
}

// TestNextLinkStaysOnOrg: Semaphore writes link URLs with the scheme it sees
// behind its load balancer (http://); the client keeps only path and query
// so the token never leaves the configured host.
func TestNextLinkStaysOnOrg(t *testing.T) {
	var pages []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages = append(pages, r.URL.Query().Get("page"))
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("link", `<http://elsewhere.example/api/v1alpha/pipelines?page=2&project_id=p>; rel="next", `+
				`<http://elsewhere.example/api/v1alpha/pipelines?page=1&project_id=p>; rel="first"`)
			fmt.Fprint(w, `[]`)
			return
		}
		fmt.Fprintf(w, `[{"ppl_id":"x","wf_id":"w","commit_sha":"%s","state":"DONE","result":"PASSED",`+
			`"created_at":{"seconds":1571076843,"nanos":537730000},"done_at":{"seconds":0,"nanos":0}}]`, sha(1))
	}))
	defer srv.Close()
	c, err := semaphore.New(srv.URL, token, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	state, p, err := c.CommitState(context.Background(), sha(1), "")
	if err != nil || state != semaphore.Passed {
		t.Fatalf("got %q %v", state, err)
	}
	if strings.Join(pages, ",") != ",2" {
		t.Errorf("pages requested: %q", pages)
	}
	if want := time.Unix(1571076843, 537730000).UTC(); !p.CreatedAt.Equal(want) || !p.DoneAt.IsZero() {
		t.Errorf("CreatedAt %v DoneAt %v", p.CreatedAt, p.DoneAt)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantStatus int
		wantMsg    string
		wantRetry  time.Duration
		wantUser   string
	}{
		{name: "bad token", status: 401, body: "Unauthorized", wantStatus: 401, wantMsg: "Unauthorized",
			wantUser: "Semaphore refused Devy's token (401) while checking CI for 0000000; ask an admin to check Devy's Semaphore token."},
		{name: "unknown project", status: 404, body: `"Not Found"`, wantStatus: 404, wantMsg: "Not Found",
			wantUser: "Semaphore answered 404 while checking CI for 0000000; check Devy's Semaphore configuration."},
		{name: "rate limited", status: 429, header: map[string]string{"Retry-After": "20"}, body: `{"message":"Too many requests"}`,
			wantStatus: 429, wantMsg: "Too many requests", wantRetry: 20 * time.Second,
			wantUser: "Semaphore is rate-limiting Devy (429) while checking CI for 0000000; try again in 20s."},
		{name: "internal error", status: 500, body: `"Internal error"`, wantStatus: 500, wantMsg: "Internal error",
			wantUser: "Semaphore answered 500 while checking CI for 0000000; try again in a minute."},
		{name: "html gateway page", status: 503, body: "<html><body>503</body></html>", wantStatus: 503,
			wantUser: "Semaphore answered 503 while checking CI for 0000000; try again in a minute."},
		{name: "not json", status: 200, body: "<html>login</html>", wantStatus: 200, wantMsg: "unexpected response",
			wantUser: "Semaphore answered 200 while checking CI for 0000000; try again in a minute."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c, err := semaphore.New(srv.URL, token, project, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.CommitState(context.Background(), strings.Repeat("0", 40), "")
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
			}
			if ae.Service != "Semaphore" || ae.StatusCode != tt.wantStatus || ae.Message != tt.wantMsg || ae.RetryAfter != tt.wantRetry {
				t.Errorf("got %q %d %q %v, want Semaphore %d %q %v", ae.Service, ae.StatusCode, ae.Message, ae.RetryAfter,
					tt.wantStatus, tt.wantMsg, tt.wantRetry)
			}
			if got := ae.UserMessage(); got != tt.wantUser {
				t.Errorf("UserMessage =\n%q\nwant\n%q", got, tt.wantUser)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := semaphore.New(srv.URL, token, project, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.CommitState(context.Background(), sha(1), "master")
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.StatusCode != 0 || ae.Err == nil {
		t.Fatalf("got %#v, want an *apierr.Error with status 0", err)
	}
	want := fmt.Sprintf("Semaphore could not be reached while checking CI for %s; try again in a minute.", sha(1)[:7])
	if got := ae.UserMessage(); got != want {
		t.Errorf("UserMessage = %q, want %q", got, want)
	}
}

func TestFakeFailuresReachTheUser(t *testing.T) {
	fake, c := newFake(t)
	fake.AddPipeline("master", sha(1), "done", "passed")
	fake.FailNext("GET", "/api/v1alpha/pipelines", 503, nil, "Service Unavailable").Require(t)
	if _, _, err := c.CommitState(context.Background(), sha(1), ""); apierr.StatusCode(err) != 503 {
		t.Fatalf("got %v, want 503", err)
	}
	if s, _, err := c.CommitState(context.Background(), sha(1), ""); err != nil || s != semaphore.Passed {
		t.Fatalf("second call: %q %v", s, err)
	}

	wrong, err := semaphore.New(strings.TrimSuffix(c.WorkflowURL(""), "/workflows/"), "nope", project, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := wrong.CommitState(context.Background(), sha(1), ""); apierr.StatusCode(err) != 401 {
		t.Errorf("wrong token: got %v, want 401", err)
	}
	other, err := semaphore.New(strings.TrimSuffix(c.WorkflowURL(""), "/workflows/"), token, "other-project", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.CommitState(context.Background(), sha(1), ""); apierr.StatusCode(err) != 404 {
		t.Errorf("unknown project: got %v, want 404", err)
	}
}

func TestShortSHA(t *testing.T) {
	_, c := newFake(t)
	if _, _, err := c.CommitState(context.Background(), "abc", ""); err == nil {
		t.Error("a 3-character sha should be refused")
	}
}
