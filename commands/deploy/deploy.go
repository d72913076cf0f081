package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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

// Heroku is what /deploy needs of Heroku.
type Heroku interface {
	Pipeline(ctx context.Context, idOrName string) (heroku.Pipeline, error)
	CurrentRelease(ctx context.Context, app string) (heroku.Release, error)
	ConfigVarNames(ctx context.Context, app string) ([]string, error)
	Promote(ctx context.Context, pipelineID, sourceAppID, sourceReleaseID string, targetAppIDs []string) (heroku.Promotion, error)
	PromotionTargets(ctx context.Context, promotionID string) ([]heroku.PromotionTarget, error)
}

// GitHub is what /deploy needs of GitHub.
type GitHub interface {
	Compare(ctx context.Context, base, head string) (github.Comparison, error)
	CommitURL(sha string) string
	CompareURL(base, head string) string
	PullURL(n int) string
}

// CI tells whether a commit passed its pipeline.
type CI interface {
	CommitState(ctx context.Context, sha, branch string) (semaphore.State, semaphore.Pipeline, error)
	WorkflowURL(wfID string) string
}

// Store is the state /deploy keeps.
type Store interface {
	commands.OutboxStore
	Now() time.Time
	Lock(pipeline string) (*store.Lock, error)
	AcquireLock(l store.Lock) (store.Lock, error)
	ReleaseLock(pipeline, by string, force bool) (store.Lock, error)
	CreateRequest(r store.PromotionRequest) (store.PromotionRequest, error)
	Request(id uint64) (store.PromotionRequest, error)
	OpenRequest(pipeline string) (*store.PromotionRequest, error)
	SetMessage(id uint64, channel, ts string) error
	Approve(id uint64, approver string) (store.PromotionRequest, error)
	CloseRequest(id uint64, status, by, note string, effects ...store.Effect) (store.PromotionRequest, error)
	StartPromotion(id uint64, promotionID string) error
	SetTargets(id uint64, targets []store.Target) error
	FinishPromotion(id uint64, status string, targets []store.Target, note string, effects ...store.Effect) (store.PromotionRequest, error)
	Requests(statuses ...string) ([]store.PromotionRequest, error)
	AuditLog(limit int, actions ...string) ([]store.AuditEntry, error)
	// Leases: which Devy process follows a promotion (see store's rules).
	ClaimPromotion(id uint64, owner string, ttl time.Duration) (bool, error)
	ReleasePromotion(id uint64, owner string) error
	OrphanedPromotions(ttl time.Duration) ([]store.PromotionRequest, error)
	VerifyStore
	DeploymentStore
	Enqueue(effects ...store.Effect) error
}

// Config is the team's promotion policy.
type Config struct {
	Pipeline          string // name or id
	Channel           string // name or id of the deploy channel
	Approvers         []string
	Admins            []string
	AllowSelfApproval bool
	ApproverNotAuthor bool
	UserMap           map[string]string // GitHub login → Slack user id
	TTL               time.Duration     // how long a request stays open
	LockDuration      time.Duration     // default length of a manual lock
	PollInterval      time.Duration     // first wait between promotion polls; doubles up to MaxPoll
	MaxPoll           time.Duration
	PromotionTimeout  time.Duration // give up following after this long
	// SettleWithin is how long production's releases are watched for the
	// reviewed build when Heroku's answer to the promotion call was lost
	// (no answer, or a restart before it was recorded).
	SettleWithin time.Duration
	CIBranch     string // branch whose pipelines gate promotion; "" for master, then main, then any
	// LeaseTTL is how long a process may follow a promotion without
	// renewing its lease (it renews every third of it); TakeoverEvery is how
	// often it looks for promotions whose follower died. A dead process's
	// promotion is taken over within their sum.
	LeaseTTL      time.Duration
	TakeoverEvery time.Duration
	Follower      string // this process's name in leases; default host/pid/random
	// RequireVerified refuses Approve while a commit in the range is not
	// verified on staging (DEVY_REQUIRE_VERIFIED).
	RequireVerified bool
}

