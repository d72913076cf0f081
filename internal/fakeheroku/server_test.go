package fakeheroku

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/testclock"
)

func newTestServer(t *testing.T, token string) (*Server, *httptest.Server, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC))
	s := New(token)
	s.clock = clock.Now
	s.FailOnUnmatched(t)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts, clock
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (r reply) array(t *testing.T) []map[string]any {
	t.Helper()
	var a []map[string]any
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatalf("body %q is not a JSON array: %v", r.body, err)
	}
	return a
}

// send makes a request with heroku.Transport's headers unless header
// overrides them (an empty value removes one).
func send(t *testing.T, ts *httptest.Server, method, path, body string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer tok")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func get(t *testing.T, ts *httptest.Server, path string) reply {
	t.Helper()
	return send(t, ts, http.MethodGet, path, "", nil)
}

func TestServerRefusesLikeTheAPI(t *testing.T) {
	s, ts, _ := newTestServer(t, "tok")
	s.AddPipeline("acme")
	s.AllowUnmatched("GET", "/account")
	s.AllowUnmatched("DELETE", "/pipelines/acme")
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantID     string
	}{
		{"wrong token", "GET", "/pipelines/acme", map[string]string{"Authorization": "Bearer nope"}, 401, "unauthorized"},
		{"no token", "GET", "/pipelines/acme", map[string]string{"Authorization": ""}, 401, "unauthorized"},
		{"plain json accept", "GET", "/pipelines/acme", map[string]string{"Accept": "application/json"}, 400, "missing_version"},
		{"unknown route", "GET", "/account", nil, 404, "not_found"},
		{"known path, wrong method", "DELETE", "/pipelines/acme", nil, 404, "not_found"},
		{"unknown pipeline", "GET", "/pipelines/nope", nil, 404, "not_found"},
		{"couplings by name", "GET", "/pipelines/acme/pipeline-couplings", nil, 404, "not_found"},
		{"ok by name", "GET", "/pipelines/acme", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, ts, tt.method, tt.path, "", tt.header)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tt.wantStatus, r.body)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if tt.wantID != "" {
				m := r.object(t)
				if m["id"] != tt.wantID || m["message"] == "" {
					t.Errorf("error body = %v, want id %q and a message", m, tt.wantID)
				}
			}
		})
	}
}

func TestServerRecordsAndInjects(t *testing.T) {
	s, ts, _ := newTestServer(t, "")
	s.AddPipeline("acme")
	s.FailNext("GET", "/pipelines/*", 429, http.Header{"Retry-After": {"7"}}, `{"id":"rate_limit","message":"Your account reached the API rate limit"}`).Require(t)

	r := send(t, ts, "GET", "/pipelines/acme", "", map[string]string{"Authorization": ""})
	if r.status != 429 || r.header.Get("Retry-After") != "7" || r.object(t)["id"] != "rate_limit" {
		t.Fatalf("injected reply = %d %v %s", r.status, r.header, r.body)
	}
	// One-shot; and with token "" a request without credentials passes.
	if r := send(t, ts, "GET", "/pipelines/acme", "", map[string]string{"Authorization": ""}); r.status != 200 {
		t.Fatalf("second call status = %d, want 200", r.status)
	}
	if n := s.Count("GET", "/pipelines/*"); n != 2 {
		t.Errorf("Count(GET /pipelines/*) = %d, want 2", n)
	}
	if n := s.Count("GET", "/pipelines/other"); n != 0 {
		t.Errorf("Count(GET /pipelines/other) = %d, want 0", n)
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].Path != "/pipelines/acme" || calls[0].Header.Get("Accept") == "" {
		t.Errorf("Calls() = %+v", calls)
	}
}

func TestReleasesHonourRange(t *testing.T) {
	s, ts, _ := newTestServer(t, "")
	s.AddApp("", "web", "")
	for i := 0; i < 4; i++ {
		s.Release("web", "abc", "dev@example.com", "Deploy abc")
	} // versions 1 (initial) to 5

	r := send(t, ts, "GET", "/apps/web/releases", "", map[string]string{"Range": "version ..; max=2,order=desc"})
	if r.status != http.StatusPartialContent {
		t.Fatalf("status = %d, want 206", r.status)
	}
	page := r.array(t)
	if len(page) != 2 || page[0]["version"] != 5.0 || page[1]["version"] != 4.0 || page[0]["current"] != true || page[1]["current"] != false {
		t.Fatalf("page = %v", page)
	}
	next := r.header.Get("Next-Range")
	if next != "version ]4..; max=2, order=desc" {
		t.Fatalf("Next-Range = %q", next)
	}
	r = send(t, ts, "GET", "/apps/web/releases", "", map[string]string{"Range": next})
	if page := r.array(t); r.status != 206 || len(page) != 2 || page[0]["version"] != 3.0 {
		t.Fatalf("second page = %d %v", r.status, page)
	}
	r = get(t, ts, "/apps/web/releases")
	if all := r.array(t); r.status != 200 || len(all) != 5 || all[0]["version"] != 1.0 || all[0]["slug"] != nil {
		t.Fatalf("unranged = %d %v", r.status, all)
	}
}

