package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUserMessage(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Service: "Heroku", Op: "reading the staging release"}, "Heroku could not be reached while reading the staging release; try again in a minute."},
		{Error{Service: "Heroku", Op: "reading the staging release", StatusCode: 503}, "Heroku answered 503 while reading the staging release; try again in a minute."},
		{Error{Service: "Heroku", Op: "reading the staging release", StatusCode: 503, RetryAfter: 30 * time.Second}, "Heroku answered 503 while reading the staging release; try again in 30s."},
		{Error{Service: "GitHub", Op: "comparing commits", StatusCode: 401}, "GitHub refused Devy's token (401) while comparing commits; ask an admin to check Devy's GitHub token."},
		{Error{Service: "GitHub", Op: "comparing commits", StatusCode: 403, RetryAfter: time.Minute}, "GitHub is rate-limiting Devy (403) while comparing commits; try again in 1m0s."},
		{Error{Service: "Semaphore", Op: "reading pipelines", StatusCode: 404}, "Semaphore answered 404 while reading pipelines; check Devy's Semaphore configuration."},
		{Error{Service: "Heroku", Op: "starting the promotion", StatusCode: 429}, "Heroku is rate-limiting Devy (429) while starting the promotion; try again in a few minutes."},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.UserMessage(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestStatusCodeThroughWrapping(t *testing.T) {
	err := fmt.Errorf("promote: %w", &Error{Service: "Heroku", Op: "x", StatusCode: 422, Err: errors.New("boom")})
	if StatusCode(err) != 422 {
		t.Fatal("status lost through wrapping")
	}
	if StatusCode(errors.New("plain")) != 0 {
		t.Fatal("plain error has a status")
	}
	if !strings.Contains(err.Error(), "boom") {
		t.Fatal("cause lost")
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {"0", 0}, {"-1", 0}, {"soon", 0},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0},
		{"86400", 24 * time.Hour},
		// Multiplied into a Duration, this overflowed into a negative wait.
		{"212170000000", 24 * time.Hour},
		{"99999999999999999999", 0}, // not an int64: unreadable
	}
	for _, tc := range tests {
		t.Run(tc.v, func(t *testing.T) {
			h := http.Header{}
			h.Set("Retry-After", tc.v)
			if got := ParseRetryAfter(h); got != tc.want {
				t.Errorf("ParseRetryAfter(%q) = %v; want %v", tc.v, got, tc.want)
			}
		})
	}
}
