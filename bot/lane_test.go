package bot

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// A burst of work runs on at most runners goroutines, every one
// of them run, in the order they came when one runner takes them,
// and the goroutines end once the queue is empty.
func TestLaneRunsEveryWorkWithFewGoroutines(t *testing.T) {
	for _, runners := range []int{1, 3} {
		bg := commands.NewBackground(t.Context())
		q := &lane{bg: bg, runners: runners}
		release := make(chan struct{})
		var (
			mu            sync.Mutex
			running, peak int
			order         []int
		)
		const n = 50
		for i := range n {
			q.add(func(context.Context) {
				mu.Lock()
				running++
				peak = max(peak, running)
				order = append(order, i)
				mu.Unlock()
				<-release
				mu.Lock()
				running--
				mu.Unlock()
			})
		}
		// Every runner takes work and holds it until released.
		waitfor.True(t, "every runner busy", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return running == runners
		})
		close(release)
		if !bg.Wait(5 * time.Second) {
			t.Fatalf("runners %d: the queue's goroutines did not end once it was empty", runners)
		}
		if peak != runners {
			t.Errorf("runners %d: %d pieces of work ran at once", runners, peak)
		}
		if len(order) != n {
			t.Fatalf("runners %d: %d of %d pieces of work ran", runners, len(order), n)
		}
		if runners == 1 {
			for i, got := range order {
				if got != i {
					t.Fatalf("work %d ran as number %d; one runner runs work in the order it came", got, i)
				}
			}
		}
		if q.running != 0 || q.pending != nil {
			t.Errorf("runners %d: queue left with %d running, %d pending", runners, q.running, len(q.pending))
		}
	}
}
