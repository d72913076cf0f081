package commands_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store"
)

func TestOutbox(t *testing.T) {
	tests := []struct {
		name      string
		failures  int // how many attempts fail before one succeeds
		attempts  int // MaxAttempts
		wantCalls int32
	}{
		{name: "carried out at once", failures: 0, attempts: 5, wantCalls: 1},
		{name: "retried after failures", failures: 2, attempts: 5, wantCalls: 3},
		{name: "dropped after the last attempt", failures: 100, attempts: 3, wantCalls: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := commandstest.Store(t)
			var calls atomic.Int32
			o := commands.NewOutbox(st, commands.OutboxConfig{Retry: 5 * time.Millisecond, MaxRetry: 20 * time.Millisecond, MaxAttempts: tc.attempts}, zerolog.Nop())
			o.Handle("test.kind", func(ctx context.Context, e store.Effect) error {
				if int(calls.Add(1)) <= tc.failures {
					return errors.New("refused")
				}
				return nil
			})
			if err := st.Enqueue(store.Effect{Kind: "test.kind"}); err != nil {
				t.Fatal(err)
			}
			o.Start(commands.NewBackground(t.Context()))
			waitfor.True(t, "the outbox to empty", func() bool {
				left, err := st.PendingEffects(0)
				return err == nil && len(left) == 0
			})
			if got := calls.Load(); got != tc.wantCalls {
				t.Fatalf("handler ran %d times, want %d", got, tc.wantCalls)
			}
		})
	}
}

// Two processes draining one store carry out each effect once, and leave
// kinds they have no handler for alone.
func TestOutboxSharedByTwoProcesses(t *testing.T) {
	st := commandstest.Store(t)
	var mu sync.Mutex
	ran := map[uint64]int{}
	for range 2 {
		o := commands.NewOutbox(st, commands.OutboxConfig{Every: 5 * time.Millisecond}, zerolog.Nop())
		o.Handle("test.kind", func(ctx context.Context, e store.Effect) error {
			mu.Lock()
			defer mu.Unlock()
			ran[e.ID]++
			return nil
		})
		o.Start(commands.NewBackground(t.Context()))
	}
	for range 20 {
		if err := st.Enqueue(store.Effect{Kind: "test.kind"}, store.Effect{Kind: "other.kind"}); err != nil {
			t.Fatal(err)
		}
	}
	waitfor.True(t, "every effect of the kind to run", func() bool {
		left, _ := st.PendingEffects(0)
		return len(left) == 20
	})
	mu.Lock()
	defer mu.Unlock()
	for id, n := range ran {
		if n != 1 {
			t.Errorf("effect %d ran %d times", id, n)
		}
	}
	if len(ran) != 20 {
		t.Errorf("%d effects ran, want 20", len(ran))
	}
}
