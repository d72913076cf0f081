package bot

import (
	"context"
	"sync"

	"github.com/devy-chatops/devy/commands"
)

// answerQueue delivers the answers that commands give later (see
// commands.Reply.Later) without a goroutine each. When a slow read ends, a
// thousand waiting commands are answered at once; a goroutine per answer
// would be a thousand goroutines made runnable together, and Go checks the
// network for new envelopes only once nothing else is runnable, so the
// acknowledgements would wait until all of them had run. Here at most runners deliveries
// run at once, in the order the answers came, and the rest are entries in
// a slice. The sends themselves are bounded again by the Slack window.
type answerQueue struct {
	bg      *commands.Background
	runners int

	mu      sync.Mutex // guards pending and running
	pending []func(ctx context.Context)
	running int // goroutines taking work from pending
}

// add queues a delivery. It never blocks: it is called from the goroutine
// that ends a read, once for every waiter.
func (q *answerQueue) add(deliver func(ctx context.Context)) {
	q.mu.Lock()
	q.pending = append(q.pending, deliver)
	if q.running >= q.runners {
		q.mu.Unlock()
		return
	}
	q.running++
	q.mu.Unlock()
	q.bg.Go(q.run)
}

// run delivers queued answers until none is left.
func (q *answerQueue) run(ctx context.Context) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running--
			q.pending = nil // drop the backing array a burst grew
			q.mu.Unlock()
			return
		}
		deliver := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.mu.Unlock()
		deliver(ctx)
	}
}
