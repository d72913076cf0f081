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
// minSends.
type window struct {
	mu       sync.Mutex
	rtt      time.Duration   // smoothed round trip of a send; 0 until one finished
	inflight int             // sends holding room now
	waiting  []chan struct{} // senders waiting for room, oldest first
}

const (
	minSends = 2
	maxSends = 16
	// sendRate is the rate the window is sized for: far beyond what a team
	// needs (a thousand status replies in under three seconds), so it only
	// ever limits sends that would be CPU, not network, bound.
	sendRate = 400 // per second
)

// limit is the window's size for a smoothed round trip.
func limit(rtt time.Duration) int {
	if rtt <= 0 {
		return minSends // nothing measured yet: start small, the first reply opens it
	}
	n := int(math.Ceil(rtt.Seconds() * sendRate))
	return min(max(n, minSends), maxSends)
}

// acquire waits for room to send. done must be called when the send ended;
// it learns the round trip from the time between the two.
func (w *window) acquire(ctx context.Context) (done func(), err error) {
	w.mu.Lock()
	if len(w.waiting) == 0 && w.inflight < limit(w.rtt) {
		w.inflight++
		w.mu.Unlock()
		return w.doneFunc(), nil
	}
	ready := make(chan struct{})
	w.waiting = append(w.waiting, ready)
	w.mu.Unlock()

	select {
	case <-ready:
		return w.doneFunc(), nil
	case <-ctx.Done():
		w.mu.Lock()
		for i, c := range w.waiting {
			if c == ready {
				w.waiting = append(w.waiting[:i], w.waiting[i+1:]...)
				w.mu.Unlock()
				return nil, fmt.Errorf("slack: waiting to send: %w", ctx.Err())
			}
		}
		w.mu.Unlock()
		// Room was handed over as the context ended: pass it on.
		w.release(0)
		return nil, fmt.Errorf("slack: waiting to send: %w", ctx.Err())
	}
}

func (w *window) doneFunc() func() {
	start := time.Now()
	var once sync.Once
	return func() { once.Do(func() { w.release(time.Since(start)) }) }
}

// release gives room back, learning from the send's round trip (0: none to
// learn from), and hands room to the oldest waiters that now fit.
func (w *window) release(rtt time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rtt > 0 {
		if w.rtt == 0 {
			w.rtt = rtt
		} else {
			w.rtt += (rtt - w.rtt) / 4
		}
	}
	w.inflight--
	for len(w.waiting) > 0 && w.inflight < limit(w.rtt) {
		close(w.waiting[0])
		w.waiting = w.waiting[1:]
		w.inflight++
	}
}
