package recorder

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// TB is the part of testing.TB that the checks here use. It is an interface
// of its own so that the fakes, which `devy shell` also runs, do not link
// the testing package into the binary.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}

// Stub is a canned answer a test armed (a failure to inject, a refusal to
// make). A stub is optional unless the test calls Require: then the test
// fails if no request ever used it, as with cli/cli's httpmock, because a
// test whose stub was never reached does not test what it says.
type Stub struct {
	what string
	used atomic.Bool
}

// NewStub returns an unused stub; what names it in a failure, e.g.
// "fakeheroku: FailNext POST /review-apps (422)".
func NewStub(what string) *Stub { return &Stub{what: what} }

// Use marks the stub as used; the fake calls it when the stub answers.
func (s *Stub) Use() { s.used.Store(true) }

// Used reports whether a request used the stub.
func (s *Stub) Used() bool { return s.used.Load() }

// Require fails t when it ends unless a request used the stub by then. It
// returns s so that it reads on the line that arms the stub.
func (s *Stub) Require(t TB) *Stub {
	t.Helper()
	t.Cleanup(func() {
		if !s.Used() {
			t.Errorf("%s: the test required this stub, but no request used it", s.what)
		}
	})
	return s
}

// Strays lists requests that no route of a fake answered, so that a test
// whose code calls an endpoint the fake lacks (or calls one wrongly) fails
// instead of reading a 404 or unknown_method it never meant to test. Its
// zero value is ready to use and it is safe for concurrent use.
type Strays struct {
	mu      sync.Mutex // guards reqs and allowed
	reqs    []stray
	allowed []pattern
}

type stray struct {
	method, path, decoded string
	note                  string // what the fake adds, e.g. a Slack method name
}

type pattern struct{ method, path string }

// Add notes a request no route answered. decoded is the decoded form of
// path (path again if the fake has one form); note, if not "", is shown
// after it.
func (s *Strays) Add(method, path, decoded, note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, stray{method: method, path: path, decoded: decoded, note: note})
}

// Allow lets requests matching method and path (the rules of
// Recorder.Count) go unanswered without failing the test: for tests that
// send them on purpose.
func (s *Strays) Allow(method, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowed = append(s.allowed, pattern{method: method, path: path})
}

// List describes every unanswered request so far, allowed or not, oldest
// first, as "METHOD path" with the fake's note after it.
func (s *Strays) List() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.reqs))
	for _, r := range s.reqs {
		out = append(out, r.String())
	}
	return out
}

// unallowed describes the unanswered requests no Allow pattern covers.
func (s *Strays) unallowed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.reqs {
		if !slices.ContainsFunc(s.allowed, func(p pattern) bool {
			return matches(p.method, p.path, r.method, r.path, r.decoded)
		}) {
			out = append(out, r.String())
		}
	}
	return out
}

func (r stray) String() string {
	s := r.method + " " + r.path
	if r.note != "" {
		s += " (" + r.note + ")"
	}
	return s
}

// FailOn fails t when it ends if the fake named fake received a request no
// route answered and no Allow pattern covers, naming each such request.
func (s *Strays) FailOn(t TB, fake string) {
	t.Helper()
	t.Cleanup(func() {
		if bad := s.unallowed(); len(bad) > 0 {
			t.Errorf("%s received %d request(s) it has no route for; add the route the real API has, "+
				"or call AllowUnmatched if the test sends them on purpose:\n\t%s",
				fake, len(bad), strings.Join(bad, "\n\t"))
		}
	})
}

// describe is how a fake names a FailNext stub.
func describe(fake, method, path string, status int) string {
	return fmt.Sprintf("%s: FailNext %s %s (%d)", fake, method, path, status)
}