// Desk implements /deploy and its buttons.
type Desk struct {
	cfg    Config
	heroku Heroku
	github GitHub // nil when GitHub is not configured
	ci     CI     // nil when Semaphore is not configured
	store  Store
	poster commands.Poster
	dir    commands.Directory
	users  Users           // nil: commit authors are found by DEVY_USER_MAP only
	modals commands.Modals // nil: an admin's override has no modal
	bg     *commands.Background
	log    zerolog.Logger
	// finished, if set, hears of every promotion that ended (the incident
	// timeline records them).
	finished func(ctx context.Context, r store.PromotionRequest)
	// outbox carries out the reports recorded with each outcome;
	// ownOutbox says /deploy built it (no Deps.Outbox) and starts it.
	outbox    *commands.Outbox
	ownOutbox bool
	extra     []commands.Sub // subcommands of other capabilities (Deps.Extra)
	// deployments records promotions on GitHub (deployments.go); nil when
	// off. permalinks, if set, links them to the request's message.
	deployments     Deployments
	permalinks      Permalinks
	deploymentStore DeploymentStore
	notices         releaseNotices // staging releases to announce without a webhook

	mu       sync.Mutex // guards pipeline, pipeAt, view and changes
	pipeline heroku.Pipeline
	pipeAt   time.Time
	view     *statusView // the last status read, reused for statusTTL
	// changes counts what made the pipeline change (Devy's promotions,
	// Heroku's webhooks): a read that began before one is not reused.
	changes uint64

	// statuses makes concurrent reads of the pipeline and the status share
	// one set of API calls: a burst of a thousand /deploy status costs
	// Heroku a handful of requests, not thousands.
	statuses singleflight.Group
	// waiting counts the /deploy status callers waiting on a read now.
	waiting atomic.Int32

	// compares remembers GitHub's comparisons by base...head: two fixed
	// commits always compare the same, so status, promote and the next
	// status of an unchanged pipeline ask GitHub once.
	compares *lru.Cache[string, github.Comparison]

	followMu  sync.Mutex      // guards following
	following map[uint64]bool // promotions this process is running or following now
}

// Pipeline is the configured pipeline with its staging and production apps,
// as /deploy sees it (read at most once a minute).
func (d *Desk) Pipeline(ctx context.Context) (heroku.Pipeline, error) {
	return d.resolvePipeline(ctx)
}

// compareCacheSize bounds the remembered comparisons: a pipeline compares
// a handful of release pairs a day.
const compareCacheSize = 64

// compare is GitHub's comparison of base and head, asked once per pair.
func (d *Desk) compare(ctx context.Context, base, head string) (github.Comparison, error) {
	key := base + "..." + head
	if c, ok := d.compares.Get(key); ok {
		return c, nil
	}
	c, err := d.github.Compare(ctx, base, head)
	if err != nil {
		return c, err
	}
	d.compares.Add(key, c)
	return c, nil
}

// statusTTL is how long a status read is reused. Devy's own promotions
// invalidate it at once.
const statusTTL = 5 * time.Second

// statusView is what /deploy status shows that comes from the services.
type statusView struct {
	snap  snapshot
	ahead string // commits ahead, as a sentence
	ci    format.CI
	at    time.Time
	// commits are those staging has and production lacks (verify.go);
	// nil when they are not known.
	commits []store.CommitInfo
}

// Deps is what Desk is built from. GitHub and CI may be nil.
type Deps struct {
	Config    Config
	Heroku    Heroku
	GitHub    GitHub
	CI        CI
	Store     Store
	Poster    commands.Poster
	Directory commands.Directory
	Users     Users           // may be nil
	Modals    commands.Modals // may be nil
	Bg        *commands.Background
	Log       zerolog.Logger
	// Finished, if set, is called with every promotion that ended, however
	// it ended (through the outbox, so also after a crash).
	Finished func(ctx context.Context, r store.PromotionRequest)
	// Outbox carries out the effects of outcomes; /deploy registers its
	// handlers on it. If nil, /deploy makes its own over Store and starts
	// it in Resume.
	Outbox *commands.Outbox
	// Extra are subcommands other capabilities add to /deploy (stats), listed
	// after deploy's own in its usage.
	Extra []commands.Sub
	// Deployments, if set, records each production promotion as a GitHub
	// deployment; Permalinks, if set, gives its statuses the request
	// message's link.
	Deployments Deployments
	Permalinks  Permalinks
}

// Action ids of the request message's buttons.
const (
	ActionApprove = "deploy.approve"
	ActionReject  = "deploy.reject"
)

