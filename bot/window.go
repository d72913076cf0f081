package bot

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// window bounds how many messages are being sent to Slack at once, and
// sizes the bound by Little's law: in flight = rate × round trip. Against
// Slack a send waits on the network (tens to hundreds of milliseconds), so
// the window opens to maxSends and a burst of replies goes out in parallel.
// When sends come back in a millisecond they wait on this machine's CPU,
// not the network: more of them at once would not go out faster, they
// would only crowd out the goroutines acknowledging new envelopes (the
// benchmark's test Slack runs on the same cores). Then the window stays at
// minSends, one: while that one send waits for its answer, nothing of
// Devy's is runnable, and Go looks at the network, where new envelopes
// wait. With two, the second send's work usually filled that gap, and
// acknowledgements waited behind a whole burst of replies. A send that
// hangs counts with the time it has taken so far, so a slow Slack opens
// the window before any send has come back.
type window struct {
	mu      sync.Mutex
	now     func() time.Time     // time.Now; tests set their own
	rtt     time.Duration        // smoothed round trip of a send; 0 until one finished
	last    uint64               // the last id handed out
	sending map[uint64]time.Time // sends holding room, by id, with when they started
	waiting []waiter             // senders waiting for room, oldest first
	// recheck, while senders wait, looks at the window again after
	// recheckEvery: sends that hang never give room back, only their age
	// tells.
	recheck *time.Timer
}

type waiter struct {
	id    uint64
	ready chan struct{} // closed when room was handed over
}

const (
	minSends = 1
	maxSends = 16
	// sendRate is the rate the window is sized for: far beyond what a team
	// needs (a thousand status replies in under three seconds), so it only
	// ever limits sends that would be CPU, not network, bound.
	sendRate     = 400 // per second
	recheckEvery = 50 * time.Millisecond
)

// limit is the window's size for a round trip.
func limit(rtt time.Duration) int {
	if rtt <= 0 {
		return minSends // nothing measured yet: start small, the first reply opens it
	}
	n := int(math.Ceil(rtt.Seconds() * sendRate))
	return min(max(n, minSends), maxSends)
}

// size is the window's size now: from the smoothed round trip, or from the
// oldest send still running if it has taken longer. Callers hold mu.
func (w *window) size(now time.Time) int {
	rtt := w.rtt
	for _, at := range w.sending {
		rtt = max(rtt, now.Sub(at))
	}
	return limit(rtt)
}

func (w *window) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// acquire waits for room to send. done must be called when the send ended;
// the window learns the round trip from the time between the two.
func (w *window) acquire(ctx context.Context) (done func(), err error) {
	w.mu.Lock()
	if w.sending == nil {
		w.sending = map[uint64]time.Time{}
	}
	w.last++
	id := w.last
	if now := w.clock(); len(w.waiting) == 0 && len(w.sending) < w.size(now) {
		w.sending[id] = now
		w.mu.Unlock()
		return w.doneFunc(id), nil
	}
	ready := make(chan struct{})
	w.waiting = append(w.waiting, waiter{id: id, ready: ready})
	w.armRecheck()
	w.mu.Unlock()

	select {
	case <-ready:
		return w.doneFunc(id), nil
	case <-ctx.Done():
		w.mu.Lock()
		for i, x := range w.waiting {
			if x.id == id {
				w.waiting = append(w.waiting[:i], w.waiting[i+1:]...)
				w.mu.Unlock()
				return nil, fmt.Errorf("slack: waiting to send: %w", ctx.Err())
			}
		}
		w.mu.Unlock()
		// Room was handed over as the context ended: pass it on.
		w.release(id, false)
		return nil, fmt.Errorf("slack: waiting to send: %w", ctx.Err())
	}
}

func (w *window) doneFunc(id uint64) func() {
	var once sync.Once
	return func() { once.Do(func() { w.release(id, true) }) }
}

// release gives send id's room back, learning its round trip if it was
// sent, and hands room to the oldest waiters that now fit.
func (w *window) release(id uint64, sent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock()
	if at, ok := w.sending[id]; ok {
		if rtt := now.Sub(at); sent && rtt > 0 {
			if w.rtt == 0 {
				w.rtt = rtt
			} else {
				w.rtt += (rtt - w.rtt) / 4
			}
		}
		delete(w.sending, id)
	}
	w.handOut(now)
}

// handOut gives room to the oldest waiters that fit. Callers hold mu.
func (w *window) handOut(now time.Time) {
	for len(w.waiting) > 0 && len(w.sending) < w.size(now) {
		x := w.waiting[0]
		w.waiting = w.waiting[1:]
		w.sending[x.id] = now
		close(x.ready)
	}
}

// armRecheck makes sure the window is looked at again soon while senders
// wait. One timer at most; it re-arms itself while anyone waits. Callers
// hold mu.
func (w *window) armRecheck() {
	if w.recheck != nil {
		return
	}
	w.recheck = time.AfterFunc(recheckEvery, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.recheck = nil
		w.handOut(w.clock())
		if len(w.waiting) > 0 {
			w.armRecheck()
		}
	})
}
