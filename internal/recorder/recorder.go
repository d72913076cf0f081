// Package recorder is the request log and one-shot failure queue that the
// fake HTTP servers (fakegithub, fakesemaphore, fakeheroku) share, so that
// their Calls, Count and FailNext follow one matching rule, and the checks
// that make tests against the fakes fail loudly: Strays lists requests no
// route answered, and a Stub a test Requires must be used. What a failure
// looks like on the wire stays with each fake: only it knows its API's
// error shape.
package recorder

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Call is one request a fake received.
type Call struct {
	Method   string
	Path     string // in the form the fake records (see the fake's own doc)
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Failure is an injected answer: the fake writes it instead of its normal
// one.
type Failure struct {
	Status int
	Header http.Header
	Body   string
}

// Recorder logs requests and holds queued failures. Its zero value is ready
// to use and it is safe for concurrent use. It has its own lock rather than
// the fake's, since no fake reads its log and its other state together.
type Recorder struct {
	// Name is the fake's name in the failures a Stub reports; it is set
	// before first use.
	Name string

	mu       sync.Mutex // guards calls and failures
	calls    []call
	failures []queued
}

// call is a logged request with the decoded form of its path, which
// patterns may match as well as Call.Path.
type call struct {
	Call
	decoded string
}

// queued is a failure waiting for a request that matches its patterns.
type queued struct {
	method, path string
	Failure
	stub *Stub
}

// Record logs c and pops the oldest queued failure that matches it, both
// under one lock so that concurrent requests take failures in the order
// they are logged. decoded is the decoded form of c.Path; a fake that
// records only one form passes c.Path again. Record keeps copies of
// c.Header and c.Body, so the caller may go on using them.
func (r *Recorder) Record(c Call, decoded string) (Failure, bool) {
	c.Header = c.Header.Clone()
	c.Body = bytes.Clone(c.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{Call: c, decoded: decoded})
	for i, f := range r.failures {
		if matches(f.method, f.path, c.Method, c.Path, decoded) {
			r.failures = slices.Delete(r.failures, i, i+1)
			f.stub.Use()
			return f.Failure, true
		}
	}
	return Failure{}, false
}

// Calls returns copies of every request logged so far, oldest first, so a
// test can change them without touching the log.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, len(r.calls))
	for i, c := range r.calls {
		c.Header = c.Header.Clone()
		c.Body = bytes.Clone(c.Body)
		out[i] = c.Call
	}
	return out
}

// Count returns how many logged requests match method and path. A path
// ending in "*" matches every path with that prefix, and either form of a
// request's path (as recorded or decoded) may match; method "" or "*"
// matches any method, and methods compare without regard to case.
func (r *Recorder) Count(method, path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if matches(method, path, c.Method, c.Path, c.decoded) {
			n++
		}
	}
	return n
}

// FailNext queues a failure for the next request matching method and path
// (the rules of Count) and returns its stub, which a test may Require. Each
// failure is used once, oldest first. header is copied, so the caller may
// reuse it.
func (r *Recorder) FailNext(method, path string, status int, header http.Header, body string) *Stub {
	stub := NewStub(describe(r.Name, method, path, status))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, queued{method: method, path: path,
		Failure: Failure{Status: status, Header: header.Clone(), Body: body}, stub: stub})
	return stub
}

// matches reports whether a request (method, its path as recorded and as
// decoded) fits the patterns wantMethod and wantPath.
func matches(wantMethod, wantPath, method, path, decoded string) bool {
	if wantMethod != "" && wantMethod != "*" && !strings.EqualFold(wantMethod, method) {
		return false
	}
	if prefix, ok := strings.CutSuffix(wantPath, "*"); ok {
		return strings.HasPrefix(path, prefix) || strings.HasPrefix(decoded, prefix)
	}
	return wantPath == path || wantPath == decoded
}