// New builds /deploy.
func New(d Deps) *Desk {
	c := d.Config
	if c.TTL <= 0 {
		c.TTL = 30 * time.Minute
	}
	if c.LockDuration <= 0 {
		c.LockDuration = 2 * time.Hour
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.MaxPoll < c.PollInterval {
		c.MaxPoll = 15 * time.Second
	}
	if c.PromotionTimeout <= 0 {
		c.PromotionTimeout = 30 * time.Minute
	}
	if c.SettleWithin <= 0 {
		c.SettleWithin = 2 * time.Minute
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.TakeoverEvery <= 0 {
		c.TakeoverEvery = 5 * time.Second
	}
	if c.Follower == "" {
		c.Follower = commands.ProcessName()
	}
	compares, _ := lru.New[string, github.Comparison](compareCacheSize) // errs only on a size ≤ 0
	desk := &Desk{cfg: c, heroku: d.Heroku, github: d.GitHub, ci: d.CI, store: d.Store, poster: d.Poster, dir: d.Directory, users: d.Users, modals: d.Modals, bg: d.Bg,
		log: d.Log.With().Str("cmd", "deploy").Logger(), finished: d.Finished, following: map[uint64]bool{}, extra: d.Extra, outbox: d.Outbox, compares: compares,
		deployments: d.Deployments, permalinks: d.Permalinks, deploymentStore: d.Store}
	if desk.outbox == nil {
		desk.outbox = commands.NewOutbox(d.Store, commands.OutboxConfig{Owner: c.Follower}, d.Log)
		desk.ownOutbox = true
	}
	desk.handleEffects(desk.outbox)
	return desk
}

// Register adds /deploy and its buttons to r.
func (d *Desk) Register(r *commands.Router) {
	r.Add(commands.Command{
		Name:    "deploy",
		Summary: "promote staging to production through a reviewed diff",
		Subs: append([]commands.Sub{
			{Name: "status", Args: "", Help: "staging and production side by side: releases, commits, CI, lock, pending approval", Handler: d.status},
			{Name: "promote", Args: "[--skip-ci <reason>]", Help: "ask for a reviewed promotion of staging to production (in #" + d.cfg.Channel + " only)", Handler: d.promote},
			{Name: "lock", Args: "[reason…] [for 2h]", Help: "lock production promotions", Handler: d.lock},
			{Name: "unlock", Args: "", Help: "lift your lock (admins: anyone's)", Handler: d.unlock},
			{Name: "history", Args: "[promoted]", Help: "recent promotion requests however they ended (promoted: only promotions): who asked, who decided, what, outcome", Handler: d.history},
			{Name: "cancel", Args: "", Help: "withdraw your pending promotion request", Handler: d.cancel},
			{Name: "verify", Args: "[@user]", Help: "mark your commits on staging verified (admins: someone else's)", Handler: d.verifyCommand},
		}, d.extra...),
	})
	r.OnAction(ActionVerify, d.verifyButton)
	r.OnView(ViewOverride, commands.ViewHandler{Validate: validateOverride, Submit: d.overrideSubmit})
	r.OnAction(ActionApprove, d.approve)
	r.OnPrecheck(ActionApprove, d.approveCheck)
	r.OnAction(ActionReject, d.reject)
	r.OnAction(commands.ActionRequest, d.requestButton)
}

// requestButton is the "Request promotion" button on a staging release
// notification: the same request, with the same gates, as /deploy promote by
// the person who clicked.
func (d *Desk) requestButton(ctx context.Context, a commands.Action) (commands.Reply, error) {
	req := commands.Request{Command: "deploy", Text: "promote", UserID: a.UserID, ChannelID: a.ChannelID, ResponseURL: a.ResponseURL}
	if a.ChannelID == "" {
		// A click on the App Home, which is in no channel: the request goes
		// to the deploy channel, where everyone sees it.
		req.ChannelID, req.ChannelName = d.cfg.Channel, d.cfg.Channel
		if !format.IsChannelID(d.cfg.Channel) {
			req.ChannelID = "#" + d.cfg.Channel // chat.postMessage takes a name with "#"
		}
	}
	return d.promote(ctx, req, nil)
}

// resolvePipeline reads the pipeline and its apps, remembering them for a
// minute: they rarely change and every command needs them.
//
// Once known, the pipeline is never read on a person's time again: after a
// minute the next command gets the known one while a fresh read runs in the
// background. Warm reads it at start.
func (d *Desk) resolvePipeline(ctx context.Context) (heroku.Pipeline, error) {
	d.mu.Lock()
	p, at := d.pipeline, d.pipeAt
	d.mu.Unlock()
	if p.ID != "" {
		if time.Since(at) >= time.Minute {
			d.bg.Go(func(ctx context.Context) {
				if _, err := d.readPipeline(ctx); err != nil && ctx.Err() == nil {
					d.log.Warn().Err(err).Msg("refreshing the pipeline failed; keeping the one known")
				}
			})
		}
		return p, nil
	}
	return d.readPipeline(ctx)
}

// Warm reads the pipeline and the status once at start, so the first
// command finds the pipeline and the slugs' commits known.
func (d *Desk) Warm(ctx context.Context) {
	if _, err := d.readPipeline(ctx); err != nil {
		if ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("reading the pipeline at start failed; the first command will try again")
		}
		return
	}
	if _, err := d.readStatus(ctx); err != nil {
		if ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("reading the status at start failed; the first command will try again")
		}
		return
	}
	d.log.Debug().Msg("pipeline and status read at start")
}