func TestPromotionLifecycle(t *testing.T) {
	s, ts, clock := newTestServer(t, "")
	pid := s.AddPipeline("acme")
	stg := s.AddApp("acme", "acme-staging", "staging")
	prod := s.AddApp("acme", "acme-prod", "production")
	prod2 := s.AddApp("acme", "acme-prod-eu", "production")
	oldRel, _ := s.Release("acme-staging", "1111111", "dev@example.com", "Deploy 1111111")
	s.Release("acme-staging", "2222222", "dev@example.com", "Deploy 2222222")
	s.FailPromotionTo("acme-prod-eu", "User does not have access to that app").Require(t)
	s.SetPromotionDelay(time.Minute)

	body := `{"pipeline":{"id":"` + pid + `"},"source":{"app":{"id":"` + stg + `"},"release":{"id":"` + oldRel + `"}},"targets":[{"app":{"id":"` + prod + `"}},{"app":{"id":"` + prod2 + `"}}]}`
	r := send(t, ts, "POST", "/pipeline-promotions", body, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	p := r.object(t)
	if p["status"] != "pending" || p["updated_at"] != nil {
		t.Errorf("created promotion = %v", p)
	}
	if src := p["source"].(map[string]any); src["release"].(map[string]any)["id"] != oldRel {
		t.Errorf("source = %v, want release %s", src, oldRel)
	}
	id := p["id"].(string)
	targets := get(t, ts, "/pipeline-promotions/"+id+"/promotion-targets").array(t)
	if len(targets) != 2 || targets[0]["status"] != "pending" || targets[0]["release"] != nil || targets[0]["error_message"] != nil {
		t.Fatalf("pending targets = %v", targets)
	}

	clock.Add(time.Minute)
	if p := get(t, ts, "/pipeline-promotions/"+id).object(t); p["status"] != "completed" || p["updated_at"] == nil {
		t.Fatalf("resolved promotion = %v", p)
	}
	targets = get(t, ts, "/pipeline-promotions/"+id+"/promotion-targets").array(t)
	if targets[0]["status"] != "succeeded" || targets[0]["release"] == nil {
		t.Errorf("target 0 = %v", targets[0])
	}
	if targets[1]["status"] != "failed" || targets[1]["error_message"] != "User does not have access to that app" {
		t.Errorf("target 1 = %v", targets[1])
	}
	// The pinned (older) release shipped, not staging's current one.
	_, v, commit := s.CurrentRelease("acme-prod")
	if commit != "1111111" || v != 2 {
		t.Errorf("prod current = v%d %q, want v2 1111111", v, commit)
	}
	rel := get(t, ts, "/apps/acme-prod/releases/2").object(t)
	if rel["description"] != "Promote acme-staging v2" {
		t.Errorf("description = %v", rel["description"])
	}
	if recs := s.Promotions(); len(recs) != 1 || recs[0].SourceReleaseID != oldRel || len(recs[0].TargetIDs) != 2 {
		t.Errorf("Promotions() = %+v", recs)
	}
}

func TestPromotionRejectsBadRequests(t *testing.T) {
	s, ts, _ := newTestServer(t, "")
	pid := s.AddPipeline("acme")
	stg := s.AddApp("acme", "acme-staging", "staging")
	prod := s.AddApp("acme", "acme-prod", "production")
	other := s.AddApp("", "other", "")
	otherRel, _ := s.Release("other", "3333333", "dev@example.com", "Deploy")
	obj := func(pipeline, source, release, target string) string {
		b := `{"pipeline":{"id":"` + pipeline + `"},"source":{"app":{"id":"` + source + `"}`
		if release != "" {
			b += `,"release":{"id":"` + release + `"}`
		}
		return b + `},"targets":[{"app":{"id":"` + target + `"}}]}`
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"no targets", `{"pipeline":{"id":"` + pid + `"},"source":{"app":{"id":"` + stg + `"}}}`, 422},
		{"not json", `{`, 400},
		{"unknown pipeline", obj("nope", stg, "", prod), 404},
		{"release of another app", obj(pid, stg, otherRel, prod), 422},
		{"source never built", obj(pid, stg, "", prod), 422},
		{"target outside pipeline", obj(pid, stg, "", other), 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, ts, "POST", "/pipeline-promotions", tt.body, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", r.status, tt.wantStatus, r.body)
			}
		})
	}
	if n := len(s.Promotions()); n != 0 {
		t.Errorf("%d promotions recorded, want 0", n)
	}
}

