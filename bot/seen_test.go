package bot

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Envelope and event ids are recognised when redelivered, and remembered
// for a bounded time and in a bounded number.
func TestSeenIsABoundedTTLSet(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		ttl    time.Duration
		add    []string
		wait   bool // for the id to expire before asking again
		ask    string
		before bool
	}{
		{"a redelivery", 10, time.Hour, []string{"env:1"}, false, "env:1", true},
		{"another id", 10, time.Hour, []string{"env:1"}, false, "env:2", false},
		{"pushed out by newer ids", 2, time.Hour, []string{"env:1", "env:2", "env:3"}, false, "env:1", false},
		{"the newest kept", 2, time.Hour, []string{"env:1", "env:2", "env:3"}, false, "env:3", true},
		{"forgotten after its time", 10, 20 * time.Millisecond, []string{"env:1"}, true, "env:1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &Bot{seen: expirable.NewLRU[string, struct{}](tc.max, nil, tc.ttl)}
			for _, k := range tc.add {
				if b.seenBefore(k) {
					t.Fatalf("%s taken for a redelivery the first time", k)
				}
			}
			if tc.wait {
				deadline := time.Now().Add(10 * time.Second)
				for _, ok := b.seen.Peek(tc.ask); ok; _, ok = b.seen.Peek(tc.ask) {
					if time.Now().After(deadline) {
						t.Fatalf("%s still remembered long after its time", tc.ask)
					}
					time.Sleep(time.Millisecond)
				}
			}
			if got := b.seenBefore(tc.ask); got != tc.before {
				t.Errorf("seenBefore(%s) = %v; want %v", tc.ask, got, tc.before)
			}
			if n := b.seen.Len(); n > tc.max {
				t.Errorf("%d ids remembered; want at most %d", n, tc.max)
			}
		})
	}
}

func TestSeenIsBoundedUnderABurst(t *testing.T) {
	b := &Bot{seen: expirable.NewLRU[string, struct{}](seenMax, nil, seenFor)}
	for i := range 3 * seenMax {
		b.seenBefore(fmt.Sprintf("env:%d", i))
	}
	if n := b.seen.Len(); n != seenMax {
		t.Errorf("%d ids remembered after a burst; want %d", n, seenMax)
	}
}