// readPipeline reads the pipeline from Heroku; concurrent reads share one.
func (d *Desk) readPipeline(ctx context.Context) (heroku.Pipeline, error) {
	v, err, _ := d.statuses.Do("pipeline", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return d.fetchPipeline(ctx)
	})
	if err != nil {
		return heroku.Pipeline{}, err
	}
	return v.(heroku.Pipeline), nil
}

func (d *Desk) fetchPipeline(ctx context.Context) (heroku.Pipeline, error) {
	p, err := d.heroku.Pipeline(ctx, d.cfg.Pipeline)
	if err != nil {
		return p, err
	}
	if len(p.Staging) == 0 {
		return p, commands.Userf("Heroku pipeline %s has no staging app; add one to the pipeline's staging stage.", p.Name)
	}
	if len(p.Production) == 0 {
		return p, commands.Userf("Heroku pipeline %s has no production app; add one to the pipeline's production stage.", p.Name)
	}
	d.mu.Lock()
	d.pipeline, d.pipeAt = p, time.Now()
	d.mu.Unlock()
	return p, nil
}

// appRelease is an app with its current release.
type appRelease struct {
	App     heroku.App
	Release heroku.Release
}

// snapshot is the pipeline as it is now: what staging and production run.
type snapshot struct {
	Pipeline   heroku.Pipeline
	Staging    appRelease
	Production []appRelease
}

func (d *Desk) snapshot(ctx context.Context) (snapshot, error) {
	p, err := d.resolvePipeline(ctx)
	if err != nil {
		return snapshot{}, err
	}
	s := snapshot{Pipeline: p, Staging: appRelease{App: p.Staging[0]}, Production: make([]appRelease, len(p.Production))}
	var wg sync.WaitGroup
	errs := make([]error, len(p.Production)+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Staging.Release, errs[0] = d.heroku.CurrentRelease(ctx, s.Staging.App.ID)
	}()
	for i, app := range p.Production {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Production[i].App = app
			s.Production[i].Release, errs[i+1] = d.heroku.CurrentRelease(ctx, app.ID)
		}()
	}
	wg.Wait()
	if errors.Is(errs[0], heroku.ErrNoRelease) {
		return s, commands.Userf("The staging app %s has no release yet; deploy to it first.", s.Staging.App.Name)
	}
	for i := range errs[1:] {
		// A production app that was never released simply has nothing yet.
		if errors.Is(errs[i+1], heroku.ErrNoRelease) {
			errs[i+1] = nil
		}
	}
	return s, errors.Join(errs...)
}

func (d *Desk) ciOf(ctx context.Context, sha string) format.CI {
	if d.ci == nil {
		return format.CI{State: "not configured"}
	}
	if sha == "" {
		return format.CI{State: semaphore.None}
	}
	// Semaphore lists every branch's pipelines together, newest first, and
	// only so far back: on a busy project the staging commit's run is soon
	// out of reach unless the list is narrowed to its branch. Staging is
	// built from the main branch, whichever name it has; any branch last.
	branches := []string{d.cfg.CIBranch}
	if d.cfg.CIBranch == "" {
		branches = []string{"master", "main", ""}
	}
	var c format.CI
	for _, b := range branches {
		st, p, err := d.ci.CommitState(ctx, sha, b)
		c = format.CI{State: st, Err: err}
		if p.WorkflowID != "" {
			c.URL = d.ci.WorkflowURL(p.WorkflowID)
		}
		if err != nil || st != semaphore.None {
			break
		}
	}
	return c
}

