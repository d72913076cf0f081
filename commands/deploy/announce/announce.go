// Package announce has the staging releases /deploy status and promote see
// announced, for Devy without a Heroku webhook: nobody else tells #devy
// that staging changed.
package announce

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/pipeline"
)

// Releases announces each staging release it sees once per process; the
// store's claim, taken by whoever posts the message, makes it once across
// processes.
type Releases struct {
	post func(ctx context.Context, e commands.ReleaseEvent) error
	bg   *commands.Background
	log  zerolog.Logger

	now func() time.Time

	mu sync.Mutex // guards seen
	// seen holds the releases this process asked to announce: the zero
	// time once asked, or after a failure the time a command may try again.
	seen map[string]time.Time
}

// New announces releases through post.
func New(post func(ctx context.Context, e commands.ReleaseEvent) error, bg *commands.Background, log zerolog.Logger) *Releases {
	return &Releases{post: post, bg: bg, log: log, now: time.Now}
}

// maxSeen bounds the releases remembered in memory; forgetting them only
// costs a claim that fails.
const maxSeen = 1000

// retryAfter is how long a release whose announcement failed waits before
// the next command tries again: a refusal such as not_in_channel repeats
// on every try, and each try reads Heroku, so trying on every command of a
// burst would cost Heroku calls per command.
const retryAfter = time.Minute

// Notice has staging's release announced unless this process did already:
// in the background, so that the command's answer does not wait.
func (n *Releases) Notice(s pipeline.Snapshot) {
	rel := s.Staging.Release
	if rel.ID == "" || rel.Status != "succeeded" {
		return
	}
	n.mu.Lock()
	if again, ok := n.seen[rel.ID]; ok && (again.IsZero() || n.now().Before(again)) {
		n.mu.Unlock()
		return
	}
	if n.seen == nil || len(n.seen) >= maxSeen {
		n.seen = map[string]time.Time{}
	}
	n.seen[rel.ID] = time.Time{}
	n.mu.Unlock()
	e := commands.ReleaseEvent{Action: "create", ID: rel.ID, Version: rel.Version, Status: rel.Status, AppID: s.Staging.App.ID, AppName: s.Staging.App.Name,
		SlugID: rel.SlugID, Description: rel.Description, UserEmail: rel.UserEmail, CreatedAt: rel.CreatedAt}
	n.bg.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := n.post(ctx, e); err != nil {
			n.log.Warn().Err(err).Str("release", rel.ID).Msg("announcing the staging release failed; a /deploy status a minute from now tries again")
			n.mu.Lock()
			n.seen[rel.ID] = n.now().Add(retryAfter)
			n.mu.Unlock()
		}
	})
}
