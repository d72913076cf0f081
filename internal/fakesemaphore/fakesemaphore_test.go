package fakesemaphore_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/devy-chatops/devy/internal/fakesemaphore"
)

const project = "c394d20b-b3c6-4c90-b743-a9a65fa95a78"

func get(t *testing.T, srv *httptest.Server, path, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestListWireFormat checks the list against the documented example and
// public-api/v1alpha's formatter: a bare array, UPPERCASE enums,
// {seconds,nanos} times, no result before done.
func TestListWireFormat(t *testing.T) {
	fake := fakesemaphore.New(project, "")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.AddPipeline("master", "ac3f9796df42db976814e3fee670e11e3fd4b98a", "done", "failed")
	fake.AddPipeline("ms/another-test-branch", "bbbb9796df42db976814e3fee670e11e3fd4b98a", "running", "")

	resp, body := get(t, srv, "/api/v1alpha/pipelines?project_id="+project, "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("not a bare array: %v\n%s", err, body)
	}
	if len(items) != 2 {
		t.Fatalf("got %d items", len(items))
	}
	running, done := items[0], items[1] // newest first
	if running["state"] != "RUNNING" || done["state"] != "DONE" || done["result"] != "FAILED" || done["result_reason"] != "TEST" {
		t.Errorf("enums: running %v, done %v %v %v", running["state"], done["state"], done["result"], done["result_reason"])
	}
	if _, ok := running["result"]; ok {
		t.Errorf("a running pipeline has a result: %v", running["result"])
	}
	for _, k := range []string{"ppl_id", "wf_id", "project_id", "branch_name", "branch_id", "commit_sha", "name",
		"yaml_file_name", "working_directory", "hook_id", "switch_id", "error_description", "terminated_by",
		"terminate_request", "snapshot_id", "created_at", "pending_at", "queuing_at", "running_at", "stopping_at", "done_at"} {
		if _, ok := done[k]; !ok {
			t.Errorf("list item has no %q", k)
		}
	}
	ts, ok := done["created_at"].(map[string]any)
	if !ok || ts["seconds"] == nil || ts["nanos"] == nil {
		t.Errorf("created_at = %v, want {seconds,nanos}", done["created_at"])
	}
	if z := running["done_at"].(map[string]any); z["seconds"] != 0.0 || z["nanos"] != 0.0 {
		t.Errorf("done_at of a running pipeline = %v, want zeros", z)
	}
	for _, h := range []string{"Link", "Total", "Per-Page", "Total-Pages", "Page-Number"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}

func TestDescribeWireFormat(t *testing.T) {
	fake := fakesemaphore.New(project, "")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	id := fake.AddPipeline("master", "a38c3e1506d12fb1510e4b1bca2682abd9681984", "running", "")

	tests := []struct {
		name, state, result string
		wantResult          any // nil = absent
		wantDoneZero        bool
	}{
		{"running", "running", "", nil, true},
		{"done", "done", "passed", "passed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetPipeline(id, tt.state, tt.result)
			resp, body := get(t, srv, "/api/v1alpha/pipelines/"+id, "")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var out struct {
				Pipeline map[string]any `json:"pipeline"`
				Blocks   []any          `json:"blocks"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil || out.Pipeline == nil || out.Blocks == nil {
				t.Fatalf("bad describe body %v: %s", err, body)
			}
			p := out.Pipeline
			if p["state"] != tt.state || p["result"] != tt.wantResult || p["ppl_id"] != id {
				t.Errorf("state %v result %v id %v", p["state"], p["result"], p["ppl_id"])
			}
			created, _ := p["created_at"].(string)
			if len(created) != len("2019-10-14 18:31:17.293456Z") || created[10] != ' ' || !strings.HasSuffix(created, "Z") {
				t.Errorf("created_at = %q, want YYYY-MM-DD HH:MM:SS.ffffffZ", created)
			}
			if (p["done_at"] == "1970-01-01 00:00:00.000000Z") != tt.wantDoneZero {
				t.Errorf("done_at = %v", p["done_at"])
			}
		})
	}
}

func TestPagination(t *testing.T) {
	fake := fakesemaphore.New(project, "")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for i := range 65 {
		fake.AddPipeline("master", fmt.Sprintf("%040x", i), "done", "passed")
	}
	base := srv.URL + "/api/v1alpha/pipelines?"
	tests := []struct {
		query     string
		wantItems int
		wantFirst string // commit of the first item
		wantLink  string
	}{
		{"project_id=" + project, 30, fmt.Sprintf("%040x", 64),
			`<` + base + `page=2&project_id=` + project + `>; rel="next", <` + base + `page=1&project_id=` + project + `>; rel="first", <` + base + `page=3&project_id=` + project + `>; rel="last"`},
		{"project_id=" + project + "&page=3", 5, fmt.Sprintf("%040x", 4),
			`<` + base + `page=2&project_id=` + project + `>; rel="prev", <` + base + `page=1&project_id=` + project + `>; rel="first", <` + base + `page=3&project_id=` + project + `>; rel="last"`},
		{"project_id=" + project + "&page=9", 0, "", ""},
		{"project_id=" + project + "&page_size=100&branch_name=master", 65, fmt.Sprintf("%040x", 64), ""},
		{"project_id=" + project + "&branch_name=nope", 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := get(t, srv, "/api/v1alpha/pipelines?"+tt.query, "")
			var items []struct {
				CommitSHA string `json:"commit_sha"`
			}
			if err := json.Unmarshal([]byte(body), &items); err != nil {
				t.Fatal(err)
			}
			if len(items) != tt.wantItems || len(items) > 0 && items[0].CommitSHA != tt.wantFirst {
				t.Errorf("got %d items, first %+v", len(items), items)
			}
			if tt.wantLink != "" && resp.Header.Get("Link") != tt.wantLink {
				t.Errorf("link =\n%s\nwant\n%s", resp.Header.Get("Link"), tt.wantLink)
			}
		})
	}
}

func TestErrorsAndRecording(t *testing.T) {
	fake := fakesemaphore.New(project, "tok")
	fake.FailOnUnmatched(t)
	fake.AllowUnmatched("GET", "/api/v1alpha/projects") // no route, on purpose
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.FailNext("GET", "/api/v1alpha/pipelines*", 429, http.Header{"Retry-After": {"9"}}, "Too Many Requests").Require(t)

	tests := []struct {
		name, path, token string
		wantStatus        int
		wantBody          string
	}{
		{"injected", "/api/v1alpha/pipelines?project_id=" + project, "tok", 429, "Too Many Requests"},
		{"no token", "/api/v1alpha/pipelines?project_id=" + project, "", 401, "Unauthorized"},
		{"wrong token", "/api/v1alpha/pipelines?project_id=" + project, "bad", 401, "Unauthorized"},
		{"unknown project", "/api/v1alpha/pipelines?project_id=other", "tok", 404, "Not Found"},
		{"no project", "/api/v1alpha/pipelines", "tok", 404, "Not Found"},
		{"unknown pipeline", "/api/v1alpha/pipelines/nope", "tok", 404, "Not Found"},
		{"unknown route", "/api/v1alpha/projects", "tok", 404, "Not Found"},
		{"ok", "/api/v1alpha/pipelines?project_id=" + project, "tok", 200, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv, tt.path, tt.token)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if got := fake.Count("GET", "/api/v1alpha/pipelines"); got != 6 {
		t.Errorf("Count list = %d, want 6", got)
	}
	if got := fake.Count("", "/api/v1alpha/*"); got != len(tests) {
		t.Errorf("Count all = %d, want %d", got, len(tests))
	}
	if calls := fake.Calls(); len(calls) != len(tests) || calls[0].RawQuery != "project_id="+project {
		t.Errorf("calls = %+v", calls)
	}
	if got := fake.Unmatched(); len(got) != 1 || got[0] != "GET /api/v1alpha/projects" {
		t.Errorf("Unmatched() = %q, want the unknown route only", got)
	}
}

func TestSetPipelineUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("SetPipeline on an unknown id did not panic")
		}
	}()
	fakesemaphore.New(project, "").SetPipeline("nope", "done", "passed")
}

func TestConcurrentUse(t *testing.T) {
	fake := fakesemaphore.New(project, "")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fake.AddPipeline("master", fmt.Sprintf("%040x", i), "running", "")
			for _, path := range []string{"/api/v1alpha/pipelines?project_id=" + project, "/api/v1alpha/pipelines/" + id} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				fake.SetPipeline(id, "done", "passed")
			}
			_ = fake.Calls()
			_ = fake.Count("GET", "*")
		}()
	}
	wg.Wait()
	if got := fake.Count("GET", "*"); got != 16 {
		t.Errorf("Count = %d, want 16", got)
	}
}
