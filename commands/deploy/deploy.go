package deploy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/announce"
	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/commands/deploy/ghdeploy"
	"github.com/devy-chatops/devy/commands/deploy/pipeline"
	"github.com/devy-chatops/devy/commands/deploy/verify"
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
	VerifyStore // its signals also keep the GitHub deployments (ghdeploy.Store)
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
	// off.
	deployments *ghdeploy.Recorder
	owners      verify.Owners      // who wrote commits
	releases    verify.Releases    // the staging release messages posted
	notices     *announce.Releases // staging releases to announce without a webhook; nil: a webhook does

	// pipe reads the pipeline and the status, shared and remembered.
	pipe *pipeline.Reader
	// replies makes everyone who asks for the status while it is read
	// share one reply; waiting counts them.
	replies singleflight.Group
	waiting atomic.Int32

	followMu  sync.Mutex      // guards following
	following map[uint64]bool // promotions this process is running or following now
}

// Pipeline is the configured pipeline with its staging and production apps,
// as /deploy sees it (read at most once a minute).
func (d *Desk) Pipeline(ctx context.Context) (heroku.Pipeline, error) {
	return d.pipe.Pipeline(ctx)
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
	desk := &Desk{cfg: c, heroku: d.Heroku, github: d.GitHub, ci: d.CI, store: d.Store, poster: d.Poster, dir: d.Directory, modals: d.Modals, bg: d.Bg,
		log: d.Log.With().Str("cmd", "deploy").Logger(), finished: d.Finished, following: map[uint64]bool{}, extra: d.Extra, outbox: d.Outbox}
	desk.owners = verify.NewOwners(c.UserMap, d.Users, desk.log)
	desk.pipe = pipeline.New(pipeline.Deps{Pipeline: c.Pipeline, CIBranch: c.CIBranch, Heroku: d.Heroku, GitHub: d.GitHub, CI: d.CI,
		Authors: desk.owners.Commits, Bg: d.Bg, Log: desk.log})
	desk.releases = verify.NewReleases(d.Store)
	if d.Deployments != nil {
		desk.deployments = ghdeploy.New(d.Deployments, d.Permalinks, d.Store, desk.pipe, desk.log)
	}
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

// Warm reads the pipeline and the status once at start, so the first
// command finds the pipeline and the slugs' commits known, and has
// staging's release announced if nobody did (without a Heroku webhook, a
// release made while Devy was down is otherwise first seen by a command).
func (d *Desk) Warm(ctx context.Context) {
	if _, err := d.pipe.Read(ctx); err != nil {
		if ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("reading the pipeline at start failed; the first command will try again")
		}
		return
	}
	v, err := d.pipe.Status(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("reading the status at start failed; the first command will try again")
		}
		return
	}
	d.noticeRelease(v.Snapshot)
	d.log.Debug().Msg("pipeline and status read at start")
}

// ciOf is the state of sha's CI run.
func (d *Desk) ciOf(ctx context.Context, sha string) format.CI { return d.pipe.CI(ctx, sha) }

func (d *Desk) shaLink(sha string) string {
	if d.github == nil {
		return format.Commit(sha, nil)
	}
	return format.Commit(sha, d.github.CommitURL)
}

// ForgetStatus drops the reused status: the services changed (the shell's
// sandbox landed a commit or failed its CI).
func (d *Desk) ForgetStatus() { d.pipe.Forget() }

// Changed tells /deploy that the pipeline changed outside a command (a
// Heroku webhook): the reused status is dropped, and the next command
// reads the pipeline's apps again in the background.
func (d *Desk) Changed() { d.pipe.Changed() }

func (d *Desk) status(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	if len(args) > 0 {
		return commands.Reply{}, commands.Userf("`/deploy status` takes no arguments; type `/deploy status`.")
	}
	if v, ok := d.pipe.Recent(); ok {
		d.noticeRelease(v.Snapshot)
		return d.drawStatus(v)
	}
	// Everyone who asks while the services are read waits for the same read
	// and gets the same reply, drawn once when it ends.
	c := d.replies.DoChan("reply", func() (any, error) {
		v, err := d.pipe.Status(ctx)
		if err != nil {
			return commands.Reply{}, err
		}
		d.noticeRelease(v.Snapshot)
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
func (d *Desk) drawStatus(v pipeline.Status) (commands.Reply, error) {
	s := v.Snapshot
	now := d.store.Now()
	st := s.Staging.Release
	var prodFields []string
	for _, p := range s.Production {
		prodFields = append(prodFields, describe.Release(p, d.shaLink, now))
	}
	blocks := []commands.Block{
		commands.Header{Text: "Pipeline " + s.Pipeline.Name},
		commands.Section{Text: "*Staging*", Fields: []string{describe.Release(s.Staging, d.shaLink, now)}},
		commands.Section{Text: "*Production*", Fields: prodFields},
	}
	facts := []string{v.Ahead, "CI for staging's " + d.shaLink(st.Commit) + ": " + v.CI.String()}
	lockLine, err := d.lockLine()
	if err != nil {
		return commands.Reply{}, err
	}
	facts = append(facts, lockLine, d.verifyLine(v))
	if r, err := d.store.OpenRequest(s.Pipeline.ID); err != nil {
		return commands.Reply{}, err
	} else if r != nil {
		facts = append(facts, describe.Open(*r, now))
	} else {
		facts = append(facts, "No promotion pending.")
	}
	blocks = append(blocks, commands.Section{Text: strings.Join(facts, "\n")})
	return commands.Reply{Message: commands.Message{Text: fmt.Sprintf("Pipeline %s: staging v%d, production v%d", s.Pipeline.Name, st.Version, s.Production[0].Release.Version), Blocks: blocks}, Ephemeral: true}, nil
}

func (d *Desk) pipelineKey(ctx context.Context) (string, error) {
	p, err := d.pipe.Pipeline(ctx)
	return p.ID, err
}

func (d *Desk) lockLine() (string, error) {
	p := d.pipe.CachedID()
	l, err := d.store.Lock(p)
	if err != nil {
		return "", err
	}
	return describe.LockLine(l), nil
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
