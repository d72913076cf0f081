// Package fakesemaphore is an in-memory Semaphore 2.0 public API (v1alpha)
// for one project: list and describe pipelines. Tests wrap it in
// httptest.NewServer; `devy shell` runs it as its Semaphore.
//
// The wire format follows semaphoreio/semaphore's public-api/v1alpha
// (pipelines_api): the list is a bare JSON array with UPPERCASE enums and
// {seconds,nanos} times, paginated by Scrivener.Headers (link, total,
// per-page, total-pages, page-number); describe wraps a lowercase pipeline
// with "YYYY-MM-DD HH:MM:SS.ffffffZ" times in {"pipeline":…,"blocks":[]};
// result and result_reason are left out until a pipeline is done; errors
// are short text bodies such as "Not Found".
package fakesemaphore

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devy-chatops/devy/internal/recorder"
)

const (
	listPath = "/api/v1alpha/pipelines"
	pageSize = 30
	zeroTime = "1970-01-01 00:00:00.000000Z"
	orgID    = "5b4c6bd1-9b34-4b0a-9e39-1b1a1f3c0a11"
	repoID   = "7f2b1c1e-4a8e-4c55-bb3e-1a2b3c4d5e6f"
)

// Call is one request the server received. Its Path is as sent on the
// wire, still escaped; Count and FailNext match the decoded form too.
type Call = recorder.Call

type pipeline struct {
	id, wfID, hookID, branchID, switchID string
	branch, sha                          string
	state, result, reason                string // lowercase
	createdAt, runningAt, doneAt         time.Time
}

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	projectID, token string

	rec    recorder.Recorder // requests and injected failures; has its own lock
	strays recorder.Strays   // requests no route answered; has its own lock

	mu        sync.Mutex  // guards pipelines
	pipelines []*pipeline // oldest first
}

// New returns an empty project. With token "" any request is accepted;
// otherwise requests must carry "Authorization: Token <token>".
func New(projectID, token string) *Server {
	s := &Server{projectID: projectID, token: token}
	s.rec.Name = "fakesemaphore"
	return s
}

// AddPipeline records a pipeline on commitSHA and returns its id. state is
// "running" (or any earlier state: initializing, pending, queuing) or
// "done"; result is "passed", "failed", "stopped", "canceled" or "" while
// not done. The newest pipeline is listed first.
func (s *Server) AddPipeline(branch, commitSHA, state, result string) (pplID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.pipelines) + 1
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := &pipeline{
		id:        uuid(s.projectID, "ppl", n),
		wfID:      uuid(s.projectID, "wf", n),
		hookID:    uuid(s.projectID, "hook", n),
		switchID:  uuid(s.projectID, "switch", n),
		branchID:  uuid(s.projectID, "branch:"+branch, 0),
		branch:    branch,
		sha:       commitSHA,
		createdAt: now,
	}
	p.set(state, result, now)
	s.pipelines = append(s.pipelines, p)
	return p.id
}

// SetPipeline moves a pipeline to a new state and result, e.g. from
// "running" to "done"/"passed". It panics on an unknown id: that is a bug in
// the test or sandbox that called it.
func (s *Server) SetPipeline(pplID, state, result string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pipelines {
		if p.id == pplID {
			p.set(state, result, time.Now().UTC().Truncate(time.Microsecond))
			return
		}
	}
	panic(fmt.Sprintf("fakesemaphore: SetPipeline: no pipeline %q", pplID))
}

