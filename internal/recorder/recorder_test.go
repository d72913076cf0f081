package recorder

import (
	"net/http"
	"sync"
	"testing"
)

func TestCountMatching(t *testing.T) {
	var r Recorder
	r.Record(Call{Method: "GET", Path: "/repos/a/b/compare/x...feature%2Fy"}, "/repos/a/b/compare/x...feature/y")
	r.Record(Call{Method: "POST", Path: "/repos/a/b/issues"}, "/repos/a/b/issues")
	r.Record(Call{Method: "get", Path: "/pipelines/acme"}, "/pipelines/acme")

	tests := []struct {
		name, method, path string
		want               int
	}{
		{"exact", "POST", "/repos/a/b/issues", 1},
		{"method differs", "GET", "/repos/a/b/issues", 0},
		{"method any by empty", "", "/repos/a/b/issues", 1},
		{"method any by star", "*", "/repos/a/b/issues", 1},
		{"method ignores case", "Get", "/pipelines/acme", 1},
		{"prefix", "", "/repos/a/b/*", 2},
		{"prefix of everything", "", "*", 3},
		{"no star, no prefix", "", "/repos/a/b/", 0},
		{"star only at the end", "", "/repos/*/issues", 0},
		{"escaped form", "GET", "/repos/a/b/compare/x...feature%2Fy", 1},
		{"decoded form", "GET", "/repos/a/b/compare/x...feature/y", 1},
		{"decoded prefix", "GET", "/repos/a/b/compare/x...feature/*", 1},
		{"escaped prefix", "GET", "/repos/a/b/compare/x...feature%2F*", 1},
		{"no match", "GET", "/nowhere", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Count(tt.method, tt.path); got != tt.want {
				t.Errorf("Count(%q, %q) = %d, want %d", tt.method, tt.path, got, tt.want)
			}
		})
	}
}

func TestFailuresAreOneShotAndFIFO(t *testing.T) {
	var r Recorder
	r.FailNext("GET", "/a/*", 429, http.Header{"Retry-After": {"5"}}, "first")
	r.FailNext("", "/a/1", 500, nil, "second")
	r.FailNext("POST", "/b", 503, nil, "third")

	tests := []struct {
		method, path string
		wantStatus   int // 0: no failure
		wantBody     string
	}{
		{"GET", "/b", 0, ""},             // /b is queued for POST only
		{"GET", "/a/1", 429, "first"},    // the oldest match wins
		{"GET", "/a/1", 500, "second"},   // the next one, once the first is used
		{"GET", "/a/1", 0, ""},           // both are used up
		{"POST", "/b", 503, "third"},     // the later one was kept meanwhile
		{"POST", "/b", 0, ""},            // and is one-shot too
		{"DELETE", "/a/anything", 0, ""}, // nothing left
	}
	for i, tt := range tests {
		f, ok := r.Record(Call{Method: tt.method, Path: tt.path}, tt.path)
		if tt.wantStatus == 0 {
			if ok {
				t.Errorf("request %d (%s %s) took %+v, want none", i, tt.method, tt.path, f)
			}
			continue
		}
		if !ok || f.Status != tt.wantStatus || f.Body != tt.wantBody {
			t.Errorf("request %d (%s %s) took %+v (%v), want %d %q", i, tt.method, tt.path, f, ok, tt.wantStatus, tt.wantBody)
		}
	}
	if got, want := len(r.Calls()), len(tests); got != want {
		t.Errorf("%d calls logged, want %d: failed requests are logged too", got, want)
	}
}

func TestCopiesNotAliases(t *testing.T) {
	var r Recorder
	hdr := http.Header{"X-A": {"1"}}
	r.FailNext("", "/f", 500, hdr, "")
	hdr.Set("X-A", "changed after FailNext")

	reqHdr := http.Header{"X-B": {"1"}}
	body := []byte("body")
	f, _ := r.Record(Call{Method: "GET", Path: "/f", Header: reqHdr, Body: body}, "/f")
	reqHdr.Set("X-B", "changed after Record")
	body[0] = 'X'

	first := r.Calls()
	first[0].Header.Set("X-B", "changed in a copy")
	first[0].Body[0] = 'Y'
	second := r.Calls()

	tests := []struct {
		name, got, want string
	}{
		{"failure header", f.Header.Get("X-A"), "1"},
		{"logged header", second[0].Header.Get("X-B"), "1"},
		{"logged body", string(second[0].Body), "body"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestConcurrentUse is for -race: fakes record from their handlers while
// tests read and arm from other goroutines.
func TestConcurrentUse(t *testing.T) {
	var r Recorder
	const n = 8
	for range n {
		r.FailNext("GET", "/x", 500, nil, "")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	took := 0
	for range n * 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := r.Record(Call{Method: "GET", Path: "/x"}, "/x"); ok {
				mu.Lock()
				took++
				mu.Unlock()
			}
			_ = r.Calls()
			_ = r.Count("", "*")
		}()
	}
	wg.Wait()
	if took != n || r.Count("GET", "/x") != 2*n {
		t.Errorf("took %d failures and logged %d calls, want %d and %d", took, r.Count("GET", "/x"), n, 2*n)
	}
}
