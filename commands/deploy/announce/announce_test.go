package announce

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/pipeline"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/testclock"
)

func snapshot(id, status string) pipeline.Snapshot {
	return pipeline.Snapshot{Staging: pipeline.AppRelease{
		App:     heroku.App{ID: "s1", Name: "shop-staging"},
		Release: heroku.Release{ID: id, Version: 3, Status: status},
	}}
}

// A release is announced once per process; one whose announcement failed
// waits a minute before a command tries again, however many commands see
// it meanwhile.
func TestReleasesAnnouncedOnceAndRetriedAfterAMinute(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bg := commands.NewBackground(ctx)
	var mu sync.Mutex
	var posts []string
	fail := true
	post := func(_ context.Context, e commands.ReleaseEvent) error {
		mu.Lock()
		defer mu.Unlock()
		posts = append(posts, e.ID)
		if fail {
			return errors.New("not_in_channel")
		}
		return nil
	}
	tries := func() int {
		bg.Wait(5 * time.Second)
		mu.Lock()
		defer mu.Unlock()
		return len(posts)
	}
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	n := New(post, bg, zerolog.Nop())
	n.now = clock.Now

	n.Notice(snapshot("r1", "pending"))
	n.Notice(snapshot("", "succeeded"))
	if got := tries(); got != 0 {
		t.Fatalf("%d announcements of releases that are not done or have no id", got)
	}

	n.Notice(snapshot("r1", "succeeded"))
	if got := tries(); got != 1 {
		t.Fatalf("%d tries after the first sight, want 1", got)
	}
	for range 100 {
		n.Notice(snapshot("r1", "succeeded"))
	}
	clock.Add(59 * time.Second)
	n.Notice(snapshot("r1", "succeeded"))
	if got := tries(); got != 1 {
		t.Fatalf("%d tries within the minute after a failure, want 1", got)
	}

	mu.Lock()
	fail = false
	mu.Unlock()
	clock.Add(time.Second)
	n.Notice(snapshot("r1", "succeeded"))
	if got := tries(); got != 2 {
		t.Fatalf("%d tries a minute after the failure, want 2", got)
	}
	clock.Add(time.Hour)
	n.Notice(snapshot("r1", "succeeded"))
	n.Notice(snapshot("r2", "succeeded"))
	bg.Wait(5 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 3 || posts[2] != "r2" {
		t.Fatalf("announced %v; want r1 twice (a failure, then the post), then r2 once", posts)
	}
}