func (p *pipeline) set(state, result string, now time.Time) {
	state, result = strings.ToLower(state), strings.ToLower(result)
	if state == "" {
		state = "running"
		if result != "" {
			state = "done"
		}
	}
	p.state, p.result, p.reason = state, result, ""
	if state == "running" || state == "stopping" || state == "done" {
		if p.runningAt.IsZero() {
			p.runningAt = now
		}
	}
	if state != "done" {
		p.result, p.doneAt = "", time.Time{}
		return
	}
	if p.result == "" {
		p.result = "passed"
	}
	p.doneAt = now
	switch p.result {
	case "stopped", "canceled":
		p.reason = "user"
	default:
		p.reason = "test"
	}
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call { return s.rec.Calls() }

// Count returns how many requests matched method and path. path may end in
// "*" to match a prefix; method "" matches any method.
func (s *Server) Count(method, path string) int { return s.rec.Count(method, path) }

// FailNext makes the next request matching method and path (same rules as
// Count) get status, header and body instead of its normal answer. Failures
// queue: each is used once, oldest first. A test that needs the failure to
// happen calls Require on the stub returned.
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
	s.strays.FailOn(t, "fakesemaphore")
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f, failed := s.rec.Record(Call{
		Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header, Body: body,
	}, r.URL.Path)
	if failed {
		for k, vs := range f.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(f.Status)
		io.WriteString(w, f.Body)
		return
	}
	if s.token != "" && r.Header.Get("Authorization") != "Token "+s.token {
		text(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == listPath:
		s.list(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, listPath+"/"):
		s.describe(w, strings.TrimPrefix(r.URL.Path, listPath+"/"))
	default:
		s.strays.Add(r.Method, r.URL.EscapedPath(), r.URL.Path, "")
		text(w, http.StatusNotFound, "Not Found")
	}
}

// list answers GET /api/v1alpha/pipelines. As in the real API, a missing or
// foreign project_id is a 404 (the authorization plug cannot place it in
// the organization), not an empty list.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	project, wf := q.Get("project_id"), q.Get("wf_id")
	if project == "" && wf == "" || project != "" && project != s.projectID {
		text(w, http.StatusNotFound, "Not Found")
		return
	}
	page, size := positiveOr(q.Get("page"), 1), positiveOr(q.Get("page_size"), pageSize)

	s.mu.Lock()
	var matched []wireListItem
	for i := len(s.pipelines) - 1; i >= 0; i-- { // newest first
		p := s.pipelines[i]
		if b := q.Get("branch_name"); b != "" && p.branch != b {
			continue
		}
		if wf != "" && p.wfID != wf {
			continue
		}
		matched = append(matched, s.listItem(p))
	}
	s.mu.Unlock()

	total := len(matched)
	pages := max(1, int(math.Ceil(float64(total)/float64(size))))
	items := []wireListItem{}
	if from := (page - 1) * size; from < total {
		items = matched[from:min(from+size, total)]
	}
	h := w.Header()
	h.Set("link", linkHeader(r, page, pages))
	h.Set("total", strconv.Itoa(total))
	h.Set("per-page", strconv.Itoa(size))
	h.Set("total-pages", strconv.Itoa(pages))
	h.Set("page-number", strconv.Itoa(page))
	writeJSON(w, http.StatusOK, items)
}

// positiveOr parses a positive integer the way the API does (a leading
// number is enough), falling back to def.
func positiveOr(s string, def int) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil || n <= 0 {
		return def
	}
	return n
}

// linkHeader mimics Scrivener.Headers: first and last always, prev and next
// when they exist, each the request URL with page replaced. Query keys come
// out sorted, as Elixir's URI.encode_query writes a small map.
func linkHeader(r *http.Request, page, pages int) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	link := func(n int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		u := url.URL{Scheme: scheme, Host: r.Host, Path: listPath, RawQuery: q.Encode()}
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	links := []string{link(1, "first"), link(pages, "last")}
	if 1 < page && page <= pages {
		links = append([]string{link(page-1, "prev")}, links...)
	}
	if 1 <= page && page < pages {
		links = append([]string{link(page+1, "next")}, links...)
	}
	return strings.Join(links, ", ")
}

