package commands

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/store"
)

// lockCounter counts the lock reads that drawing a status reply makes.
type lockCounter struct {
	DeployStore
	reads atomic.Int32
}

func (s *lockCounter) Lock(pipeline string) (*store.Lock, error) {
	s.reads.Add(1)
	return s.DeployStore.Lock(pipeline)
}

// Everyone asking for the status while one cold read runs gets the one
// reply drawn when it ends: a thousand waiters drawing their own at that
// moment crowd out the goroutines that acknowledge Slack.
func TestStatusWaitersShareOneDrawnReply(t *testing.T) {
	sb := sandbox.Start()
	defer sb.Close()
	db := testStore(t)
	ctx := t.Context()
	counted := &lockCounter{DeployStore: db}
	d := NewDeploy(DeployDeps{
		Config: DeployConfig{Pipeline: sandbox.Pipeline, Channel: "devy"},
		Heroku: heroku.New(sb.HerokuURL, sandbox.HerokuToken, nil), Store: counted,
		Poster: &recorder{msgs: map[string]Message{}}, Bg: NewBackground(ctx), Log: zerolog.Nop(),
	})
	r := NewRouter()
	d.Register(r)

	release := make(chan struct{})
	sb.Heroku.SetHook(func() { <-release }) // the cold read hangs until released
	const n = 30
	type answer struct {
		reply Reply
		err   error
	}
	answers := make(chan answer, n)
	for i := range n {
		go func() {
			reply, err := r.Handle(ctx, Request{Command: "deploy", Text: "status", UserID: fmt.Sprintf("U%02d", i), ChannelID: "C1", Source: Slash})
			answers <- answer{reply, err}
		}()
	}
	// Let every caller join the waiting read before it ends.
	time.Sleep(100 * time.Millisecond)
	close(release)
	for range n {
		select {
		case a := <-answers:
			if a.err != nil || !strings.Contains(a.reply.Text, "Pipeline "+sandbox.Pipeline) {
				t.Fatalf("a waiter got (%q, %v); want the status", a.reply.Text, a.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("waiters still waiting 10 s after the read was released")
		}
	}
	if got := counted.reads.Load(); got > n/3 {
		t.Fatalf("%d waiters of one read drew %d replies (lock reads); they should share the one drawn when the read ends", n, got)
	}
}
