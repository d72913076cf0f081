package deploy

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store"
)

// lockCounter counts the lock reads that drawing a status reply makes.
type lockCounter struct {
	Store
	reads atomic.Int32
}

func (s *lockCounter) Lock(pipeline string) (*store.Lock, error) {
	s.reads.Add(1)
	return s.Store.Lock(pipeline)
}

// statusDesk is a /deploy with a sandbox Heroku whose requests can be held,
// and a count of the lock reads that drawing a status makes.
func statusDesk(t *testing.T) (*commands.Router, *Desk, *sandbox.Sandbox, *lockCounter) {
	t.Helper()
	sb := sandbox.Start()
	sb.FailOnUnmatched(t)
	t.Cleanup(sb.Close)
	counted := &lockCounter{Store: commandstest.Store(t)}
	d := New(Deps{
		Config: Config{Pipeline: sandbox.Pipeline, Channel: "devy"},
		Heroku: heroku.New(sb.HerokuURL, sandbox.HerokuToken, nil), Store: counted,
		Poster: &commandstest.Recorder{}, Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop(),
	})
	r := commands.NewRouter()
	d.Register(r)
	return r, d, sb, counted
}

type answer struct {
	reply commands.Reply
	err   error
}

// askStatus asks for the status while it is being read: the answer comes
// into the channel returned once the read ends.
func askStatus(t *testing.T, r *commands.Router, user string) <-chan answer {
	t.Helper()
	c := make(chan answer, 1)
	go func() {
		reply, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "status", UserID: user, ChannelID: "C1", Source: commands.Slash})
		c <- answer{reply, err}
	}()
	return c
}

func awaitAnswer(t *testing.T, c <-chan answer) answer {
	t.Helper()
	select {
	case a := <-c:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("a waiter is still waiting 10 s after the read was released")
		return answer{}
	}
}

// Everyone asking for the status while one cold read runs waits for that
// read and gets the one reply drawn when it ends.
func TestStatusWaitersShareOneDrawnReply(t *testing.T) {
	r, d, sb, counted := statusDesk(t)
	release := make(chan struct{})
	sb.Heroku.SetHook(func() { <-release }) // the cold read hangs until released
	const n = 30
	var waiting []<-chan answer
	for i := range n {
		waiting = append(waiting, askStatus(t, r, fmt.Sprintf("U%02d", i)))
	}
	waitfor.True(t, "every asker waits on the one read", func() bool { return d.waiting.Load() == n })
	close(release)
	for _, c := range waiting {
		if a := awaitAnswer(t, c); a.err != nil || !strings.Contains(a.reply.Text, "Pipeline "+sandbox.Pipeline) {
			t.Fatalf("a waiter got (%q, %v); want the status", a.reply.Text, a.err)
		}
	}
	if got := counted.reads.Load(); got != 1 {
		t.Fatalf("%d waiters of one read drew %d replies (lock reads); they should share the one drawn when the read ends", n, got)
	}
	// The status just read is reused, and drawn afresh at once.
	reply, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "status", UserID: "U99", ChannelID: "C1", Source: commands.Slash})
	if err != nil || !strings.Contains(reply.Text, "Pipeline "+sandbox.Pipeline) {
		t.Fatalf("after the read, status gave (%q, %v); want the status", reply.Text, err)
	}
	if got := counted.reads.Load(); got != 2 {
		t.Fatalf("lock read %d times; the status after the read should read it afresh", got)
	}
}

// When the read fails, every waiter hears why, and the next request reads
// again rather than waiting on the failed read.
func TestStatusWaitersAllHearAFailedRead(t *testing.T) {
	r, d, sb, _ := statusDesk(t)
	release := make(chan struct{})
	sb.Heroku.SetHook(func() { <-release })
	// The read's first request fails, and with it the read.
	sb.Heroku.FailNext("GET", "*", 503, nil, `{"id":"unavailable","message":"Heroku is down for maintenance"}`).Require(t)
	a, b := askStatus(t, r, "U01"), askStatus(t, r, "U02")
	waitfor.True(t, "both askers wait on the one read", func() bool { return d.waiting.Load() == 2 })
	close(release)
	for _, c := range []<-chan answer{a, b} {
		got := awaitAnswer(t, c)
		if got.err == nil {
			t.Fatalf("a waiter got %q from a failed read; want the error", got.reply.Text)
		}
		if reply, _ := commands.ErrorReply(got.err, "ref"); !strings.Contains(reply.Text, "Heroku") {
			t.Fatalf("a waiter was told %q; want it to name Heroku", reply.Text)
		}
	}
	got := awaitAnswer(t, askStatus(t, r, "U03"))
	if got.err != nil || !strings.Contains(got.reply.Text, "Pipeline "+sandbox.Pipeline) {
		t.Fatalf("the request after a failed read got (%q, %v); want the status read anew", got.reply.Text, got.err)
	}
}