func (d *Desk) shaLink(sha string) string {
	if d.github == nil {
		return format.Commit(sha, nil)
	}
	return format.Commit(sha, d.github.CommitURL)
}

func (d *Desk) releaseLine(ar appRelease, now time.Time) string {
	r := ar.Release
	who := r.UserEmail
	if who == "" {
		who = "unknown"
	}
	return fmt.Sprintf("*%s*\nv%d · %s · by %s · %s", ar.App.Name, r.Version, d.shaLink(r.Commit), who, format.Ago(now, r.CreatedAt))
}

// sameCode reports whether a production app already runs staging's code.
func sameCode(staging, prod heroku.Release) bool {
	if staging.SlugID != "" && staging.SlugID == prod.SlugID {
		return true
	}
	return staging.Commit != "" && staging.Commit == prod.Commit
}

// readStatus returns the services' side of the status: shared by concurrent
// callers and reused for statusTTL.
func (d *Desk) readStatus(ctx context.Context) (statusView, error) {
	if v, ok := d.reusableStatus(); ok {
		return v, nil
	}
	v, err, _ := d.statuses.Do("status", func() (any, error) {
		// Detached from the first caller, who may give up before the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		d.mu.Lock()
		began := d.changes
		d.mu.Unlock()
		s, err := d.snapshot(ctx)
		if err != nil {
			return statusView{}, err
		}
		v := statusView{snap: s, at: time.Now()}
		st, base := s.Staging.Release, s.Production[0].Release.Commit
		// The comparison and CI need only the commits: side by side.
		var g errgroup.Group
		g.Go(func() error {
			v.ci = d.ciOf(ctx, st.Commit)
			return nil
		})
		switch {
		case sameCode(st, s.Production[0].Release):
			v.ahead = "Staging and production run the same code."
		case d.github != nil && base != "" && st.Commit != "":
			cmp, err := d.compare(ctx, base, st.Commit)
			if err != nil {
				v.ahead = "Commits ahead: unknown (" + format.Failure(err) + ")"
			} else {
				v.ahead = fmt.Sprintf("Staging is <%s|%d commit%s ahead> of production.", cmp.URL, cmp.AheadBy, format.Plural(cmp.AheadBy))
				v.commits = d.commitInfos(ctx, cmp.Commits)
			}
		default:
			v.ahead = "Staging runs different code from production."
		}
		_ = g.Wait()
		d.mu.Lock()
		if d.changes == began {
			d.view = &v
		}
		d.mu.Unlock()
		return v, nil
	})
	if err != nil {
		return statusView{}, err
	}
	return v.(statusView), nil
}

// reusableStatus is the last status read, if it is recent enough to reuse.
func (d *Desk) reusableStatus() (statusView, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.view; v != nil && time.Since(v.at) < statusTTL {
		return *v, true
	}
	return statusView{}, false
}

// ForgetStatus drops the reused status: the services changed (the shell's
// sandbox landed a commit or failed its CI).
func (d *Desk) ForgetStatus() { d.forgetStatus() }

// forgetStatus drops the reused status after Devy changed something.
func (d *Desk) forgetStatus() {
	d.mu.Lock()
	d.view = nil
	d.changes++
	d.mu.Unlock()
}

// Changed tells /deploy that the pipeline changed outside a command (a
// Heroku webhook): the reused status is dropped, and the next command
// reads the pipeline's apps again in the background.
func (d *Desk) Changed() {
	d.mu.Lock()
	d.view = nil
	d.changes++
	d.pipeAt = time.Time{}
	d.mu.Unlock()
}

func (d *Desk) status(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	if len(args) > 0 {
		return commands.Reply{}, commands.Userf("`/deploy status` takes no arguments; type `/deploy status`.")
	}
	if v, ok := d.reusableStatus(); ok {
		d.noticeRelease(v.snap)
		return d.drawStatus(v)
	}
	// Everyone who asks while the services are read waits for the same read
	// and gets the same reply, drawn once when it ends.
	c := d.statuses.DoChan("reply", func() (any, error) {
		v, err := d.readStatus(ctx)
		if err != nil {
			return commands.Reply{}, err
		}
		d.noticeRelease(v.snap)
		return d.drawStatus(v)
	})
	d.waiting.Add(1)
	defer d.waiting.Add(-1)
	select {
	case res := <-c:
		return res.Val.(commands.Reply), res.Err
	case <-ctx.Done():
		return commands.Reply{}, fmt.Errorf("read the status: %w", ctx.Err())
	}
}

