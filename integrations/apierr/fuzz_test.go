package apierr

import (
	"net/http"
	"testing"
)

// FuzzParseRetryAfter reads any Retry-After: the wait is never negative.
func FuzzParseRetryAfter(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		if d := ParseRetryAfter(h); d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v", v, d)
		}
	})
}
