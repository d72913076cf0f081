// Package pipeline reads the Heroku pipeline /deploy promotes through: its
// apps, what staging and production run, and the status beside them (the
// commits between them and staging's CI), shared by concurrent callers and
// remembered while it cannot have changed.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/integrations/semaphore"
	"github.com/devy-chatops/devy/store"
)

// Heroku is what the reader needs of Heroku.
type Heroku interface {
	Pipeline(ctx context.Context, idOrName string) (heroku.Pipeline, error)
	CurrentRelease(ctx context.Context, app string) (heroku.Release, error)
}

// GitHub compares two commits.
type GitHub interface {
	Compare(ctx context.Context, base, head string) (github.Comparison, error)
}

// CI tells whether a commit passed its pipeline.
type CI interface {
	CommitState(ctx context.Context, sha, branch string) (semaphore.State, semaphore.Pipeline, error)
	WorkflowURL(wfID string) string
}

// Deps is what a Reader is built from. GitHub and CI may be nil.
type Deps struct {
	Pipeline string // name or id
	CIBranch string // branch whose pipelines gate promotion; "" for master, then main, then any
	Heroku   Heroku
	GitHub   GitHub
	CI       CI
	// Authors keeps what the compared commits are and who wrote them
	// (looking their authors up on Slack), once per status read.
	Authors func(ctx context.Context, cs []github.Commit) []store.CommitInfo
	Bg      *commands.Background
	Log     zerolog.Logger
	// Now is the clock the pipeline's age is told by; nil is time.Now.
	Now func() time.Time
}

// Reader reads the pipeline and its status.
type Reader struct {
	name     string
	ciBranch string
	heroku   Heroku
	github   GitHub // nil when GitHub is not configured
	ci       CI     // nil when Semaphore is not configured
	authors  func(ctx context.Context, cs []github.Commit) []store.CommitInfo
	bg       *commands.Background
	log      zerolog.Logger
	now      func() time.Time

	mu       sync.Mutex // guards pipeline, pipeAt, view, changes and staged
	pipeline heroku.Pipeline
	pipeAt   time.Time
	view     *Status // the last status read, reused for statusTTL
	// staged is the commit staging ran at the last snapshot, kept after the
	// status reuse lapses: the guess SnapshotCI reads CI for early.
	staged string
	// changes counts what made the pipeline change (Devy's promotions,
	// Heroku's webhooks): a read that began before one is not reused.
	changes uint64

	// reads makes concurrent reads of the pipeline and the status share
	// one set of API calls: a burst of a thousand /deploy status costs
	// Heroku a handful of requests, not thousands.
	reads singleflight.Group

	// compares remembers GitHub's comparisons by base...head: two fixed
	// commits always compare the same, so status, promote and the next
	// status of an unchanged pipeline ask GitHub once.
	compares *lru.Cache[string, github.Comparison]
}

// compareCacheSize bounds the remembered comparisons: a pipeline compares
// a handful of release pairs a day.
const compareCacheSize = 64

// statusTTL is how long a status read is reused. Devy's own promotions
// invalidate it at once.
const statusTTL = 5 * time.Second

// New builds a Reader.
func New(d Deps) *Reader {
	compares, _ := lru.New[string, github.Comparison](compareCacheSize) // errs only on a size ≤ 0
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Reader{name: d.Pipeline, ciBranch: d.CIBranch, heroku: d.Heroku, github: d.GitHub, ci: d.CI, authors: d.Authors,
		bg: d.Bg, log: d.Log, now: now, compares: compares}
}

// AppRelease is an app with its current release.
type AppRelease struct {
	App     heroku.App
	Release heroku.Release
}

// Snapshot is the pipeline as it is now: what staging and production run.
type Snapshot struct {
	Pipeline   heroku.Pipeline
	Staging    AppRelease
	Production []AppRelease
}

// Status is what /deploy status shows that comes from the services.
type Status struct {
	Snapshot Snapshot
	Ahead    string // commits ahead, as a sentence
	CI       format.CI
	At       time.Time
	// Commits are those staging has and production lacks; nil when they
	// are not known.
	Commits []store.CommitInfo
}

// Compare is GitHub's comparison of base and head, asked once per pair.
func (p *Reader) Compare(ctx context.Context, base, head string) (github.Comparison, error) {
	key := base + "..." + head
	if c, ok := p.compares.Get(key); ok {
		return c, nil
	}
	c, err := p.github.Compare(ctx, base, head)
	if err != nil {
		return c, err
	}
	p.compares.Add(key, c)
	return c, nil
}

