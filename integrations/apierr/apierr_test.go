package apierr

import (
	"errors"
	"fmt"
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
