package heroku_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	herokugo "github.com/heroku/heroku-go/v5"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/fakeheroku"
)

const token = "test-token"

// newFake starts the fake Heroku with the adapter pointed at it.
func newFake(t *testing.T) (*fakeheroku.Server, *heroku.Client) {
	t.Helper()
	fake := fakeheroku.New(token)
	fake.FailOnUnmatched(t)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, heroku.New(srv.URL+"/", token, srv.Client())
}

// newRaw points the adapter at a hand-written handler, for answers the fake
// never gives.
func newRaw(t *testing.T, h http.HandlerFunc) *heroku.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return heroku.New(srv.URL, token, nil)
}

// asAPIError fails the test unless err is an *apierr.Error for Heroku.
func asAPIError(t *testing.T, err error) *apierr.Error {
	t.Helper()
	var e *apierr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
	}
	if e.Service != "Heroku" {
		t.Errorf("Service = %q, want Heroku", e.Service)
	}
	return e
}

func TestNewSendsTokenAndVersionWithoutTouchingTheCallersClient(t *testing.T) {
	fake := fakeheroku.New(token)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.AddApp("", "web", "")
	hc := &http.Client{Timeout: 5 * time.Second}
	c := heroku.New(srv.URL+"/", token, hc)

	app, err := c.App(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "web" || app.WebURL != "https://web.herokuapp.com/" || app.ID == "" {
		t.Errorf("App = %+v", app)
	}
	if hc.Transport != nil {
		t.Errorf("New replaced the caller's transport with %T", hc.Transport)
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].Path != "/apps/web" {
		t.Fatalf("calls = %+v", calls)
	}
	h := calls[0].Header
	if h.Get("Authorization") != "Bearer "+token || !strings.Contains(h.Get("Accept"), "version=3") {
		t.Errorf("headers = %v", h)
	}
}

func TestPipeline(t *testing.T) {
	fake, c := newFake(t)
	fake.AddPipeline("acme")
	stg := fake.AddApp("acme", "acme-staging", "staging")
	prodB := fake.AddApp("acme", "acme-prod-us", "production")
	prodA := fake.AddApp("acme", "acme-prod-eu", "production")
	fake.AddApp("acme", "acme-pr-1", "review")
	fake.AddApp("acme", "acme-dev", "development")

	p, err := c.Pipeline(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	want := heroku.Pipeline{
		ID:      p.ID,
		Name:    "acme",
		Staging: []heroku.App{{ID: stg, Name: "acme-staging", WebURL: "https://acme-staging.herokuapp.com/"}},
		Production: []heroku.App{
			{ID: prodA, Name: "acme-prod-eu", WebURL: "https://acme-prod-eu.herokuapp.com/"},
			{ID: prodB, Name: "acme-prod-us", WebURL: "https://acme-prod-us.herokuapp.com/"},
		},
	}
	if p.ID == "" || !reflect.DeepEqual(p, want) {
		t.Errorf("Pipeline =\n%+v\nwant\n%+v", p, want)
	}
	// 2 pipeline calls + one per staging/production app; review and
	// development apps are not read.
	if n := fake.Count("GET", "/apps/*"); n != 3 {
		t.Errorf("%d app reads, want 3", n)
	}
	if n := len(fake.Calls()); n != 5 {
		t.Errorf("%d calls, want 5", n)
	}
}

func TestCurrentRelease(t *testing.T) {
	fake, c := newFake(t)
	fake.AddApp("", "deployed", "")
	fake.Release("deployed", "0123456789abcdef", "ann@example.com", "Deploy 01234567")
	fake.AddApp("", "configured", "")
	fake.Release("configured", "fedcba9876543210", "bob@example.com", "Deploy fedcba98")
	fake.ConfigRelease("configured", "Set FOO config vars")
	fake.AddApp("", "unbuilt", "")

	tests := []struct {
		name       string
		app        string
		wantVer    int
		wantCommit string
		wantEmail  string
		wantDesc   string
		wantCalls  int
	}{
		{"deployed", "deployed", 2, "0123456789abcdef", "ann@example.com", "Deploy 01234567", 2},
		{"config change keeps the slug", "configured", 3, "fedcba9876543210", "devy@example.com", "Set FOO config vars", 2},
		{"never built has no slug", "unbuilt", 1, "", "devy@example.com", "Initial release", 1},
		// A slug never changes: its commit is read once per client.
		{"deployed again: slug remembered", "deployed", 2, "0123456789abcdef", "ann@example.com", "Deploy 01234567", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Calls())
			r, err := c.CurrentRelease(context.Background(), tt.app)
			if err != nil {
				t.Fatal(err)
			}
			id, _, _ := fake.CurrentRelease(tt.app)
			if r.ID != id || r.Version != tt.wantVer || r.Commit != tt.wantCommit || r.UserEmail != tt.wantEmail ||
				r.Description != tt.wantDesc || !r.Current || r.Status != "succeeded" || r.AppName != tt.app || r.CreatedAt.IsZero() {
				t.Errorf("CurrentRelease = %+v", r)
			}
			if (r.SlugID == "") != (tt.wantCommit == "") {
				t.Errorf("SlugID = %q with commit %q", r.SlugID, tt.wantCommit)
			}
			calls := fake.Calls()[before:]
			if len(calls) != tt.wantCalls {
				t.Fatalf("%d calls, want %d", len(calls), tt.wantCalls)
			}
			if got := calls[0].Header.Get("Range"); got != "version ..; max=10,order=desc" {
				t.Errorf("Range = %q", got)
			}
		})
	}
}

