package bot

import (
	"context"
	"fmt"
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
		// A clock that stands still: no entry is ever late, so one runner
		// keeps the order.
		at := time.Now()
		q := &lane{bg: bg, runners: runners, now: func() time.Time { return at }}
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

// After a stall, work that arrives once it ends is taken alongside the
// backlog rather than after all of it, and the backlog still goes out
// oldest first.
func TestLaneTakesNewWorkAlongsideALateBacklog(t *testing.T) {
	tests := []struct {
		name  string
		stall time.Duration // how long the clock moves while the runner is held
		want  []int
	}{
		{"short stall: in the order it came", lateAfter / 2, []int{0, 1, 2, 3, 4, 5, 6}},
		{"late backlog: newest every other take", 2 * lateAfter, []int{0, 1, 6, 2, 5, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bg := commands.NewBackground(t.Context())
			var (
				mu    sync.Mutex
				now   = time.Now()
				order []int
			)
			clock := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			}
			q := &lane{bg: bg, runners: 1, now: clock}
			held, release := make(chan struct{}), make(chan struct{})
			record := func(i int) func(context.Context) {
				return func(context.Context) {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				}
			}
			// Work 0 holds the one runner, as a slow read would; 1 to 5
			// pile up behind it.
			q.add(func(ctx context.Context) {
				record(0)(ctx)
				close(held)
				<-release
			})
			<-held
			for i := 1; i <= 5; i++ {
				q.add(record(i))
			}
			mu.Lock()
			now = now.Add(tt.stall)
			mu.Unlock()
			q.add(record(6)) // arrives as the stall ends
			close(release)
			if !bg.Wait(5 * time.Second) {
				t.Fatal("the lane's runner did not end once its queue was empty")
			}
			if fmt.Sprint(order) != fmt.Sprint(tt.want) {
				t.Errorf("work ran in the order %v; want %v", order, tt.want)
			}
		})
	}
}
