// Package fakeheroku is a stateful stand-in for the subset of the Heroku
// Platform API that Devy uses: pipelines and couplings, apps, releases,
// slugs, config vars, pipeline promotions and review apps. Tests wrap it with
// httptest.NewServer; the local sandbox runs the same server in-process.
//
// It speaks the real wire format as heroku-go v5.5.0 reads it (field names
// and null-able fields from the API's schema.json, 201 on create, 206 and
// Next-Range on truncated release lists, {"id","message"} error bodies) and,
// like the real API, refuses requests without a bearer token or without the
// "version=3" Accept header that only heroku.Transport adds.
//
// Promotions and review apps move on by themselves: their state advances
// lazily, at the start of each request (and in the CurrentRelease helper),
// once their delay has passed.
package fakeheroku

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/devy-chatops/devy/internal/recorder"
)

// Call is one request the server received. Its Path is decoded, as the
// routes see it.
type Call = recorder.Call

// Server is the fake API. Create it with New; it is safe for concurrent use.
type Server struct {
	token  string
	mux    *http.ServeMux
	clock  func() time.Time  // time.Now; in-package tests replace it before use
	rec    recorder.Recorder // requests and armed failures; has its own lock
	strays recorder.Strays   // requests no route answered; has its own lock

	mu sync.Mutex // guards every field below, and all the records they point to

	seq            int // last number used by newID
	pipelines      map[string]*pipeline
	apps           map[string]*app
	slugs          map[string]*slug
	users          map[string]string // email -> user id
	promotions     map[string]*promotion
	promotionLog   []PromotionRecord
	promotionFails map[string]*failure // app id -> refusal for promotion targets to it
	promotionDelay time.Duration
	reviewApps     map[string]*reviewApp
	reviewOrder    []string            // review app ids in creation order
	reviewFails    map[string]*failure // branch -> message and stub
	reviewDelay    time.Duration
	hook           func(*http.Request) // runs before every request, outside mu (tests: slow Heroku)
}

// SetHook runs f at the start of every request, before anything else; tests
// use it to make Heroku slow or hang.
func (s *Server) SetHook(f func()) {
	if f == nil {
		s.SetRequestHook(nil)
		return
	}
	s.SetRequestHook(func(*http.Request) { f() })
}

// SetRequestHook is SetHook for tests that slow down some requests only.
func (s *Server) SetRequestHook(f func(r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// New returns an empty fake. A non-empty token must arrive as
// "Authorization: Bearer <token>"; with "" any credentials, or none, pass.
func New(token string) *Server {
	s := &Server{
		token:          token,
		clock:          time.Now,
		pipelines:      map[string]*pipeline{},
		apps:           map[string]*app{},
		slugs:          map[string]*slug{},
		users:          map[string]string{},
		promotions:     map[string]*promotion{},
		promotionFails: map[string]*failure{},
		reviewApps:     map[string]*reviewApp{},
		reviewFails:    map[string]*failure{},
	}
	s.rec.Name = "fakeheroku"
	s.mux = s.routes()
	return s
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /pipelines/{pipeline}", s.getPipeline)
	m.HandleFunc("GET /pipelines/{pipeline}/pipeline-couplings", s.listCouplings)
	m.HandleFunc("GET /pipelines/{pipeline}/review-apps", s.listReviewApps)
	m.HandleFunc("GET /apps/{app}", s.getApp)
	m.HandleFunc("GET /apps/{app}/releases", s.listReleases)
	m.HandleFunc("GET /apps/{app}/releases/{release}", s.getRelease)
	m.HandleFunc("GET /apps/{app}/slugs/{slug}", s.getSlug)
	m.HandleFunc("GET /apps/{app}/config-vars", s.getConfigVars)
	m.HandleFunc("GET /apps/{app}/review-app", s.getReviewAppByApp)
	m.HandleFunc("POST /pipeline-promotions", s.createPromotion)
	m.HandleFunc("GET /pipeline-promotions/{promotion}", s.getPromotion)
	m.HandleFunc("GET /pipeline-promotions/{promotion}/promotion-targets", s.listPromotionTargets)
	m.HandleFunc("POST /review-apps", s.createReviewApp)
	m.HandleFunc("GET /review-apps/{reviewapp}", s.getReviewApp)
	m.HandleFunc("DELETE /review-apps/{reviewapp}", s.deleteReviewApp)
	// Everything else, including a known path with the wrong method, is the
	// API's JSON 404 rather than ServeMux's plain-text 404 or 405, and a
	// stray that FailOnUnmatched reports.
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.strays.Add(r.Method, r.URL.Path, r.URL.Path, "")
		writeError(w, http.StatusNotFound, "not_found",
			"The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?")
	})
	return m
}

// ServeHTTP records the request, then answers an armed failure, refuses bad
// credentials or a missing API version, or routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Could not read the request body.")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	inj, armed := s.rec.Record(Call{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header,
		Body:     body,
	}, r.URL.Path)

	w.Header().Set("RateLimit-Remaining", "4499")
	if id := r.Header.Get("Request-Id"); id != "" {
		w.Header().Set("Request-Id", id)
	}
	if armed {
		for k, vs := range inj.Header {
			w.Header()[k] = append([]string(nil), vs...)
		}
		if inj.Body != "" && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(inj.Status)
		_, _ = io.WriteString(w, inj.Body)
		return
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials provided.")
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "version=3") {
		writeError(w, http.StatusBadRequest, "missing_version",
			"Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.")
		return
	}
	s.mu.Lock()
	s.advance(s.now())
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(header string) bool {
	if s.token == "" {
		return true
	}
	return header == "Bearer "+s.token
}

// Calls returns a copy of every request received so far, oldest first.
func (s *Server) Calls() []Call { return s.rec.Calls() }

// Count returns how many requests matched method and path; a path ending in
// "*" matches every path with that prefix. An empty method, or "*", matches
// any.
func (s *Server) Count(method, path string) int { return s.rec.Count(method, path) }

// FailNext arms a one-shot answer: the next request matching method and path
// (a trailing "*" is a prefix wildcard) gets status, header and body as
// given, before any credential check. Armed failures are used in order. A
// test that needs the failure to happen calls Require on the stub returned.
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
	s.strays.FailOn(t, "fakeheroku")
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_server_error", "fakeheroku: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers with the API's error body, which heroku.Transport
// decodes into heroku.Error{ID, Message, URL}.
func writeError(w http.ResponseWriter, status int, id, message string) {
	b, _ := json.Marshal(map[string]string{"id": id, "message": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func notFound(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("Couldn't find that %s.", what))
}

func invalidParams(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf(format, args...))
}
