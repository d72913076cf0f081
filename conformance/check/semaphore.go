package check

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// SemaphoreDocFile is Semaphore's v1alpha API reference: the API has no
// machine-readable spec, so its endpoint lines ("GET {org_name}.
// semaphoreci.com/api/v1alpha/pipelines?project_id=:project_id") are the
// rules.
const SemaphoreDocFile = "semaphore/api-v1alpha/legacy-docs/api-v1alpha.md"

// Semaphore checks requests against the documented v1alpha endpoints.
type Semaphore struct {
	endpoints []semaphoreEndpoint
}

type semaphoreEndpoint struct {
	method, doc string
	re          *regexp.Regexp
	query       []string // documented query parameters (":x" placeholders)
}

var semaphoreLine = regexp.MustCompile(`^(GET|POST|PATCH|PUT|DELETE) (?:https://)?\{org_name\}\.semaphoreci\.com(/api/v1alpha/\S+)\s*$`)

// LoadSemaphore reads the endpoint lines of the API reference.
func LoadSemaphore(corpus string) (*Semaphore, error) {
	raw, err := os.ReadFile(filepath.Join(corpus, SemaphoreDocFile))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", SemaphoreDocFile, err)
	}
	s := &Semaphore{}
	for _, line := range strings.Split(string(raw), "\n") {
		m := semaphoreLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		path, query, _ := strings.Cut(m[2], "?")
		var pattern strings.Builder
		pattern.WriteString("^")
		for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
			pattern.WriteString("/")
			if strings.HasPrefix(seg, ":") {
				pattern.WriteString("[^/]+")
			} else {
				pattern.WriteString(regexp.QuoteMeta(seg))
			}
		}
		pattern.WriteString("$")
		e := semaphoreEndpoint{method: m[1], doc: m[1] + " " + m[2], re: regexp.MustCompile(pattern.String())}
		if q, err := url.ParseQuery(query); err == nil {
			for k := range q {
				e.query = append(e.query, k)
			}
		}
		s.endpoints = append(s.endpoints, e)
	}
	if len(s.endpoints) == 0 {
		return nil, fmt.Errorf("%s: no endpoint lines found", SemaphoreDocFile)
	}
	return s, nil
}

// Check judges one request: a documented endpoint, the documented query
// parameters present (the list takes project_id or wf_id), the Token
// authorization and the User-Agent the docs require.
func (s *Semaphore) Check(method, escapedPath string, query url.Values, h http.Header) []Violation {
	var out []Violation
	if !strings.HasPrefix(h.Get("Authorization"), "Token ") {
		out = append(out, Violation{SemaphoreDocFile, `requests authenticate with "Authorization: Token {api_token}"`, "Authorization: " + strings.Fields(h.Get("Authorization") + " -")[0] + " …"})
	}
	if ua := h.Get("User-Agent"); ua != "SemaphoreCI v2.0 Client" {
		out = append(out, Violation{SemaphoreDocFile, "all API requests must set the User-Agent to `SemaphoreCI v2.0 Client`", ua})
	}
	for _, e := range s.endpoints {
		if e.method != method || !e.re.MatchString(escapedPath) {
			continue
		}
		for _, q := range e.query {
			alt := q == "project_id" && query.Has("wf_id") // the list documents project_id "or" wf_id
			if !query.Has(q) && !alt {
				out = append(out, Violation{SemaphoreDocFile, fmt.Sprintf("%s needs the query parameter %s", e.doc, q), "missing"})
			}
		}
		return out
	}
	return append(out, Violation{SemaphoreDocFile, "every request must be a documented v1alpha endpoint", method + " " + escapedPath})
}
