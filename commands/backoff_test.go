package commands

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Run("doubles up to Max", func(t *testing.T) {
		b := Backoff{Next: time.Millisecond, Max: 3 * time.Millisecond}
		var waits []time.Duration
		for range 3 {
			if !b.Wait(context.Background()) {
				t.Fatal("Wait returned false with a live context")
			}
			waits = append(waits, b.Next)
		}
		want := []time.Duration{2 * time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond}
		for i := range want {
			if waits[i] != want[i] {
				t.Fatalf("next waits = %v, want %v", waits, want)
			}
		}
	})
	t.Run("stops when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		b := Backoff{Next: time.Hour, Max: time.Hour}
		if b.Wait(ctx) {
			t.Fatal("Wait returned true after the context ended")
		}
	})
}