// pipelineTTL is how long the pipeline's apps are taken as they were read:
// couplings change when someone adds or removes an app, rarely.
const pipelineTTL = time.Minute

// Pipeline reads the pipeline and its apps, remembering them for
// pipelineTTL: they rarely change and every command needs them.
//
// Once known, the pipeline is never read on a person's time again: after
// pipelineTTL, or after Changed, the next command gets the known one while a
// fresh read runs in the background.
func (p *Reader) Pipeline(ctx context.Context) (heroku.Pipeline, error) {
	p.mu.Lock()
	pl, at := p.pipeline, p.pipeAt
	p.mu.Unlock()
	if pl.ID != "" {
		if p.now().Sub(at) >= pipelineTTL {
			p.bg.Go(func(ctx context.Context) {
				if _, err := p.Read(ctx); err != nil && ctx.Err() == nil {
					p.log.Warn().Err(err).Msg("refreshing the pipeline failed; keeping the one known")
				}
			})
		}
		return pl, nil
	}
	return p.Read(ctx)
}

// Read reads the pipeline from Heroku; concurrent reads share one.
func (p *Reader) Read(ctx context.Context) (heroku.Pipeline, error) {
	v, err, _ := p.reads.Do("pipeline", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return p.fetch(ctx)
	})
	if err != nil {
		return heroku.Pipeline{}, err
	}
	return v.(heroku.Pipeline), nil
}

func (p *Reader) fetch(ctx context.Context) (heroku.Pipeline, error) {
	pl, err := p.heroku.Pipeline(ctx, p.name)
	if err != nil {
		return pl, err
	}
	if len(pl.Staging) == 0 {
		return pl, commands.Userf("Heroku pipeline %s has no staging app; add one to the pipeline's staging stage.", pl.Name)
	}
	if len(pl.Production) == 0 {
		return pl, commands.Userf("Heroku pipeline %s has no production app; add one to the pipeline's production stage.", pl.Name)
	}
	p.mu.Lock()
	p.pipeline, p.pipeAt = pl, p.now()
	p.mu.Unlock()
	return pl, nil
}

// CachedID is the known pipeline's id, "" before it was read.
func (p *Reader) CachedID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pipeline.ID
}

// Snapshot reads what staging and production run now.
func (p *Reader) Snapshot(ctx context.Context) (Snapshot, error) {
	pl, err := p.Pipeline(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	return p.releases(ctx, pl)
}

// SnapshotCI reads what staging and production run now, and staging's CI:
// ci waits for its state. beside, if not nil, runs with the pipeline while
// the releases are read, and has ended when SnapshotCI returns.
//
// Neither beside nor CI for the commit staging ran at the last snapshot
// needs this moment's releases, so both start together with their read: on
// a pipeline whose staging did not change, status and promote then take one
// round trip instead of two. That early CI answer is used only if staging
// still runs the guessed commit; otherwise it is dropped and CI is read for
// the commit staging runs now. Either way CI is read now, never remembered:
// only its start moves. Everything started here ends with ctx.
func (p *Reader) SnapshotCI(ctx context.Context, beside func(ctx context.Context, pl heroku.Pipeline)) (s Snapshot, ci func() format.CI, err error) {
	pl, err := p.Pipeline(ctx)
	if err != nil {
		return Snapshot{}, nil, err
	}
	p.mu.Lock()
	guess := p.staged
	p.mu.Unlock()
	gctx, drop := context.WithCancel(ctx)
	guessed := make(chan format.CI, 1) // buffered: an unused guess never blocks its goroutine
	if guess != "" && p.ci != nil {
		go func() { guessed <- p.CI(gctx, guess) }()
	}
	var wg sync.WaitGroup
	if beside != nil {
		wg.Go(func() { beside(ctx, pl) })
	}
	s, err = p.releases(ctx, pl)
	wg.Wait()
	if err != nil {
		drop()
		return s, nil, err
	}
	head := s.Staging.Release.Commit
	return s, sync.OnceValue(func() format.CI {
		defer drop()
		if guess != "" && head == guess && p.ci != nil {
			return <-guessed
		}
		drop() // a guess for another commit: its answer is never shown
		return p.CI(ctx, head)
	}), nil
}

// releases reads what pl's staging and production apps run now.
func (p *Reader) releases(ctx context.Context, pl heroku.Pipeline) (Snapshot, error) {
	s := Snapshot{Pipeline: pl, Staging: AppRelease{App: pl.Staging[0]}, Production: make([]AppRelease, len(pl.Production))}
	var wg sync.WaitGroup
	errs := make([]error, len(pl.Production)+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Staging.Release, errs[0] = p.heroku.CurrentRelease(ctx, s.Staging.App.ID)
	}()
	for i, app := range pl.Production {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Production[i].App = app
			s.Production[i].Release, errs[i+1] = p.heroku.CurrentRelease(ctx, app.ID)
		}()
	}
	wg.Wait()
	if errors.Is(errs[0], heroku.ErrNoRelease) {
		return s, commands.Userf("The staging app %s has no release yet; deploy to it first.", s.Staging.App.Name)
	}
	if errs[0] == nil {
		p.mu.Lock()
		p.staged = s.Staging.Release.Commit
		p.mu.Unlock()
	}
	for i := range errs[1:] {
		// A production app that was never released simply has nothing yet.
		if errors.Is(errs[i+1], heroku.ErrNoRelease) {
			errs[i+1] = nil
		}
	}
	return s, errors.Join(errs...)
}

