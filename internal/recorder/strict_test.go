package recorder

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fakeTB collects what a check reports, running cleanups when told.
type fakeTB struct {
	cleanups []func()
	errors   []string
}

func (*fakeTB) Helper()             {}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// end runs the cleanups the way testing does, last first.
func (f *fakeTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestRequiredStub(t *testing.T) {
	tests := []struct {
		name     string
		requests []string // paths requested before the test ends
		want     string   // part of the error; "" for none
	}{
		{"used", []string{"/a"}, ""},
		{"unused", []string{"/b"}, "fakeheroku: FailNext GET /a (503): the test required this stub, but no request used it"},
		{"never a request", nil, "FailNext GET /a (503)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Recorder{Name: "fakeheroku"}
			tb := &fakeTB{}
			r.FailNext("GET", "/a", 503, nil, "").Require(tb)
			for _, p := range tt.requests {
				r.Record(Call{Method: "GET", Path: p}, p)
			}
			tb.end()
			switch {
			case tt.want == "" && len(tb.errors) > 0:
				t.Errorf("errors %q, want none", tb.errors)
			case tt.want != "" && (len(tb.errors) != 1 || !strings.Contains(tb.errors[0], tt.want)):
				t.Errorf("errors %q, want one containing %q", tb.errors, tt.want)
			}
		})
	}
}

func TestAnOptionalStubMayGoUnused(t *testing.T) {
	var r Recorder
	tb := &fakeTB{}
	stub := r.FailNext("GET", "/a", 503, nil, "")
	tb.end()
	if stub.Used() || len(tb.errors) > 0 {
		t.Fatalf("used %t, errors %q; want an unused stub and no error", stub.Used(), tb.errors)
	}
}

func TestStrays(t *testing.T) {
	tests := []struct {
		name  string
		allow [][2]string // method, path
		want  []string    // lines of the error; nil for no error
	}{
		{"none allowed", nil, []string{"GET /apps/x/dynos", "POST /api/chat.frobnicate (chat.frobnicate)"}},
		{"one allowed by prefix", [][2]string{{"GET", "/apps/*"}}, []string{"POST /api/chat.frobnicate (chat.frobnicate)"}},
		{"other method not allowed", [][2]string{{"POST", "/apps/*"}, {"", "/api/chat.frobnicate"}}, []string{"GET /apps/x/dynos"}},
		{"all allowed", [][2]string{{"", "*"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Strays
			tb := &fakeTB{}
			s.FailOn(tb, "fakeX")
			s.Add("GET", "/apps/x/dynos", "/apps/x/dynos", "")
			s.Add("POST", "/api/chat.frobnicate", "/api/chat.frobnicate", "chat.frobnicate")
			for _, a := range tt.allow {
				s.Allow(a[0], a[1]) // allowing after the request still counts
			}
			tb.end()
			if tt.want == nil {
				if len(tb.errors) > 0 {
					t.Fatalf("errors %q, want none", tb.errors)
				}
				return
			}
			if len(tb.errors) != 1 {
				t.Fatalf("errors %q, want one", tb.errors)
			}
			lines := strings.Split(tb.errors[0], "\n\t")
			if !strings.HasPrefix(lines[0], "fakeX received") || !slices.Equal(lines[1:], tt.want) {
				t.Fatalf("error %q, want fakeX's requests %q", tb.errors[0], tt.want)
			}
		})
	}
	var s Strays
	s.Add("GET", "/x", "/x", "")
	s.Allow("", "*")
	if got := s.List(); !slices.Equal(got, []string{"GET /x"}) {
		t.Errorf("List = %q; want allowed requests listed too", got)
	}
}
