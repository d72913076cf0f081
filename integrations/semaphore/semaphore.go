// Package semaphore reads CI results from Semaphore 2.0's public API
// (v1alpha): whether the pipeline that ran on a commit passed. Every failure
// comes back as an *apierr.Error with Service "Semaphore".
package semaphore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/integrations/apierr"
)

const (
	service = "Semaphore"
	// userAgent is required by the API documentation for every request.
	userAgent = "SemaphoreCI v2.0 Client"
	// maxPages bounds how far back CommitState looks (30 pipelines a page):
	// a commit older than that is not worth a deploy decision.
	maxPages       = 5
	defaultTimeout = 30 * time.Second
	// maxBody caps what is read from one response; a page of 30 pipelines
	// is about 40 KB.
	maxBody = 4 << 20
)

// State is the CI verdict on a commit.
type State string

const (
	Passed  State = "passed"
	Failed  State = "failed"
	Stopped State = "stopped" // stopped or canceled
	Running State = "running" // any state before done
	None    State = "none"    // no pipeline ran on the commit
)

// Pipeline is one Semaphore pipeline. State, Result and ResultReason are
// lowercase whatever the endpoint sent; Result and ResultReason are empty
// until State is "done".
type Pipeline struct {
	ID           string
	WorkflowID   string
	Branch       string
	CommitSHA    string
	State        string
	Result       string
	ResultReason string
	CreatedAt    time.Time
	DoneAt       time.Time // zero until done
}

// Client reads one project of one organization.
type Client struct {
	org       *url.URL // https://acme.semaphoreci.com, no trailing slash
	token     string
	projectID string
	hc        *http.Client
}

// New returns a client for the project projectID of the organization at
// orgURL (like https://acme.semaphoreci.com). hc nil uses a client with a
// 30s timeout.
func New(orgURL, token, projectID string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(orgURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("semaphore: organization URL %q must look like https://acme.semaphoreci.com", orgURL)
	}
	if projectID == "" {
		return nil, errors.New("semaphore: a project id is required")
	}
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{org: u, token: token, projectID: projectID, hc: hc}, nil
}

// WorkflowURL links to a workflow's page.
func (c *Client) WorkflowURL(wfID string) string {
	return c.org.String() + "/workflows/" + url.PathEscape(wfID)
}

// CommitState reports the latest pipeline of the project on commit sha
// (full or at least 7 characters), looking at branch only when branch is
// not "". It reads the newest pipelines first and gives up after 150; not
// finding one is None, not an error.
func (c *Client) CommitState(ctx context.Context, sha, branch string) (State, Pipeline, error) {
	sha = strings.ToLower(strings.TrimSpace(sha))
	if len(sha) < 7 {
		return None, Pipeline{}, fmt.Errorf("semaphore: commit %q is too short to look up", sha)
	}
	op := "checking CI for " + sha[:7]
	q := url.Values{"project_id": {c.projectID}}
	if branch != "" {
		q.Set("branch_name", branch)
	}
	next := c.org.JoinPath("/api/v1alpha/pipelines")
	next.RawQuery = q.Encode()

	for page := 0; page < maxPages && next != nil; page++ {
		var items []wirePipeline
		h, err := c.get(ctx, op, next, &items)
		if err != nil {
			return None, Pipeline{}, err
		}
		// The list is newest first, so the first match is the latest.
		for _, it := range items {
			if matchSHA(it.CommitSHA, sha) {
				p := it.pipeline()
				return stateOf(p), p, nil
			}
		}
		next = c.nextPage(h)
	}
	return None, Pipeline{}, nil
}

// PullRequestState is the verdict of the newest pipeline Semaphore ran for
// pull request pr: a project that builds pull requests runs them on the
// branch "pull-request-<pr>", on GitHub's merge commit rather than the
// head, so the newest run is the pull request's as it stands.
func (c *Client) PullRequestState(ctx context.Context, pr int) (State, Pipeline, error) {
	u := c.org.JoinPath("/api/v1alpha/pipelines")
	u.RawQuery = url.Values{"project_id": {c.projectID}, "branch_name": {fmt.Sprintf("pull-request-%d", pr)}}.Encode()
	var items []wirePipeline
	if _, err := c.get(ctx, fmt.Sprintf("checking CI for pull request #%d", pr), u, &items); err != nil {
		return None, Pipeline{}, err
	}
	if len(items) == 0 {
		return None, Pipeline{}, nil
	}
	p := items[0].pipeline()
	return stateOf(p), p, nil
}

func matchSHA(full, want string) bool {
	full = strings.ToLower(full)
	return full == want || len(want) < len(full) && strings.HasPrefix(full, want)
}

// stateOf maps Semaphore's lifecycle to a verdict. Only a done pipeline has
// a meaningful result: the API's enum default is PASSED, so a result seen
// before done must not count.
func stateOf(p Pipeline) State {
	if p.State != "done" {
		return Running
	}
	switch p.Result {
	case "passed":
		return Passed
	case "stopped", "canceled":
		return Stopped
	default:
		// failed, and anything newer we do not know: never call it passed.
		return Failed
	}
}

