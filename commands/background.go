package commands

import (
	"context"
	"runtime/debug"
	"sort"
	"sync"
	"time"
)

// Background runs work that outlives a request (handling an envelope after
// its acknowledgement, following a promotion to its end) under the process's
// root context, so that shutdown cancels it and can wait for it.
type Background struct {
	ctx context.Context
	wg  sync.WaitGroup
	// panicked, if set, hears of a panic in background work, which then
	// ends without ending the process (see OnPanic).
	panicked func(v any, stack []byte)

	mu      sync.Mutex     // guards working and idle
	working map[string]int // kind of Work → how many are running
	idle    chan struct{}  // closed when the last running Work ends
}

// OnPanic makes a panic in background work end only that work: f is told
// (to log it) and the process goes on serving and following promotions.
// Call it before the first Go.
func (b *Background) OnPanic(f func(v any, stack []byte)) { b.panicked = f }

// NewBackground ties background work to ctx.
func NewBackground(ctx context.Context) *Background {
	return &Background{ctx: ctx, working: map[string]int{}}
}

// Go runs f in a goroutine with the root context.
func (b *Background) Go(f func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if b.panicked != nil {
			defer func() {
				if v := recover(); v != nil {
					b.panicked(v, debug.Stack())
				}
			}()
		}
		f(b.ctx)
	}()
}

// Work runs f like Go, as work someone started and would want to see end
// (kind names it for people: "a promotion"). Unlike the loops that run until
// the root context ends, such work can be waited for with WaitWork.
func (b *Background) Work(kind string, f func(ctx context.Context)) {
	b.mu.Lock()
	if len(b.working) == 0 {
		b.idle = make(chan struct{})
	}
	b.working[kind]++
	b.mu.Unlock()
	b.Go(func(ctx context.Context) {
		defer func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.working[kind]--; b.working[kind] == 0 {
				delete(b.working, kind)
			}
			if len(b.working) == 0 {
				close(b.idle)
			}
		}()
		f(ctx)
	})
}

// Working names the kinds of Work still running, each once, sorted.
func (b *Background) Working() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	kinds := make([]string, 0, len(b.working))
	for k := range b.working {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// WaitWork waits until no Work runs, at most timeout or until ctx ends. It
// reports whether all of it ended.
func (b *Background) WaitWork(ctx context.Context, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		b.mu.Lock()
		idle, busy := b.idle, len(b.working) > 0
		b.mu.Unlock()
		if !busy {
			return true
		}
		select {
		case <-idle: // look again: new work may have started since
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		}
	}
}

// Wait waits for all work to end, at most timeout. It reports whether
// everything ended in time.
func (b *Background) Wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Every runs f now and then every interval until ctx ends: the loops that
// look again for due work (reminders, digests, gauges) all have this shape.
func Every(ctx context.Context, every time.Duration, f func(ctx context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
