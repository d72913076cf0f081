package commands

import (
	"context"
	"sync"
	"time"
)

// Background runs work that outlives a request (handling an envelope after
// its acknowledgement, following a promotion to its end) under the process's
// root context, so that shutdown cancels it and can wait for it.
type Background struct {
	ctx context.Context
	wg  sync.WaitGroup
}

// NewBackground ties background work to ctx.
func NewBackground(ctx context.Context) *Background { return &Background{ctx: ctx} }

// Go runs f in a goroutine with the root context.
func (b *Background) Go(f func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
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