func TestCurrentReleaseEdgeCases(t *testing.T) {
	rel := func(version int, status string, current bool, slug string) map[string]any {
		m := map[string]any{"id": "r" + string(rune('0'+version)), "version": version, "status": status, "current": current,
			"app": map[string]any{"id": "a1", "name": "web"}, "user": map[string]any{"id": "u", "email": "x@example.com"},
			"description": "d", "created_at": "2025-10-01T12:00:00Z", "slug": nil}
		if slug != "" {
			m["slug"] = map[string]any{"id": slug}
		}
		return m
	}
	tests := []struct {
		name       string
		releases   []map[string]any
		wantID     string
		wantCommit string
		wantNone   bool
	}{
		{"no current flag: newest succeeded", []map[string]any{rel(5, "failed", false, "s5"), rel(4, "succeeded", false, "s4"), rel(3, "succeeded", false, "s3")}, "r4", "", false},
		{"current wins over newer pending", []map[string]any{rel(6, "pending", false, "s6"), rel(5, "succeeded", true, "s5")}, "r5", "", false},
		{"nothing succeeded", []map[string]any{rel(2, "failed", false, "s2")}, "", "", true},
		{"no releases", []map[string]any{}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRaw(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if strings.Contains(r.URL.Path, "/slugs/") {
					// commit is null-able in the schema
					_, _ = w.Write([]byte(`{"id":"s","commit":null,"commit_description":null}`))
					return
				}
				_ = json.NewEncoder(w).Encode(tt.releases)
			})
			r, err := c.CurrentRelease(context.Background(), "web")
			if tt.wantNone {
				e := asAPIError(t, err)
				if !errors.Is(err, heroku.ErrNoRelease) || e.StatusCode != http.StatusNotFound {
					t.Fatalf("err = %v, want ErrNoRelease with 404", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != tt.wantID || r.Commit != tt.wantCommit {
				t.Errorf("CurrentRelease = %+v, want id %s commit %q", r, tt.wantID, tt.wantCommit)
			}
		})
	}
}

// A Fir-generation app's release runs an OCI image, not a slug: its commit
// is the image's.
func TestCurrentReleaseOfAFirApp(t *testing.T) {
	const image = "01234567-89ab-4cde-8f01-23456789abcd"
	var paths []string
	c := newRaw(t, func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/apps/web/releases":
			_, _ = w.Write([]byte(`[{"id":"r9","version":9,"status":"succeeded","current":true,"slug":null,
				"oci_image":{"id":"` + image + `"},"artifacts":[{"type":"oci-image","id":"` + image + `"}],
				"app":{"id":"a1","name":"web"},"user":{"id":"u","email":"x@example.com"},"description":"Deploy 9f536e2",
				"created_at":"2025-10-01T12:00:00Z","updated_at":"2025-10-01T12:00:00Z","addon_plan_names":[],"output_stream_url":null,"eligible_for_rollback":true}]`))
		case "/apps/web/oci-images/" + image:
			_, _ = w.Write([]byte(`{"id":"` + image + `","digest":"sha256:0f","commit":"9f536e2aa1b2c3d4e5f60718293a4b5c6d7e8f90",
				"commit_description":"Fix totals","base_image_name":"heroku/builder:24","stack":{"id":"s","name":"heroku-24"}}`))
		default:
			http.NotFound(w, r)
		}
	})
	r, err := c.CurrentRelease(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "r9" || r.SlugID != image || r.Commit != "9f536e2aa1b2c3d4e5f60718293a4b5c6d7e8f90" {
		t.Errorf("CurrentRelease = %+v; want release r9 running image %s at commit 9f536e2…", r, image)
	}
	if len(paths) != 2 {
		t.Errorf("requests %v; want the releases and the image", paths)
	}
}

