// Package heroku is Devy's thin adapter on the Heroku Platform API
// (github.com/heroku/heroku-go/v5). It returns small plain structs instead of
// heroku-go's generated types, and turns every failure into an
// *apierr.Error{Service: "Heroku"} so commands can explain it in one sentence.
//
// The adapter never retries: a rate-limited or failed call is reported with
// its status and Retry-After, and the caller decides what to do next.
package heroku

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/devy-chatops/devy/integrations/apierr"
)

const serviceName = "Heroku"

// defaultTimeout bounds one API call when the caller gives no http.Client.
const defaultTimeout = 30 * time.Second

// Client calls the Heroku Platform API with one token. It is safe for
// concurrent use.
type Client struct {
	svc *heroku.Service

	mu      sync.Mutex        // guards commits
	commits map[string]string // slug id → commit: a slug never changes, so it is read once
}

// New returns a client for the API at baseURL ("" means heroku.DefaultURL).
// hc is copied, never modified; nil means a client with a 30s timeout.
//
// The transport is wrapped in heroku.Transport because that is where
// heroku-go adds the bearer token and the version=3 Accept header and where it
// turns non-2xx answers into heroku.Error: heroku-go's Service.Do never checks
// the status itself, so without it a 404 body would decode silently.
func New(baseURL, token string, hc *http.Client) *Client {
	var copied http.Client
	if hc != nil {
		copied = *hc
	} else {
		copied.Timeout = defaultTimeout
	}
	inner := copied.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	// The recorder sits under heroku.Transport so it sees the raw answer:
	// heroku.Error carries no headers (Retry-After), and a non-JSON error body
	// loses even the status code.
	copied.Transport = &heroku.Transport{
		BearerToken: token,
		Transport:   recorder{next: inner},
	}
	svc := heroku.NewService(&copied)
	if baseURL != "" {
		svc.URL = strings.TrimRight(baseURL, "/")
	}
	return &Client{svc: svc, commits: map[string]string{}}
}

// answerKey is the context key under which call puts the *answer that the
// recorder fills in for one API request.
type answerKey struct{}

// answer is what the recorder saw of one HTTP response.
type answer struct {
	status     int
	retryAfter time.Duration
}

// recorder notes the status and Retry-After of each response in the *answer
// found in the request's context. http.Client runs RoundTrip on the caller's
// goroutine and call makes one *answer per request, so no lock is needed.
type recorder struct {
	next http.RoundTripper
}

// CancelRequest exists because heroku.Transport forwards http.Client's
// legacy timeout cancel here and logs a warning on the global logger when the
// inner transport cannot take it. Nothing to do: http.Client has already
// cancelled the request's context, which every modern transport obeys.
func (recorder) CancelRequest(*http.Request) {}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if a, ok := req.Context().Value(answerKey{}).(*answer); ok {
		a.status = resp.StatusCode
		a.retryAfter = apierr.ParseRetryAfter(resp.Header)
	}
	return resp, nil
}

// call runs one API request (fn must make exactly one) and converts its
// failure into an *apierr.Error described by op.
func (c *Client) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	var a answer
	err := fn(context.WithValue(ctx, answerKey{}, &a))
	if err == nil {
		return nil
	}
	return toAPIError(op, &a, err)
}

// toAPIError maps heroku-go's failures: a heroku.Error (the API answered
// non-2xx with its JSON error), a non-2xx with an unreadable body (heroku-go
// then returns a bare error, so the status comes from the recorder), an
// undecodable 2xx body, or a network failure (status 0).
func toAPIError(op string, a *answer, err error) *apierr.Error {
	e := &apierr.Error{Service: serviceName, Op: op, Err: err}
	var herr heroku.Error
	switch {
	case errors.As(err, &herr):
		e.StatusCode = herr.StatusCode
		e.Message = herr.Error() // checkResponse always sets the message
		if e.Message == "" {
			e.Message = herr.ID
		}
		// heroku.Error's text is its message; wrap it so the id, not the
		// message a second time, follows the message in Error().
		e.Err = idError{herr: herr}
	case a.status != 0 && a.status/100 != 2:
		e.StatusCode = a.status
	case a.status/100 == 2:
		e.Message = "could not read Heroku's answer"
	}
	if e.StatusCode != 0 {
		e.RetryAfter = a.retryAfter
	}
	return e
}

// idError carries a heroku.Error whose message is already in
// apierr.Error.Message; it prints the error id instead.
type idError struct {
	herr heroku.Error
}

func (e idError) Error() string {
	if e.herr.ID == "" {
		return "no error id"
	}
	return "error id " + e.herr.ID
}

func (e idError) Unwrap() error { return e.herr }

// ErrNoRelease is wrapped (inside an *apierr.Error with status 404) when an
// app has no release Devy can call current; callers test it with errors.Is to
// reply "nothing deployed yet" instead of reporting a failure.
var ErrNoRelease = errors.New("no current release")

// seg escapes an id or name for a URL path: heroku-go pastes identities into
// paths with %v, so a "/" or "?" in a name would reach another endpoint.
func seg(s string) string { return url.PathEscape(s) }
