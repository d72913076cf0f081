package github_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/devy-chatops/devy/integrations/github"
)

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Failed calls leave nothing running: go-github's CheckResponse replaces
// an error's body before its deferred Close, so without help the
// client's timeout goroutine of each failed call lived until the timeout.
func TestFailedCallsLeaveNoGoroutines(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		token  string
	}{
		{"404 with a token", http.StatusNotFound, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`, token},
		{"404 without a token", http.StatusNotFound, `{"message":"Not Found"}`, ""},
		{"422", http.StatusUnprocessableEntity, `{"message":"Validation Failed","errors":[{"resource":"Commit","code":"invalid"}]}`, token},
		{"500, not JSON", http.StatusInternalServerError, `oops`, token},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			// A timeout far beyond the test's patience: a goroutine held
			// until it fires shows up as a leak.
			hc := &http.Client{Timeout: time.Hour}
			c, err := github.New(srv.URL, tc.token, "acme/shop", hc)
			if err != nil {
				t.Fatal(err)
			}
			before := runtime.NumGoroutine()
			const calls = 50
			for range calls {
				if _, err := c.Compare(context.Background(), "main", "feature"); err == nil {
					t.Fatal("a failed compare reported no error")
				}
			}
			waitFor(t, fmt.Sprintf("the goroutines of %d failed calls to end", calls), func() bool {
				return runtime.NumGoroutine() <= before+5
			})
		})
	}
}

// The caller's timeout still bounds a call to a GitHub that does not answer.
func TestTimeoutStillApplies(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := github.New(srv.URL, token, "acme/shop", &http.Client{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Compare(context.Background(), "main", "feature"); err == nil {
		t.Fatal("a call to a silent GitHub succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the call took %v; want about the 50ms timeout", d)
	}
}