// describe answers GET /api/v1alpha/pipelines/{id}.
func (s *Server) describe(w http.ResponseWriter, id string) {
	s.mu.Lock()
	var found *wireDescribed
	for _, p := range s.pipelines {
		if p.id == id {
			d := s.described(p)
			found = &d
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		text(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pipeline": found, "blocks": []any{}})
}

// wireListItem is one element of the list: UPPERCASE enums, {seconds,nanos}
// times. Result fields are pointers so they can be left out before done.
type wireListItem struct {
	PplID            string   `json:"ppl_id"`
	WfID             string   `json:"wf_id"`
	ProjectID        string   `json:"project_id"`
	OrganizationID   string   `json:"organization_id"`
	RepositoryID     string   `json:"repository_id"`
	BranchName       string   `json:"branch_name"`
	BranchID         string   `json:"branch_id"`
	CommitSHA        string   `json:"commit_sha"`
	CommitMessage    string   `json:"commit_message"`
	Name             string   `json:"name"`
	YamlFileName     string   `json:"yaml_file_name"`
	WorkingDirectory string   `json:"working_directory"`
	State            string   `json:"state"`
	Result           *string  `json:"result,omitempty"`
	ResultReason     *string  `json:"result_reason,omitempty"`
	ErrorDescription string   `json:"error_description"`
	HookID           string   `json:"hook_id"`
	SwitchID         string   `json:"switch_id"`
	SnapshotID       string   `json:"snapshot_id"`
	TerminatedBy     string   `json:"terminated_by"`
	TerminateRequest string   `json:"terminate_request"`
	PromotionOf      string   `json:"promotion_of"`
	PartialRerunOf   string   `json:"partial_rerun_of"`
	CreatedAt        protoTS  `json:"created_at"`
	PendingAt        protoTS  `json:"pending_at"`
	QueuingAt        protoTS  `json:"queuing_at"`
	RunningAt        protoTS  `json:"running_at"`
	StoppingAt       protoTS  `json:"stopping_at"`
	DoneAt           protoTS  `json:"done_at"`
	EnvVars          []string `json:"env_vars"`
}

type protoTS struct {
	Seconds int64 `json:"seconds"`
	Nanos   int64 `json:"nanos"`
}

func proto(t time.Time) protoTS {
	if t.IsZero() {
		return protoTS{}
	}
	return protoTS{Seconds: t.Unix(), Nanos: int64(t.Nanosecond())}
}

// wireDescribed is the describe shape: lowercase enums, string times.
type wireDescribed struct {
	PplID            string  `json:"ppl_id"`
	WfID             string  `json:"wf_id"`
	ProjectID        string  `json:"project_id"`
	OrganizationID   string  `json:"organization_id"`
	BranchName       string  `json:"branch_name"`
	BranchID         string  `json:"branch_id"`
	CommitSHA        string  `json:"commit_sha"`
	Name             string  `json:"name"`
	YamlFileName     string  `json:"yaml_file_name"`
	WorkingDirectory string  `json:"working_directory"`
	State            string  `json:"state"`
	Result           *string `json:"result,omitempty"`
	ResultReason     *string `json:"result_reason,omitempty"`
	ErrorDescription string  `json:"error_description"`
	HookID           string  `json:"hook_id"`
	SwitchID         string  `json:"switch_id"`
	SnapshotID       string  `json:"snapshot_id"`
	TerminatedBy     string  `json:"terminated_by"`
	TerminateRequest string  `json:"terminate_request"`
	CreatedAt        string  `json:"created_at"`
	PendingAt        string  `json:"pending_at"`
	QueuingAt        string  `json:"queuing_at"`
	RunningAt        string  `json:"running_at"`
	StoppingAt       string  `json:"stopping_at"`
	DoneAt           string  `json:"done_at"`
}

// elixirTime formats like Elixir's DateTime.to_string on a microsecond
// DateTime: "2019-10-14 18:31:32.507034Z".
func elixirTime(t time.Time) string {
	if t.IsZero() {
		return zeroTime
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000Z")
}

// listItem renders p for the list. Callers hold s.mu.
func (s *Server) listItem(p *pipeline) wireListItem {
	it := wireListItem{
		PplID: p.id, WfID: p.wfID, ProjectID: s.projectID, OrganizationID: orgID, RepositoryID: repoID,
		BranchName: p.branch, BranchID: p.branchID, CommitSHA: p.sha, CommitMessage: "",
		Name: "Pipeline", YamlFileName: "semaphore.yml", WorkingDirectory: ".semaphore",
		State:  strings.ToUpper(p.state),
		HookID: p.hookID, SwitchID: p.switchID,
		CreatedAt: proto(p.createdAt), PendingAt: proto(p.createdAt), QueuingAt: proto(p.createdAt),
		RunningAt: proto(p.runningAt), DoneAt: proto(p.doneAt),
		EnvVars: []string{},
	}
	if p.state == "done" {
		res, reason := strings.ToUpper(p.result), strings.ToUpper(p.reason)
		it.Result, it.ResultReason = &res, &reason
	}
	return it
}

// described renders p for describe. Callers hold s.mu.
func (s *Server) described(p *pipeline) wireDescribed {
	d := wireDescribed{
		PplID: p.id, WfID: p.wfID, ProjectID: s.projectID, OrganizationID: orgID,
		BranchName: p.branch, BranchID: p.branchID, CommitSHA: p.sha,
		Name: "Pipeline", YamlFileName: "semaphore.yml", WorkingDirectory: ".semaphore",
		State:  p.state,
		HookID: p.hookID, SwitchID: p.switchID,
		CreatedAt: elixirTime(p.createdAt), PendingAt: elixirTime(p.createdAt), QueuingAt: elixirTime(p.createdAt),
		RunningAt: elixirTime(p.runningAt), StoppingAt: zeroTime, DoneAt: elixirTime(p.doneAt),
	}
	if p.state == "done" {
		res, reason := p.result, p.reason
		d.Result, d.ResultReason = &res, &reason
	}
	return d
}

// uuid derives a stable UUID-shaped id, so ids repeat from run to run.
func uuid(parts ...any) string {
	h := sha1.Sum([]byte(fmt.Sprint(parts...)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40 // version 4 layout, like Semaphore's ids
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		text(w, http.StatusInternalServerError, "Internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