func TestConfigVarNames(t *testing.T) {
	fake, c := newFake(t)
	fake.AddApp("", "web", "")
	fake.SetConfigVars("web", map[string]string{"SECRET_KEY": "s3cr3t", "DATABASE_URL": "postgres://x", "B": ""})
	names, err := c.ConfigVarNames(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"B", "DATABASE_URL", "SECRET_KEY"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
}

// promotionSetup is a pipeline with staging at v3 (commit bbb…, v2 was
// aaa…) and two production apps, the second of which refuses promotions.
type promotionSetup struct {
	fake              *fakeheroku.Server
	c                 *heroku.Client
	pipeline, staging string
	prod, prodEU      string
	oldRel, newRel    string
}

func newPromotionSetup(t *testing.T) promotionSetup {
	t.Helper()
	fake, c := newFake(t)
	s := promotionSetup{fake: fake, c: c}
	s.pipeline = fake.AddPipeline("acme")
	s.staging = fake.AddApp("acme", "acme-staging", "staging")
	s.prod = fake.AddApp("acme", "acme-prod", "production")
	s.prodEU = fake.AddApp("acme", "acme-prod-eu", "production")
	s.oldRel, _ = fake.Release("acme-staging", "aaaaaaa", "ann@example.com", "Deploy aaaaaaa")
	s.newRel, _ = fake.Release("acme-staging", "bbbbbbb", "bob@example.com", "Deploy bbbbbbb")
	fake.FailPromotionTo("acme-prod-eu", "User does not have access to that app")
	return s
}

func TestPromotePinsTheReviewedRelease(t *testing.T) {
	s := newPromotionSetup(t)
	ctx := context.Background()

	p, err := s.c.Promote(ctx, s.pipeline, s.staging, s.oldRel, []string{s.prod, s.prodEU})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Status != "pending" || p.PipelineID != s.pipeline || p.SourceAppID != s.staging ||
		p.SourceReleaseID != s.oldRel || p.CreatedAt.IsZero() {
		t.Errorf("Promote = %+v", p)
	}
	recs := s.fake.Promotions()
	if len(recs) != 1 || recs[0].SourceReleaseID != s.oldRel || !reflect.DeepEqual(recs[0].TargetAppIDs, []string{s.prod, s.prodEU}) {
		t.Fatalf("received = %+v", recs)
	}

	got, err := s.c.Promotion(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "completed" || got.SourceReleaseID != s.oldRel {
		t.Errorf("Promotion = %+v", got)
	}
	targets, err := s.c.PromotionTargets(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	prodRel, _, commit := s.fake.CurrentRelease("acme-prod")
	want := []heroku.PromotionTarget{
		{ID: recs[0].TargetIDs[0], AppID: s.prod, Status: "succeeded", ReleaseID: prodRel},
		{ID: recs[0].TargetIDs[1], AppID: s.prodEU, Status: "failed", ErrorMessage: "User does not have access to that app"},
	}
	if !reflect.DeepEqual(targets, want) {
		t.Errorf("targets =\n%+v\nwant\n%+v", targets, want)
	}
	if commit != "aaaaaaa" {
		t.Errorf("production runs %q, want the pinned aaaaaaa", commit)
	}
}

func TestPromoteWithoutReleaseSendsNoReleaseKey(t *testing.T) {
	s := newPromotionSetup(t)
	s.fake.SetPromotionDelay(time.Hour)
	p, err := s.c.Promote(context.Background(), s.pipeline, s.staging, "", []string{s.prod})
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceReleaseID != s.newRel {
		t.Errorf("SourceReleaseID = %q, want staging's current %q", p.SourceReleaseID, s.newRel)
	}
	var body struct{ Source map[string]any }
	if err := json.Unmarshal(s.fake.Promotions()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body.Source["release"]; ok || body.Source["app"] == nil {
		t.Errorf("body %s has source.release", s.fake.Promotions()[0].Body)
	}
	targets, err := s.c.PromotionTargets(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Status != "pending" || targets[0].ReleaseID != "" {
		t.Errorf("targets before the delay = %+v", targets)
	}
}

func TestPromoteRefused(t *testing.T) {
	s := newPromotionSetup(t)
	s.fake.AddApp("", "other", "")
	foreignRel, _ := s.fake.Release("other", "ccccccc", "x@example.com", "Deploy")
	_, err := s.c.Promote(context.Background(), s.pipeline, s.staging, foreignRel, []string{s.prod})
	e := asAPIError(t, err)
	if e.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(e.Message, "not a release of the source app") {
		t.Errorf("err = %+v", e)
	}
	if e.Op != "starting the promotion" {
		t.Errorf("Op = %q", e.Op)
	}
}

func TestReviewApps(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	pid := fake.AddPipeline("acme")
	fake.FailReviewApp("broken", "Couldn't build: no buildpack").Require(t)

	ra, err := c.CreateReviewApp(ctx, pid, "feature/login", 42, "https://codeload.example.com/acme/tar.gz/abc123", "abc123")
	if err != nil {
		t.Fatal(err)
	}
	if ra.ID == "" || ra.Status != "pending" || ra.AppID != "" || ra.PRNumber != 42 || ra.Branch != "feature/login" || ra.CreatedAt.IsZero() {
		t.Errorf("created = %+v", ra)
	}
	var sent map[string]any
	if err := json.Unmarshal(fake.Calls()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	wantSent := map[string]any{
		"branch":      "feature/login",
		"pipeline":    pid,
		"pr_number":   42.0,
		"source_blob": map[string]any{"url": "https://codeload.example.com/acme/tar.gz/abc123", "version": "abc123"},
	}
	if !reflect.DeepEqual(sent, wantSent) {
		t.Errorf("sent %v, want %v", sent, wantSent)
	}

	got, err := c.ReviewApp(ctx, ra.ID)
	if err != nil {
		t.Fatal(err)
	}
	app, err := c.App(ctx, got.AppID)
	if got.Status != "created" || err != nil || app.Name != "acme-pr-42" {
		t.Errorf("ReviewApp = %+v, app %+v (%v)", got, app, err)
	}

	broken, err := c.CreateReviewApp(ctx, pid, "broken", 0, "https://codeload.example.com/acme/tar.gz/def", "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ReviewApps(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[1].ID != broken.ID || list[1].Status != "errored" || list[1].Message != "Couldn't build: no buildpack" || list[1].PRNumber != 0 {
		t.Errorf("list = %+v", list)
	}

	if err := c.DeleteReviewApp(ctx, ra.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReviewApp(ctx, ra.ID); err != nil || got.Status != "deleted" {
		t.Errorf("after delete = %+v, %v", got, err)
	}
	err = c.DeleteReviewApp(ctx, ra.ID)
	if e := asAPIError(t, err); e.StatusCode != http.StatusNotFound || e.Op != "deleting review app "+ra.ID {
		t.Errorf("second delete = %+v", e)
	}
}

func TestErrors(t *testing.T) {
	jsonError := func(status int, header map[string]string, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantStatus  int
		wantMessage string
		wantID      string
		wantRetry   time.Duration
		wantUser    string
	}{
		{
			name:        "401",
			handler:     jsonError(401, nil, `{"id":"unauthorized","message":"Invalid credentials provided."}`),
			wantStatus:  401,
			wantMessage: "Invalid credentials provided.",
			wantID:      "unauthorized",
			wantUser:    "Heroku refused Devy's token (401) while reading app web; ask an admin to check Devy's Heroku token.",
		},
		{
			name:        "404",
			handler:     jsonError(404, nil, `{"id":"not_found","message":"Couldn't find that app."}`),
			wantStatus:  404,
			wantMessage: "Couldn't find that app.",
			wantID:      "not_found",
			wantUser:    "Heroku answered 404 while reading app web; check Devy's Heroku configuration.",
		},
		{
			name: "429 with Retry-After",
			handler: jsonError(429, map[string]string{"Retry-After": "42", "RateLimit-Remaining": "0"},
				`{"id":"rate_limit","message":"Your account reached the API rate limit","url":"https://devcenter.heroku.com/articles/platform-api-reference#rate-limits"}`),
			wantStatus:  429,
			wantMessage: "Your account reached the API rate limit",
			wantID:      "rate_limit",
			wantRetry:   42 * time.Second,
			wantUser:    "Heroku is rate-limiting Devy (429) while reading app web; try again in 42s.",
		},
		{
			name:       "503 with an HTML body",
			handler:    jsonError(503, map[string]string{"Content-Type": "text/html"}, "<html>Application Error</html>"),
			wantStatus: 503,
			wantUser:   "Heroku answered 503 while reading app web; try again in a minute.",
		},
		{
			name:        "500",
			handler:     jsonError(500, nil, `{"id":"internal_server_error","message":"Internal server error."}`),
			wantStatus:  500,
			wantMessage: "Internal server error.",
			wantID:      "internal_server_error",
			wantUser:    "Heroku answered 500 while reading app web; try again in a minute.",
		},
		{
			name:        "200 that is not JSON",
			handler:     jsonError(200, nil, "<html>captive portal</html>"),
			wantStatus:  0,
			wantMessage: "could not read Heroku's answer",
			wantUser:    "Heroku could not be reached while reading app web; try again in a minute.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRaw(t, tt.handler)
			_, err := c.App(context.Background(), "web")
			e := asAPIError(t, err)
			if e.StatusCode != tt.wantStatus || e.Message != tt.wantMessage || e.RetryAfter != tt.wantRetry || e.Op != "reading app web" {
				t.Errorf("error = %+v", e)
			}
			if got := e.UserMessage(); got != tt.wantUser {
				t.Errorf("UserMessage =\n%q\nwant\n%q", got, tt.wantUser)
			}
			var herr herokugo.Error
			if tt.wantID != "" && (!errors.As(err, &herr) || herr.ID != tt.wantID) {
				t.Errorf("heroku.Error id = %q, want %q", herr.ID, tt.wantID)
			}
			if tt.wantID != "" && !strings.Contains(err.Error(), "error id "+tt.wantID) {
				t.Errorf("Error() = %q lacks the id", err.Error())
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := heroku.New(url, token, nil)
	_, err := c.ConfigVarNames(context.Background(), "web")
	e := asAPIError(t, err)
	if e.StatusCode != 0 || e.Err == nil {
		t.Errorf("error = %+v", e)
	}
	if want := "Heroku could not be reached while reading the config var names of web; try again in a minute."; e.UserMessage() != want {
		t.Errorf("UserMessage = %q", e.UserMessage())
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answer only when the client gives up
	}))
	defer srv.Close()
	c := heroku.New(srv.URL, token, &http.Client{Timeout: 50 * time.Millisecond})
	_, err := c.App(context.Background(), "web")
	if e := asAPIError(t, err); e.StatusCode != 0 || e.Err == nil {
		t.Errorf("error = %+v", e)
	}
}

func TestFailureInALaterCallNamesThatStep(t *testing.T) {
	fake, c := newFake(t)
	fake.AddApp("", "web", "")
	fake.Release("web", "abc", "ann@example.com", "Deploy abc")
	fake.FailNext("GET", "/apps/web/slugs/*", 503, http.Header{"Retry-After": {"3"}}, `{"id":"service_unavailable","message":"API is temporarily unavailable."}`).Require(t)

	_, err := c.CurrentRelease(context.Background(), "web")
	e := asAPIError(t, err)
	if e.StatusCode != 503 || e.RetryAfter != 3*time.Second || e.Op != "reading the commit of web v2" || e.Message != "API is temporarily unavailable." {
		t.Errorf("error = %+v", e)
	}
}
