package bot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/testclock"
	"github.com/devy-chatops/devy/internal/waitfor"
)

func TestWindowSizeFollowsTheRoundTrip(t *testing.T) {
	for _, c := range []struct {
		rtt  time.Duration
		want int
	}{
		{0, minSends},                      // nothing measured yet
		{500 * time.Microsecond, minSends}, // a local, CPU-bound send
		{2 * time.Millisecond, minSends},
		{5 * time.Millisecond, 2},
		{10 * time.Millisecond, 4},
		{20 * time.Millisecond, 8},
		{100 * time.Millisecond, maxSends}, // Slack over the internet
		{2 * time.Second, maxSends},
	} {
		if got := limit(c.rtt); got != c.want {
			t.Errorf("limit(%s) = %d, want %d", c.rtt, got, c.want)
		}
	}
}

// newWindow is a window whose time moves only with the clock returned.
func newWindow() (*window, *testclock.Clock) {
	c := testclock.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	return &window{now: c.Now}, c
}

// acquireNow takes room or fails the test if it has to wait.
func acquireNow(t *testing.T, w *window) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done, err := w.acquire(ctx)
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	return done
}

// allGivenBack checks that no room is held once every send ended.
func allGivenBack(t *testing.T, w *window) {
	t.Helper()
	// A waiter hands its room back on its own goroutine, just after the
	// test has heard from it.
	waitfor.True(t, "every send to give its room back and no one waiting", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.sending) == 0 && len(w.waiting) == 0
	})
}

// fill takes all the room a window starts with.
func fill(t *testing.T, w *window) []func() {
	t.Helper()
	var held []func()
	for range minSends {
		held = append(held, acquireNow(t, w))
	}
	return held
}

func giveBack(held []func()) {
	for _, done := range held {
		done()
	}
}

// mustWait checks that acquire waits, then gives up on it.
func mustWait(t *testing.T, w *window) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if done, err := w.acquire(ctx); err == nil {
		done()
		t.Fatal("acquire got room beyond the window")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire: %v", err)
	}
}

// learn feeds the window a finished send that took rtt.
func learn(w *window, rtt time.Duration) {
	w.mu.Lock()
	if w.sending == nil {
		w.sending = map[uint64]time.Time{}
	}
	w.last++
	id := w.last
	w.sending[id] = w.clock().Add(-rtt)
	w.mu.Unlock()
	w.release(id, true)
}

func TestWindowOpensForSlowSendsAndStaysSmallForFastOnes(t *testing.T) {
	w, _ := newWindow()
	held := fill(t, w)
	mustWait(t, w) // minSends at first
	giveBack(held)

	// Sends that take as long as ones to Slack do open the window.
	learn(w, 150*time.Millisecond)
	held = nil
	for range maxSends {
		held = append(held, acquireNow(t, w))
	}
	mustWait(t, w)
	giveBack(held)

	// Sends that come back at once shrink it again.
	for range 20 {
		learn(w, 200*time.Microsecond)
	}
	if got := limit(w.rtt); got != minSends {
		t.Fatalf("window %d after fast sends (rtt %s), want %d", got, w.rtt, minSends)
	}
	held = fill(t, w)
	mustWait(t, w)
	giveBack(held)
	allGivenBack(t, w)
}

func TestWindowHandsRoomToWaitersInOrder(t *testing.T) {
	w, _ := newWindow()
	held := fill(t, w)
	got := make(chan int, 3)
	for i := range 3 {
		go func() {
			done, err := w.acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			got <- i
			done()
		}()
		// Each waiter queues before the next starts.
		waitfor.True(t, fmt.Sprintf("waiter %d to queue", i), func() bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			return len(w.waiting) == i+1
		})
	}
	// One room given back: each waiter in turn gets it, and passes it on.
	held[0]()
	for want := range 3 {
		select {
		case i := <-got:
			if i != want {
				t.Errorf("waiter %d got room before waiter %d", i, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter never got room")
		}
	}
	giveBack(held[1:])
	allGivenBack(t, w)
}

func TestWindowWaiterThatGivesUpLeavesNoTrace(t *testing.T) {
	w, _ := newWindow()
	held := fill(t, w)
	mustWait(t, w)
	if len(w.waiting) != 0 {
		t.Fatalf("%d waiters left behind", len(w.waiting))
	}
	giveBack(held)
	allGivenBack(t, w)
	held[0]() // calling done twice gives back room only once
	allGivenBack(t, w)
}

func TestWindowOpensForSendsThatHang(t *testing.T) {
	w, clock := newWindow()
	held := fill(t, w)
	got := make(chan func(), 1)
	go func() {
		done, err := w.acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- done
	}()
	select {
	case <-got:
		t.Fatal("a send got room while the window was full of quick ones")
	case <-time.After(2 * recheckEvery):
	}
	// The sends running have now taken as long as ones to Slack do, and
	// have not come back: they wait on the network, so another may go.
	clock.Add(100 * time.Millisecond)
	select {
	case c := <-got:
		c()
	case <-time.After(5 * time.Second):
		t.Fatal("sends that hang kept the window shut")
	}
	giveBack(held)
	allGivenBack(t, w)
}