func TestReviewAppLifecycle(t *testing.T) {
	s, ts, clock := newTestServer(t, "")
	pid := s.AddPipeline("acme")
	s.SetReviewAppDelay(2 * time.Minute)
	s.FailReviewApp("broken", "Build failed").Require(t)
	create := func(branch string, pr int) string {
		body := `{"branch":"` + branch + `","pipeline":"` + pid + `","pr_number":` + strconv.Itoa(pr) + `,"source_blob":{"url":"https://example.com/t.tgz","version":"abcdef0123"}}`
		r := send(t, ts, "POST", "/review-apps", body, nil)
		if r.status != http.StatusCreated {
			t.Fatalf("create = %d %s", r.status, r.body)
		}
		m := r.object(t)
		if m["status"] != "pending" || m["app"] != nil || m["pr_number"] != float64(pr) {
			t.Fatalf("created = %v", m)
		}
		return m["id"].(string)
	}
	ok := create("feature/x", 7)
	bad := create("broken", 8)
	status := func(id string) map[string]any { return get(t, ts, "/review-apps/"+id).object(t) }

	if got := status(ok)["status"]; got != "pending" {
		t.Errorf("at 0 = %v", got)
	}
	clock.Add(time.Minute)
	if got := status(ok)["status"]; got != "creating" {
		t.Errorf("at 1m = %v", got)
	}
	clock.Add(time.Minute)
	done := status(ok)
	if done["status"] != "created" || done["app"] == nil {
		t.Fatalf("at 2m = %v", done)
	}
	app := get(t, ts, "/apps/acme-pr-7").object(t)
	if app["id"] != done["app"].(map[string]any)["id"] || app["web_url"] != "https://acme-pr-7.herokuapp.com/" {
		t.Errorf("review app's app = %v", app)
	}
	if _, _, commit := s.CurrentRelease("acme-pr-7"); commit != "abcdef0123" {
		t.Errorf("review app commit = %q", commit)
	}
	if byApp := get(t, ts, "/apps/acme-pr-7/review-app").object(t); byApp["id"] != ok {
		t.Errorf("by app = %v", byApp)
	}
	if e := status(bad); e["status"] != "errored" || e["message"] != "Build failed" || e["app"] != nil {
		t.Errorf("failed review app = %v", e)
	}

	if r := send(t, ts, "DELETE", "/review-apps/"+ok, "", nil); r.status != 200 || r.object(t)["status"] != "deleting" {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	if got := status(ok)["status"]; got != "deleted" {
		t.Errorf("after delete = %v", got)
	}
	if r := get(t, ts, "/apps/acme-pr-7"); r.status != 404 {
		t.Errorf("deleted app still answers %d", r.status)
	}
	list := get(t, ts, "/pipelines/"+pid+"/review-apps").array(t)
	if len(list) != 1 || list[0]["id"] != bad {
		t.Errorf("list = %v", list)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, ts, _ := newTestServer(t, "")
	s.AddApp("", "web", "")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Release("web", "abc", "dev@example.com", "Deploy")
			get(t, ts, "/apps/web/releases")
			s.Calls()
		}()
	}
	wg.Wait()
	if _, v, _ := s.CurrentRelease("web"); v != 9 {
		t.Errorf("version = %d, want 9", v)
	}
}

func TestUnmatchedRequestsAreListed(t *testing.T) {
	s, ts, _ := newTestServer(t, "")
	s.AddPipeline("acme")
	s.AllowUnmatched("", "*") // this test sends them on purpose
	get(t, ts, "/pipelines/acme")
	get(t, ts, "/apps/web/dynos")
	send(t, ts, "PATCH", "/pipelines/acme", "{}", nil)
	want := []string{"GET /apps/web/dynos", "PATCH /pipelines/acme"}
	if got := s.Unmatched(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Unmatched() = %q, want %q", got, want)
	}
}