// CI is the state of sha's CI run.
func (p *Reader) CI(ctx context.Context, sha string) format.CI {
	if p.ci == nil {
		return format.CI{State: "not configured"}
	}
	if sha == "" {
		return format.CI{State: semaphore.None}
	}
	// Semaphore lists every branch's pipelines together, newest first, and
	// only so far back: on a busy project the staging commit's run is soon
	// out of reach unless the list is narrowed to its branch. Staging is
	// built from the main branch, whichever name it has; any branch last.
	branches := []string{p.ciBranch}
	if p.ciBranch == "" {
		branches = []string{"master", "main", ""}
	}
	var c format.CI
	for _, b := range branches {
		st, pl, err := p.ci.CommitState(ctx, sha, b)
		c = format.CI{State: st, Err: err}
		if pl.WorkflowID != "" {
			c.URL = p.ci.WorkflowURL(pl.WorkflowID)
		}
		if err != nil || st != semaphore.None {
			break
		}
	}
	return c
}

// SameCode reports whether a production app already runs staging's code.
func SameCode(staging, prod heroku.Release) bool {
	if staging.SlugID != "" && staging.SlugID == prod.SlugID {
		return true
	}
	return staging.Commit != "" && staging.Commit == prod.Commit
}

// Status returns the services' side of the status: shared by concurrent
// callers and reused for statusTTL.
func (p *Reader) Status(ctx context.Context) (Status, error) {
	if v, ok := p.Recent(); ok {
		return v, nil
	}
	v, err, _ := p.reads.Do("status", func() (any, error) {
		// Detached from the first caller, who may give up before the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		p.mu.Lock()
		began := p.changes
		p.mu.Unlock()
		s, ci, err := p.SnapshotCI(ctx, nil)
		if err != nil {
			return Status{}, err
		}
		v := Status{Snapshot: s, At: time.Now()}
		st, base := s.Staging.Release, s.Production[0].Release.Commit
		// The comparison and CI (unless it started early) need only the
		// commits: side by side.
		var g errgroup.Group
		g.Go(func() error {
			v.CI = ci()
			return nil
		})
		switch {
		case SameCode(st, s.Production[0].Release):
			v.Ahead = "Staging and production run the same code."
		case p.github != nil && base != "" && st.Commit != "":
			cmp, err := p.Compare(ctx, base, st.Commit)
			if err != nil {
				v.Ahead = "Commits ahead: unknown (" + format.Failure(err) + ")"
			} else {
				v.Ahead = fmt.Sprintf("Staging is <%s|%d commit%s ahead> of production.", cmp.URL, cmp.AheadBy, format.Plural(cmp.AheadBy))
				v.Commits = p.authors(ctx, cmp.Commits)
			}
		default:
			v.Ahead = "Staging runs different code from production."
		}
		_ = g.Wait()
		p.mu.Lock()
		if p.changes == began {
			p.view = &v
		}
		p.mu.Unlock()
		return v, nil
	})
	if err != nil {
		return Status{}, err
	}
	return v.(Status), nil
}

// Recent is the last status read, if it is recent enough to reuse.
func (p *Reader) Recent() (Status, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v := p.view; v != nil && time.Since(v.At) < statusTTL {
		return *v, true
	}
	return Status{}, false
}

// Forget drops the reused status after something changed the pipeline's
// releases.
func (p *Reader) Forget() {
	p.mu.Lock()
	p.view = nil
	p.changes++
	p.mu.Unlock()
}

// Changed drops the reused status and has the next read of the pipeline
// read its apps again in the background: the pipeline changed outside Devy
// (a Heroku webhook).
func (p *Reader) Changed() {
	p.mu.Lock()
	p.view = nil
	p.changes++
	p.pipeAt = time.Time{}
	p.mu.Unlock()
}
