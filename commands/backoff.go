package commands

import (
	"context"
	"time"
)

// Backoff is the wait between polls of something slow (a promotion, a
// review app being built): it doubles after every wait, up to Max, so a
// quick outcome is seen quickly and a slow one costs few calls.
type Backoff struct {
	Next time.Duration // the coming wait
	Max  time.Duration // the longest wait
}

// Wait waits for the coming wait, then doubles it. It returns false, at
// once, when ctx ends first.
func (b *Backoff) Wait(ctx context.Context) bool {
	t := time.NewTimer(b.Next)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	b.Next = min(b.Next*2, b.Max)
	return true
}
