package signals

import (
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
)

// duringPost is a Poster that runs hook while its first post is in flight,
// before Slack's answer is recorded.
type duringPost struct {
	*recPoster
	hook func()
}

func (p *duringPost) Post(ctx context.Context, channel, thread string, m commands.Message) (commands.Posted, error) {
	if h := p.hook; h != nil {
		p.hook = nil
		h()
	}
	return p.recPoster.Post(ctx, channel, thread, m)
}

// Two replicas may both hold a post in their queues: one took the
// delivery, the other found the post waiting when it started. While the
// first is posting, the second must not post it too; once the first has
// posted, the second finds it done.
func TestReplicasPostAWaitingSignalOnce(t *testing.T) {
	a := newDesk(t, promo12)
	a.sentry(t, "issue", "issue-created.json", nil)

	b := New(Deps{
		Config: Config{DevyChannel: "#devy", CriticalChannel: "#critical"},
		Store:  a.store, Poster: a.poster, Promotions: fakePromotions{promo12}, Incidents: a.incidents,
		Log: zerolog.Nop(), Now: a.clock.Now,
	})
	if err := b.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.clock.Add(2 * postEvery)
	slow := &duringPost{recPoster: a.poster, hook: func() { b.Flush(context.Background()) }}
	a.Signals.poster = slow
	a.Flush(context.Background())
	for range 3 {
		a.clock.Add(2 * postEvery)
		b.Flush(context.Background())
	}
	if n := count(a.poster.take(), "post", "CDEVY"); n != 1 {
		t.Fatalf("two replicas posted one waiting signal %d times, want once", n)
	}
}
