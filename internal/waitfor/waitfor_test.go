package waitfor

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records a failure instead of stopping the goroutine.
type fakeTB struct{ failed string }

func (*fakeTB) Helper()                             {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestTrueReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Store(3)
	}()
	True(t, "n to be 3", func() bool { return n.Load() == 3 })
}

func TestValueReturnsWhatTheConditionFound(t *testing.T) {
	calls := 0
	got := Value(t, "the third call", func() (int, bool) {
		calls++
		return calls * 10, calls == 3
	})
	if got != 30 {
		t.Fatalf("Value = %d, want 30", got)
	}
}

func TestAWaitThatNeverEndsFailsNamingWhat(t *testing.T) {
	f := &fakeTB{}
	within(f, 30*time.Millisecond, "the moon to turn blue", func() (int, bool) { return 0, false })
	if !strings.Contains(f.failed, "timed out after 30ms waiting for the moon to turn blue") {
		t.Fatalf("failure = %q, want it to say what never happened", f.failed)
	}
}