// nextPage reads rel="next" from the link header. Only its path and query
// are kept: Semaphore builds these links from the scheme it sees behind its
// load balancer (the documented example is http://), and the token must
// only ever go to the configured organization URL.
func (c *Client) nextPage(h http.Header) *url.URL {
	for _, v := range h.Values("Link") {
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") || !relNext(params) {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil || u.Path == "" {
				return nil
			}
			next := *c.org
			next.Path, next.RawPath, next.RawQuery = u.Path, u.RawPath, u.RawQuery
			return &next
		}
	}
	return nil
}

func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "rel") {
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, "next") {
					return true
				}
			}
		}
	}
	return false
}

// get fetches u and decodes its JSON body into v, returning the headers.
func (c *Client) get(ctx context.Context, op string, u *url.URL, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &apierr.Error{Service: service, Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Token "+c.token)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		// Unreachable, timed out or cancelled: StatusCode stays 0.
		return nil, &apierr.Error{Service: service, Op: op, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &apierr.Error{Service: service, Op: op, StatusCode: resp.StatusCode, Err: fmt.Errorf("reading the response: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, &apierr.Error{
			Service:    service,
			Op:         op,
			StatusCode: resp.StatusCode,
			Message:    errorMessage(body),
			RetryAfter: apierr.ParseRetryAfter(resp.Header),
			Err:        fmt.Errorf("GET %s: %s", u.Path, resp.Status),
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, &apierr.Error{Service: service, Op: op, StatusCode: resp.StatusCode,
			Message: "unexpected response", Err: fmt.Errorf("decoding GET %s: %w", u.Path, err)}
	}
	return resp.Header, nil
}

// errorMessage pulls a short message out of an error body. The v1alpha API
// answers with a JSON-encoded string ("Not Found"), a bare text body, or,
// from the gateway, sometimes a JSON object with a message.
func errorMessage(body []byte) string {
	body = []byte(strings.TrimSpace(string(body)))
	var s string
	if json.Unmarshal(body, &s) == nil {
		return clip(s)
	}
	var obj struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &obj) == nil {
		return clip(obj.Message + obj.Error)
	}
	if len(body) > 0 && body[0] == '<' {
		return "" // an HTML error page says nothing useful
	}
	return clip(string(body))
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return s
}

// wirePipeline decodes both the list shape (UPPERCASE enums, {seconds,
// nanos} times) and the describe shape (lowercase, string times).
type wirePipeline struct {
	PplID        string    `json:"ppl_id"`
	WfID         string    `json:"wf_id"`
	BranchName   string    `json:"branch_name"`
	CommitSHA    string    `json:"commit_sha"`
	State        string    `json:"state"`
	Result       string    `json:"result"`
	ResultReason string    `json:"result_reason"`
	CreatedAt    timestamp `json:"created_at"`
	DoneAt       timestamp `json:"done_at"`
}

func (w wirePipeline) pipeline() Pipeline {
	p := Pipeline{
		ID:           w.PplID,
		WorkflowID:   w.WfID,
		Branch:       w.BranchName,
		CommitSHA:    w.CommitSHA,
		State:        strings.ToLower(w.State),
		Result:       strings.ToLower(w.Result),
		ResultReason: strings.ToLower(w.ResultReason),
		CreatedAt:    time.Time(w.CreatedAt),
		DoneAt:       time.Time(w.DoneAt),
	}
	if p.State != "done" {
		p.Result, p.ResultReason = "", ""
	}
	return p
}

// timestamp accepts every time format v1alpha uses: {"seconds","nanos"}
// objects, "YYYY-MM-DD HH:MM:SS.ffffffZ" and RFC 3339 strings, and epoch
// seconds as a number or string. The Unix epoch itself (Semaphore's "not
// yet") decodes to the zero time. A format it does not know also decodes to
// the zero time rather than failing the whole page: the verdict matters
// more than a date.
type timestamp time.Time

func (t *timestamp) UnmarshalJSON(b []byte) error {
	*t = timestamp(parseTime(b))
	return nil
}

func parseTime(b []byte) time.Time {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return time.Time{}
	}
	var t time.Time
	switch v := v.(type) {
	case map[string]any:
		secs, _ := toInt(v["seconds"])
		nanos, _ := toInt(v["nanos"])
		t = time.Unix(secs, nanos)
	case json.Number:
		secs, _ := toInt(v)
		t = time.Unix(secs, 0)
	case string:
		if secs, ok := toInt(v); ok {
			t = time.Unix(secs, 0)
			break
		}
		// Go accepts fractional seconds after "05" even when the layout
		// has none, so one layout covers "2019-10-14 18:31:32.507034Z".
		for _, layout := range []string{"2006-01-02 15:04:05Z07:00", time.RFC3339Nano} {
			if p, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
				t = p
				break
			}
		}
	}
	if t.IsZero() || t.Unix() == 0 && t.Nanosecond() == 0 {
		return time.Time{}
	}
	return t.UTC()
}

// toInt reads a JSON number, or a string of digits (protobuf's JSON form of
// int64).
func toInt(v any) (int64, bool) {
	switch v := v.(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}
