package bot

import (
	"context"
	"runtime"
	"sync"

	"github.com/devy-chatops/devy/commands"
)

// lane runs handlers on at most runners goroutines, in the order they came;
// the rest wait as entries in a slice. Handlers block while they wait on a
// slow read: a thousand of them each in a goroutine of its own are a
// thousand stacks for the collector to scan, all made runnable at once
// when the read ends, and Go polls the network for new envelopes only when
// nothing else is runnable, so acknowledgements would wait behind them.
type lane struct {
	bg      *commands.Background
	runners int

	mu      sync.Mutex // guards pending and running
	pending []func(ctx context.Context)
	running int // goroutines taking work from pending
}

// add queues work. It never blocks: it is called from the loop that reads
// envelopes.
func (l *lane) add(work func(ctx context.Context)) {
	l.mu.Lock()
	l.pending = append(l.pending, work)
	if l.running >= l.runners {
		l.mu.Unlock()
		return
	}
	l.running++
	l.mu.Unlock()
	l.bg.Go(l.run)
}

// run does queued work until none is left. It first yields its
// processor: it was started from the loop that reads envelopes, and Go
// would otherwise run it ahead of slack-go's socket writer queued on the
// same processor, so the next envelope's acknowledgement would wait.
func (l *lane) run(ctx context.Context) {
	runtime.Gosched()
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.running--
			l.pending = nil // drop the backing array a burst grew
			l.mu.Unlock()
			return
		}
		work := l.pending[0]
		l.pending[0] = nil
		l.pending = l.pending[1:]
		l.mu.Unlock()
		work(ctx)
	}
}
