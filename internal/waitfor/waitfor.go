// Package waitfor is how tests wait for something that happens in another
// goroutine: poll a condition often, give up after a generous deadline, and
// fail the test with a sentence that says what never happened. It replaces
// hand-written deadline loops and fixed sleeps meant to let things settle.
package waitfor

import (
	"time"
)

// Deadline is how long a wait lasts before it fails the test. It is long
// so that a slow, shared CI machine does not fail a test that is only slow;
// a passing wait returns as soon as its condition holds.
const Deadline = 10 * time.Second

// interval is how often a condition is polled: short enough to add little
// to a test's run time, long enough not to spin a core.
const interval = 5 * time.Millisecond

// TB is the part of testing.TB a wait uses, so tests of this package can
// watch it fail.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// True waits until cond returns true, and fails the test with "timed out
// waiting for <what>" if it has not within Deadline. cond runs on the
// test's goroutine and must not block.
func True(t TB, what string, cond func() bool) {
	t.Helper()
	Value(t, what, func() (struct{}, bool) { return struct{}{}, cond() })
}

// Value waits until get reports ok and returns the value it gave then; it
// fails the test as True does. get runs on the test's goroutine and must
// not block.
func Value[T any](t TB, what string, get func() (T, bool)) T {
	t.Helper()
	return within(t, Deadline, what, get)
}

func within[T any](t TB, deadline time.Duration, what string, get func() (T, bool)) T {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if v, ok := get(); ok {
			return v
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", deadline, what)
			var zero T
			return zero // Fatalf on a fake TB returns
		}
		time.Sleep(interval)
	}
}
