// Package apierr is the one error shape every integration returns when a
// remote service fails, so that commands can tell people what went wrong in
// one sentence without knowing which library produced the error.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is a failed call to Heroku, GitHub or Semaphore.
type Error struct {
	Service    string        // "Heroku", "GitHub", "Semaphore"
	Op         string        // what was being attempted, as a phrase: "reading the staging release"
	StatusCode int           // HTTP status; 0 when the service could not be reached
	Message    string        // the service's own message, if it sent one
	RetryAfter time.Duration // from Retry-After or a rate-limit reset, if known
	Err        error         // the underlying error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Service, e.Op)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": status %d", e.StatusCode)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// UserMessage is the sentence shown in Slack: which service, what Devy was
// doing, and what to do next. It never includes a Go error string.
func (e *Error) UserMessage() string {
	switch {
	case e.StatusCode == 0:
		return fmt.Sprintf("%s could not be reached while %s; try again in a minute.", e.Service, e.Op)
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden && e.RetryAfter == 0:
		return fmt.Sprintf("%s refused Devy's token (%d) while %s; ask an admin to check Devy's %s token.", e.Service, e.StatusCode, e.Op, e.Service)
	case e.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("%s answered 404 while %s; check Devy's %s configuration.", e.Service, e.Op, e.Service)
	case e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusForbidden && e.RetryAfter > 0:
		return fmt.Sprintf("%s is rate-limiting Devy (%d) while %s; try again in %s.", e.Service, e.StatusCode, e.Op, e.wait("a few minutes"))
	default:
		return fmt.Sprintf("%s answered %d while %s; try again in %s.", e.Service, e.StatusCode, e.Op, e.wait("a minute"))
	}
}

func (e *Error) wait(fallback string) string {
	if e.RetryAfter > 0 {
		return e.RetryAfter.Round(time.Second).String()
	}
	return fallback
}

// StatusCode returns the HTTP status of err if it is an *Error, else 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// maxRetryAfter bounds a Retry-After: a larger one is a service's mistake,
// and multiplied into a Duration it would overflow into a negative wait.
const maxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header given in seconds; other forms
// (HTTP dates) are rare from these services and are ignored. A wait over a
// day is read as a day.
func ParseRetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err != nil || secs < 0 {
		return 0
	}
	if secs > int64(maxRetryAfter/time.Second) {
		return maxRetryAfter
	}
	return time.Duration(secs) * time.Second
}