// drawStatus is the status reply for the services' side v, with the lock
// and the pending request as the store has them now.
func (d *Desk) drawStatus(v statusView) (commands.Reply, error) {
	s := v.snap
	now := d.store.Now()
	st := s.Staging.Release
	var prodFields []string
	for _, p := range s.Production {
		prodFields = append(prodFields, d.releaseLine(p, now))
	}
	blocks := []commands.Block{
		commands.Header{Text: "Pipeline " + s.Pipeline.Name},
		commands.Section{Text: "*Staging*", Fields: []string{d.releaseLine(s.Staging, now)}},
		commands.Section{Text: "*Production*", Fields: prodFields},
	}
	facts := []string{v.ahead, "CI for staging's " + d.shaLink(st.Commit) + ": " + v.ci.String()}
	lockLine, err := d.lockLine()
	if err != nil {
		return commands.Reply{}, err
	}
	facts = append(facts, lockLine, d.verifyLine(v))
	if r, err := d.store.OpenRequest(s.Pipeline.ID); err != nil {
		return commands.Reply{}, err
	} else if r != nil {
		facts = append(facts, d.openRequestLine(*r, now))
	} else {
		facts = append(facts, "No promotion pending.")
	}
	blocks = append(blocks, commands.Section{Text: strings.Join(facts, "\n")})
	return commands.Reply{Message: commands.Message{Text: fmt.Sprintf("Pipeline %s: staging v%d, production v%d", s.Pipeline.Name, st.Version, s.Production[0].Release.Version), Blocks: blocks}, Ephemeral: true}, nil
}

func (d *Desk) openRequestLine(r store.PromotionRequest, now time.Time) string {
	if r.Status == store.StatusPromoting {
		return fmt.Sprintf("Request #%d (v%d) is being promoted now, approved by <@%s>.", r.ID, r.ReleaseVersion, r.DecidedBy)
	}
	return fmt.Sprintf("Request #%d by <@%s> (v%d) waits for approval; it expires %s.", r.ID, r.RequestedBy, r.ReleaseVersion, format.Until(now, r.ExpiresAt))
}

func (d *Desk) pipelineKey(ctx context.Context) (string, error) {
	p, err := d.resolvePipeline(ctx)
	return p.ID, err
}

func (d *Desk) lockLine() (string, error) {
	p := d.cachedPipelineID()
	l, err := d.store.Lock(p)
	if err != nil {
		return "", err
	}
	if l == nil {
		return "🔓 Production is not locked.", nil
	}
	return "🔒 " + lockText(*l), nil
}

func (d *Desk) cachedPipelineID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pipeline.ID
}

func lockText(l store.Lock) string {
	if l.RequestID != 0 {
		return fmt.Sprintf("Production is locked by the running promotion of request #%d (since %s).", l.RequestID, format.Stamp(l.Since))
	}
	s := fmt.Sprintf("Production is locked by <@%s> since %s", l.Holder, format.Stamp(l.Since))
	if l.Reason != "" {
		s += fmt.Sprintf(" (“%s”)", l.Reason)
	}
	if !l.Until.IsZero() {
		s += " until " + format.Stamp(l.Until)
	}
	return s + "."
}

func (d *Desk) isAdmin(user string) bool {
	for _, a := range d.cfg.Admins {
		if a == user {
			return true
		}
	}
	return false
}

// inDeployChannel checks the channel by id or name; mentions carry no name,
// so it is looked up when the configuration names the channel.
func (d *Desk) inDeployChannel(ctx context.Context, req commands.Request) bool {
	want := d.cfg.Channel
	if req.ChannelID == want {
		return true
	}
	switch req.ChannelName {
	case "directmessage":
		return false // a conversation between people is no deploy channel
	case "privategroup":
		// What Slack sends as the name of every private channel: it says
		// nothing about which one this is, so look it up.
	case "":
	default:
		return req.ChannelName == want
	}
	if d.dir == nil || req.ChannelID == "" {
		return false
	}
	name, err := d.dir.ChannelName(ctx, req.ChannelID)
	if err != nil {
		// Devy cannot see this conversation (a private channel it is not
		// in, a group DM), so it is not the channel Devy posts requests in.
		d.log.Info().Err(err).Str("channel", req.ChannelID).Msg("could not read the channel's name; taking it for another channel")
		return false
	}
	return name == want
}

func (d *Desk) channelRef() string { return format.Channel(d.cfg.Channel) }
