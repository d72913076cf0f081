package bot

import (
	"fmt"
	"testing"
	"time"
)

func TestSeenForgetsOldIDsAtMostOnceAMinute(t *testing.T) {
	b := &Bot{seen: map[string]time.Time{}}
	old := time.Now().Add(-31 * time.Minute)
	fill := func(prefix string) {
		for i := range 5001 {
			b.seen[fmt.Sprintf("%s%d", prefix, i)] = old
		}
	}
	fill("a")
	if b.seenBefore("env:1") {
		t.Fatal("a new id was taken for a redelivery")
	}
	if len(b.seen) != 1 {
		t.Fatalf("%d ids remembered after the sweep, want 1 (old ones forgotten)", len(b.seen))
	}
	if !b.seenBefore("env:1") {
		t.Fatal("a redelivered id was not recognised")
	}

	// Within the minute no second sweep: the ids stay until the next one.
	fill("b")
	b.seenBefore("env:2")
	if len(b.seen) != 5003 {
		t.Fatalf("%d ids remembered, want 5003 (no sweep within a minute)", len(b.seen))
	}
	b.swept = time.Now().Add(-2 * time.Minute)
	b.seenBefore("env:3")
	if len(b.seen) != 3 {
		t.Fatalf("%d ids remembered after the next sweep, want 3", len(b.seen))
	}
}
