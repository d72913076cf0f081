package commands

import (
	"context"
	"runtime/debug"
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
}

// OnPanic makes a panic in background work end only that work: f is told
// (to log it) and the process goes on serving and following promotions.
// Call it before the first Go.
func (b *Background) OnPanic(f func(v any, stack []byte)) { b.panicked = f }

// NewBackground ties background work to ctx.
func NewBackground(ctx context.Context) *Background { return &Background{ctx: ctx} }

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
