package bot

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// lane runs handlers on at most runners goroutines, in the order they came;
// the rest wait as entries in a slice. Handlers block while they wait on a
// slow read: a thousand of them each in a goroutine of its own are a
// thousand stacks for the collector to scan, all made runnable at once
// when the read ends, and Go polls the network for new envelopes only when
// nothing else is runnable, so acknowledgements would wait behind them.
//
// When every runner waits on one slow read, work piles up behind it. Once
// the oldest entry has waited lateAfter, runners take the newest entry
// every other time: the backlog still goes out oldest first, at half the
// pace, and work that arrives after the stall is not held until the whole
// backlog has gone out (against a local Slack, replies go out one at a
// time, so a backlog of a thousand takes the best part of a second). The
// order was never a promise once runners are more than one: entries run
// side by side.
type lane struct {
	bg      *commands.Background
	runners int
	now     func() time.Time // time.Now; tests set their own

	mu       sync.Mutex // guards pending, running and fromTail
	pending  []entry
	running  int  // goroutines taking work from pending
	fromTail bool // the next take is the newest entry, while the oldest is late
}

type entry struct {
	work func(ctx context.Context)
	at   time.Time // when it was queued
}

// lateAfter is how long the oldest entry waits before new work is taken
// alongside the backlog: an answer later than a second already reads as
// slow, and a shorter stall drains in a moment anyway.
const lateAfter = time.Second

func (l *lane) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// add queues work. It never blocks: it is called from the loop that reads
// envelopes.
func (l *lane) add(work func(ctx context.Context)) {
	at := l.clock()
	l.mu.Lock()
	l.pending = append(l.pending, entry{work: work, at: at})
	if l.running >= l.runners {
		l.mu.Unlock()
		return
	}
	l.running++
	l.mu.Unlock()
	l.bg.Go(l.run)
}

// take removes the next entry; callers hold mu and pending is not empty.
func (l *lane) take() func(ctx context.Context) {
	if len(l.pending) > 1 && l.clock().Sub(l.pending[0].at) >= lateAfter {
		l.fromTail = !l.fromTail
		if !l.fromTail {
			last := len(l.pending) - 1
			e := l.pending[last]
			l.pending[last] = entry{}
			l.pending = l.pending[:last]
			return e.work
		}
	}
	e := l.pending[0]
	l.pending[0] = entry{}
	l.pending = l.pending[1:]
	return e.work
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
			l.fromTail = false
			l.mu.Unlock()
			return
		}
		work := l.take()
		l.mu.Unlock()
		work(ctx)
	}
}
