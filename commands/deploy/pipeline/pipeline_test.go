package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/testclock"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// couplings is a Heroku whose pipeline can change between reads.
type couplings struct {
	mu    sync.Mutex
	reads int
	now   heroku.Pipeline
	err   error
}

func (c *couplings) Pipeline(context.Context, string) (heroku.Pipeline, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.now, c.err
}

func (c *couplings) CurrentRelease(context.Context, string) (heroku.Release, error) {
	return heroku.Release{}, errors.New("not used here")
}

func (c *couplings) set(pl heroku.Pipeline, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now, c.err = pl, err
}

func (c *couplings) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func pipelineWith(production ...string) heroku.Pipeline {
	pl := heroku.Pipeline{ID: "p1", Name: "shop", Staging: []heroku.App{{ID: "s1", Name: "shop-staging"}}}
	for _, name := range production {
		pl.Production = append(pl.Production, heroku.App{ID: name, Name: name})
	}
	return pl
}

// readOnce is a Reader on a test clock that has read the pipeline once,
// with one production app.
func readOnce(t *testing.T) (*Reader, *couplings, *testclock.Clock) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bg := commands.NewBackground(ctx)
	t.Cleanup(func() {
		cancel()
		bg.Wait(5 * time.Second)
	})
	h := &couplings{now: pipelineWith("shop-us")}
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	r := New(Deps{Pipeline: "shop", Heroku: h, Bg: bg, Log: zerolog.Nop(), Now: clock.Now})
	if _, err := r.Pipeline(ctx); err != nil {
		t.Fatal(err)
	}
	return r, h, clock
}

// The pipeline's apps are remembered for a minute and then refreshed in the
// background, never on a person's time: a command after the minute, or
// after Changed, gets the apps known, and the next one the apps read since.
func TestPipelineCouplingsAreRefreshedInTheBackground(t *testing.T) {
	tests := []struct {
		name string
		// after is what happens between the first read and the next command.
		after func(r *Reader, clock *testclock.Clock)
		// refreshed says whether a background read follows that command.
		refreshed bool
	}{
		{"within the minute nothing is read", func(_ *Reader, c *testclock.Clock) { c.Add(59 * time.Second) }, false},
		{"after the minute a read follows in the background", func(_ *Reader, c *testclock.Clock) { c.Add(time.Minute) }, true},
		{"a Heroku webhook has the next command refresh it", func(r *Reader, _ *testclock.Clock) { r.Changed() }, true},
		{"a promotion changes releases, not couplings", func(r *Reader, _ *testclock.Clock) { r.Forget() }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			r, h, clock := readOnce(t)
			h.set(pipelineWith("shop-us", "shop-eu"), nil) // someone coupled a second production app
			tc.after(r, clock)

			pl, err := r.Pipeline(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(pl.Production) != 1 {
				t.Fatalf("the command after waited for a fresh read: %d production apps, want the 1 known", len(pl.Production))
			}
			if !tc.refreshed {
				if n := h.count(); n != 1 {
					t.Fatalf("Heroku was asked for the pipeline %d times, want once", n)
				}
				return
			}
			waitfor.True(t, "the background read", func() bool { return h.count() == 2 })
			waitfor.True(t, "the refreshed apps", func() bool {
				pl, err := r.Pipeline(ctx)
				return err == nil && len(pl.Production) == 2
			})
		})
	}
}

// A refresh that fails keeps the apps known: a Heroku hiccup does not
// stop /deploy.
func TestAFailedCouplingsRefreshKeepsTheKnownPipeline(t *testing.T) {
	ctx := t.Context()
	r, h, clock := readOnce(t)
	h.set(heroku.Pipeline{}, errors.New("503 Service Unavailable"))
	clock.Add(time.Minute)
	if _, err := r.Pipeline(ctx); err != nil {
		t.Fatalf("the known pipeline was not given while Heroku failed: %v", err)
	}
	waitfor.True(t, "the failed background read", func() bool { return h.count() == 2 })
	pl, err := r.Pipeline(ctx)
	if err != nil || pl.ID != "p1" || len(pl.Production) != 1 {
		t.Fatalf("after a failed refresh: %+v, %v; want the known pipeline", pl, err)
	}
}
