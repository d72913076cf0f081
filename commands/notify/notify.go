package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/store"
)

// GitHub is what notifications need of GitHub.
type GitHub interface {
	Compare(ctx context.Context, base, head string) (github.Comparison, error)
	CommitURL(sha string) string
	CompareURL(base, head string) string
	Repo() string // owner/name
}

// Heroku is what notifications need of Heroku.
type Heroku interface {
	CurrentRelease(ctx context.Context, app string) (heroku.Release, error)
}

// CI is what notifications need of Semaphore: a link to a workflow.
type CI interface {
	WorkflowURL(wfID string) string
}

// PipelineSource is the pipeline /deploy promotes along, with its staging
// and production apps (*Deploy).
type PipelineSource interface {
	Pipeline(ctx context.Context) (heroku.Pipeline, error)
}

// Verifier is the Etsy step of /deploy (*deploy.Desk): its part of a
// staging release's message, posted once per release.
type Verifier interface {
	// ReleaseBlocks claims release id's message: ok is false when it was
	// posted already (another process, a redelivery); blocks are added to
	// the message.
	ReleaseBlocks(ctx context.Context, id string) (blocks []commands.Block, ok bool, err error)
	// ReleasePosted tells where the message landed, or that posting failed.
	ReleasePosted(ctx context.Context, id string, p commands.Posted, err error)
}

// Store is the state notifications read and keep.
type Store interface {
	Now() time.Time
	SetPRThread(pr int, channel, ts string) error
	PRThread(pr int) (*store.Thread, error)
	ReviewApp(pr int) (store.ReviewApp, error)
	Requests(statuses ...string) ([]store.PromotionRequest, error)
}

// Config is where notifications go.
type Config struct {
	PRChannel     string            // pull requests, as chat.postMessage takes it ("#general" or an id)
	DeployChannel string            // releases and CI of the main branch
	UserMap       map[string]string // GitHub login (lowercase) → Slack user id
	MainBranches  []string          // whose pipelines go to DeployChannel; default master and main
}

// Deps is what Notifier is built from. Pipeline, Heroku, GitHub
// and CI may be nil: messages then say less.
type Deps struct {
	Config   Config
	Poster   commands.Poster
	Store    Store
	Pipeline PipelineSource
	Verifier Verifier // may be nil: staging releases then have no verification
	Heroku   Heroku
	GitHub   GitHub
	CI       CI
	Log      zerolog.Logger
}

// Notifier posts the services' events where the team acts on them:
// pull requests in the PR channel with a Create review app button and
// their later events in that message's thread; releases and CI of the main
// branch in the deploy channel, staging releases with a Request promotion
// button.
type Notifier struct {
	cfg      Config
	poster   commands.Poster
	store    Store
	pipeline PipelineSource
	verifier Verifier
	heroku   Heroku
	github   GitHub
	ci       CI
	log      zerolog.Logger

	mu       sync.Mutex     // guards branches and order
	branches map[string]int // head branch → open pull request, learnt from pull_request events
	order    []string       // branches, oldest first, to bound the map

	threads prLocks // one pull request's thread: read it, post, remember it
}

// prLocks lets one event of a pull request at a time read its thread and
// post: events arrive concurrently, and one that read no thread while the
// announcement was still being posted would post nothing at all.
type prLocks struct {
	mu    sync.Mutex // guards locks
	locks map[int]*prLock
}

type prLock struct {
	mu    sync.Mutex // held while an event of the pull request reads its thread and posts
	users int        // holding or waiting, guarded by prLocks.mu; the entry goes when none is left
}

// lock waits for pull request pr's earlier events and returns the unlock.
func (l *prLocks) lock(pr int) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[int]*prLock{}
	}
	k := l.locks[pr]
	if k == nil {
		k = &prLock{}
		l.locks[pr] = k
	}
	k.users++
	l.mu.Unlock()
	k.mu.Lock()
	return func() {
		k.mu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		if k.users--; k.users == 0 {
			delete(l.locks, pr)
		}
	}
}

// maxBranches bounds the branch → pull request map; a branch pipeline whose
// PR was forgotten is skipped, which is what happens to unknown PRs anyway.
const maxBranches = 1000

// devyPromotionWindow is how long after one of Devy's promotions ended a
// production release is still recognised as its outcome.
const devyPromotionWindow = 30 * time.Minute

// New builds the notifications.
func New(d Deps) *Notifier {
	c := d.Config
	if len(c.MainBranches) == 0 {
		c.MainBranches = []string{"master", "main"}
	}
	return &Notifier{cfg: c, poster: d.Poster, store: d.Store, pipeline: d.Pipeline, verifier: d.Verifier, heroku: d.Heroku, github: d.GitHub, ci: d.CI,
		log: d.Log.With().Str("cmd", "notify").Logger(), branches: map[string]int{}}
}

// --- pull requests ---

// PullRequest announces a new pull request and follows it in its thread.
func (n *Notifier) PullRequest(ctx context.Context, e commands.PREvent) error {
	if !e.Wanted() {
		return nil
	}
	log := n.log.With().Int("pr", e.Number).Str("action", e.Action).Logger()
	if n.github != nil && e.Repo != "" && !strings.EqualFold(e.Repo, n.github.Repo()) {
		// Threads are remembered by number: another repository's #7 is not ours.
		log.Debug().Str("repo", e.Repo).Msg("pull request of another repository; nothing posted")
		return nil
	}
	n.learnBranch(e)
	unlock := n.threads.lock(e.Number)
	defer unlock()
	th, err := n.store.PRThread(e.Number)
	if err != nil {
		return fmt.Errorf("read the thread of PR #%d: %w", e.Number, err)
	}
	switch {
	case th == nil && (e.Action == "opened" || e.Action == "reopened"):
		posted, err := n.poster.Post(ctx, n.cfg.PRChannel, "", n.prOpenedMessage(e))
		if err != nil {
			return fmt.Errorf("announce PR #%d: %w", e.Number, err)
		}
		// The channel's id, not its configured name: Slack updates messages
		// only by channel id, and the thread outlives this process.
		if err := n.store.SetPRThread(e.Number, posted.Channel, posted.TS); err != nil {
			return fmt.Errorf("remember the thread of PR #%d: %w", e.Number, err)
		}
		log.Info().Msg("pull request announced")
		return nil
	case th == nil:
		log.Debug().Msg("no notification of this pull request to follow up in; nothing posted")
		return nil
	case e.Action == "opened":
		// Announced already: a delivery Devy no longer remembers.
		log.Debug().Msg("pull request already announced")
		return nil
	}
	m := n.prFollowUp(e)
	if _, err := n.poster.Post(ctx, th.Channel, th.TS, m); err != nil {
		return fmt.Errorf("post in the thread of PR #%d: %w", e.Number, err)
	}
	return nil
}

// learnBranch remembers which open pull request a branch belongs to, so that
// the branch's pipelines can be reported in its thread.
func (n *Notifier) learnBranch(e commands.PREvent) {
	if e.Branch == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if e.Action == "closed" {
		if n.branches[e.Branch] == e.Number {
			delete(n.branches, e.Branch)
		}
		return
	}
	if _, ok := n.branches[e.Branch]; !ok {
		n.order = append(n.order, e.Branch)
	}
	n.branches[e.Branch] = e.Number
	for len(n.branches) > maxBranches && len(n.order) > 0 {
		delete(n.branches, n.order[0])
		n.order = n.order[1:]
	}
	if len(n.order) > 2*maxBranches {
		// Drop entries of branches already forgotten.
		kept := n.order[:0]
		for _, b := range n.order {
			if _, ok := n.branches[b]; ok {
				kept = append(kept, b)
			}
		}
		n.order = kept
	}
}

func (n *Notifier) branchPR(branch string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.branches[branch]
}

// prOpenedMessage is the announcement of a pull request. Its text links the
// pull request, which is how `@Devy reviewapp` in its thread finds it.
func (n *Notifier) prOpenedMessage(e commands.PREvent) commands.Message {
	title := prTitle(e)
	verb := "opened"
	if e.Action == "reopened" {
		verb = "reopened"
	}
	draft := ""
	if e.Draft {
		draft = " (draft)"
	}
	fields := []string{"*Author*\n" + n.person(e.Author), "*Branch*\n" + branchLine(e)}
	return commands.Message{
		Text: fmt.Sprintf("Pull request %s %s by %s%s", title, verb, n.person(e.Author), draft),
		Blocks: []commands.Block{
			commands.Section{Text: fmt.Sprintf("🔀 *%s*%s", title, draft)},
			commands.Section{Fields: fields},
			commands.Actions{ID: "pr.notification." + strconv.Itoa(e.Number), Buttons: []commands.Button{
				{ActionID: commands.ActionCreateReviewApp, Text: "Create review app", Value: strconv.Itoa(e.Number)},
			}},
			commands.Context{Texts: []string{"A review app is built only when someone asks: this button, or `@Devy reviewapp` in this thread."}},
		},
	}
}

// prFollowUp is a later event of a pull request, for its thread.
func (n *Notifier) prFollowUp(e commands.PREvent) commands.Message {
	var text string
	var blocks []commands.Block
	switch e.Action {
	case "reopened":
		m := commands.Message{Text: fmt.Sprintf("🔁 Reopened by %s.", n.person(e.Sender))}
		m.Blocks = []commands.Block{commands.Section{Text: m.Text}, commands.Actions{ID: "pr.reopened." + strconv.Itoa(e.Number), Buttons: []commands.Button{
			{ActionID: commands.ActionCreateReviewApp, Text: "Create review app", Value: strconv.Itoa(e.Number)},
		}}}
		return m
	case "synchronize":
		head := cmp.Or(e.After, e.HeadSHA)
		text = fmt.Sprintf("⬆️ New commits on `%s`: now at %s", format.Escape(e.Branch), n.shaLink(head))
		if n.github != nil && github.IsSHA(e.Before) && github.IsSHA(head) && !allZero(e.Before) {
			text += " (" + format.Link(n.github.CompareURL(e.Before, head), "what changed") + ")"
		}
		if e.Sender != "" {
			text += ", pushed by " + n.person(e.Sender)
		}
		text += "."
	case "ready_for_review":
		text = fmt.Sprintf("👀 %s is ready for review (no longer a draft).", prTitle(e))
	case "closed":
		if e.Merged {
			text = fmt.Sprintf("🟣 Merged into `%s` by %s.", format.Escape(cmp.Or(e.Base, "its base branch")), n.person(cmp.Or(e.MergedBy, e.Sender)))
		} else {
			text = fmt.Sprintf("⛔ Closed without merging by %s.", n.person(e.Sender))
		}
		if ra, ok := n.liveReviewApp(e.Number); ok {
			app := "Its review app"
			if ra.AppName != "" {
				app = fmt.Sprintf("Its review app *%s*", format.Escape(ra.AppName))
			}
			blocks = append(blocks, commands.Section{Text: text}, commands.Section{Text: fmt.Sprintf(
				"%s is still there, costing dyno hours: `@Devy reviewapp %d destroy` here (or `/reviewapp %d destroy` in a channel) deletes it.", app, e.Number, e.Number)})
		}
	}
	return commands.Message{Text: text, Blocks: blocks}
}

// liveReviewApp returns the pull request's review app Devy made, if it is
// not deleted yet.
func (n *Notifier) liveReviewApp(pr int) (store.ReviewApp, bool) {
	ra, err := n.store.ReviewApp(pr)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			n.log.Warn().Err(err).Int("pr", pr).Msg("reading the review app failed; not offering to destroy it")
		}
		return ra, false
	}
	return ra, ra.Status != store.ReviewDeleted && ra.Status != store.ReviewDeleting
}

func prTitle(e commands.PREvent) string {
	if e.Title == "" {
		return format.Link(e.URL, fmt.Sprintf("#%d", e.Number))
	}
	return format.Link(e.URL, fmt.Sprintf("#%d %s", e.Number, format.Clip(e.Title, 150)))
}

func branchLine(e commands.PREvent) string {
	s := "`" + format.Escape(e.Branch) + "`"
	if e.Base != "" {
		s += " → `" + format.Escape(e.Base) + "`"
	}
	return s
}

// --- Heroku releases and builds ---

// stage tells where an app sits in the pipeline: "staging", "production",
// "" for any other app, and known=false when the pipeline is not known.
func (n *Notifier) stage(ctx context.Context, appID, appName string) (heroku.Pipeline, string, bool) {
	if n.pipeline == nil {
		return heroku.Pipeline{}, "", false
	}
	p, err := n.pipeline.Pipeline(ctx)
	if err != nil {
		n.log.Warn().Err(err).Msg("reading the pipeline failed; reporting the release without its stage")
		return p, "", false
	}
	is := func(a heroku.App) bool { return (appID != "" && a.ID == appID) || (appID == "" && a.Name == appName) }
	if slices.ContainsFunc(p.Staging, is) {
		return p, "staging", true
	}
	if slices.ContainsFunc(p.Production, is) {
		return p, "production", true
	}
	return p, "", true
}

// Release reports a release: a staging one with what it would ship and a
// Request promotion button, a production one with whether it went through
// Devy, a failed one with Heroku's words.
func (n *Notifier) Release(ctx context.Context, e commands.ReleaseEvent) error {
	if !e.Wanted() {
		return nil
	}
	p, stage, known := n.stage(ctx, e.AppID, e.AppName)
	log := n.log.With().Str("app", e.AppName).Int("version", e.Version).Str("status", e.Status).Logger()
	if known && stage == "" {
		log.Debug().Msg("release of an app outside the pipeline's staging and production stages; nothing posted")
		return nil
	}
	var m commands.Message
	switch {
	case e.Status == "failed":
		m = n.releaseFailedMessage(e, stage)
	case stage == "staging" && n.verifier != nil && e.Status != "failed":
		return n.postStagingRelease(ctx, p, e)
	case stage == "staging":
		m = n.stagingMessage(ctx, p, e)
	case stage == "production":
		if r := n.devyPromotion(e); r != nil {
			return n.postPromotedRelease(ctx, *r, e)
		}
		m = n.outsideDevyMessage(ctx, e)
	default:
		m = n.plainReleaseMessage(ctx, e)
	}
	if _, err := n.poster.Post(ctx, n.cfg.DeployChannel, "", m); err != nil {
		return fmt.Errorf("post the release of %s v%d: %w", e.AppName, e.Version, err)
	}
	log.Info().Msg("release reported")
	return nil
}

// postStagingRelease posts a staging release once, with the Etsy step's
// blocks: of two processes, or a delivery and its redelivery, one posts.
func (n *Notifier) postStagingRelease(ctx context.Context, p heroku.Pipeline, e commands.ReleaseEvent) error {
	extra, ok, err := n.verifier.ReleaseBlocks(ctx, e.ID)
	if err != nil {
		return fmt.Errorf("read what to verify in %s v%d: %w", e.AppName, e.Version, err)
	}
	if !ok {
		n.log.Debug().Str("release", e.ID).Msg("staging release posted already")
		return nil
	}
	m := n.stagingMessage(ctx, p, e)
	// After the Request promotion button, which keeps its place.
	m.Blocks = append(m.Blocks, extra...)
	posted, err := n.poster.Post(ctx, n.cfg.DeployChannel, "", m)
	n.verifier.ReleasePosted(ctx, e.ID, posted, err)
	if err != nil {
		return fmt.Errorf("post the release of %s v%d: %w", e.AppName, e.Version, err)
	}
	return nil
}

// releaseCommit finds the commit a release runs: from the app's current
// release when it is this one (or shares its slug), otherwise from Heroku's
// description of a code release ("Deploy 2d9f5fce").
func (n *Notifier) releaseCommit(ctx context.Context, e commands.ReleaseEvent) string {
	if n.heroku != nil {
		cur, err := n.heroku.CurrentRelease(ctx, cmp.Or(e.AppID, e.AppName))
		switch {
		case err != nil:
			n.log.Warn().Err(err).Str("app", e.AppName).Msg("reading the release's commit failed")
		case cur.ID == e.ID || (e.SlugID != "" && cur.SlugID == e.SlugID):
			if cur.Commit != "" {
				return cur.Commit
			}
		}
	}
	if m := deployDescription.FindStringSubmatch(e.Description); m != nil {
		return m[1]
	}
	return ""
}

var deployDescription = regexp.MustCompile(`^Deploy ([0-9a-f]{7,40})\b`)

func (n *Notifier) stagingMessage(ctx context.Context, p heroku.Pipeline, e commands.ReleaseEvent) commands.Message {
	commit := n.releaseCommit(ctx, e)
	head := fmt.Sprintf("🚚 New staging release: *%s* v%d", format.Escape(e.AppName), e.Version)
	fields := []string{"*Commit*\n" + n.shaLink(commit), "*Released by*\n" + format.Escape(cmp.Or(e.UserEmail, "unknown"))}
	if e.Description != "" {
		fields = append(fields, "*Heroku says*\n"+format.Escape(format.Clip(e.Description, 200)))
	}
	ahead, promotable := n.aheadOfProduction(ctx, p, commit, e.SlugID)
	blocks := []commands.Block{commands.Section{Text: head}, commands.Section{Fields: fields}, commands.Section{Text: ahead}}
	if promotable {
		blocks = append(blocks, commands.Actions{ID: "deploy.release." + e.ID, Buttons: []commands.Button{
			{ActionID: commands.ActionRequest, Text: "Request promotion", Value: e.ID, Style: "primary"},
		}}, commands.Context{Texts: []string{"The button asks for a reviewed promotion, like `/deploy promote`; someone else approves it."}})
	}
	return commands.Message{Text: fmt.Sprintf("New staging release %s v%d (%s). %s", format.Escape(e.AppName), e.Version, format.Escape(format.Short(commit)), plainSentence(ahead)), Blocks: blocks}
}

// aheadOfProduction says how far staging's commit is ahead of production,
// and whether there is anything to promote.
func (n *Notifier) aheadOfProduction(ctx context.Context, p heroku.Pipeline, commit, slugID string) (string, bool) {
	if len(p.Production) == 0 || n.heroku == nil {
		return "Production: unknown.", true
	}
	prodApp := p.Production[0]
	prod, err := n.heroku.CurrentRelease(ctx, prodApp.ID)
	switch {
	case errors.Is(err, heroku.ErrNoRelease):
		return fmt.Sprintf("*%s* has no release yet.", format.Escape(prodApp.Name)), true
	case err != nil:
		return "Commits ahead of production: unknown (" + format.Failure(err) + ").", true
	case (slugID != "" && slugID == prod.SlugID) || (commit != "" && commit == prod.Commit):
		return fmt.Sprintf("Production (*%s* v%d) already runs this code: nothing to promote.", format.Escape(prodApp.Name), prod.Version), false
	case n.github == nil || commit == "" || prod.Commit == "":
		return fmt.Sprintf("Staging runs different code from production (*%s* v%d).", format.Escape(prodApp.Name), prod.Version), true
	}
	c, err := n.github.Compare(ctx, prod.Commit, commit)
	if err != nil {
		return "Commits ahead of production: unknown (" + format.Failure(err) + ").", true
	}
	s := fmt.Sprintf("%s of production (*%s* v%d · %s).", format.Link(c.URL, fmt.Sprintf("%d commit%s ahead", c.AheadBy, format.Plural(c.AheadBy))), format.Escape(prodApp.Name), prod.Version, n.shaLink(prod.Commit))
	if c.BehindBy > 0 {
		s += fmt.Sprintf(" ⚠️ Also %d behind: promoting would take commits out of production.", c.BehindBy)
	}
	return s, true
}

// devyPromotion returns Devy's promotion that made a production release: one
// promoting now to that app, or one that just ended with this release.
func (n *Notifier) devyPromotion(e commands.ReleaseEvent) *store.PromotionRequest {
	reqs, err := n.store.Requests(store.StatusPromoting, store.StatusSucceeded, store.StatusFailed, store.StatusUnknown)
	if err != nil {
		n.log.Warn().Err(err).Msg("reading promotion requests failed; the release is reported as made outside Devy")
		return nil
	}
	now := n.store.Now()
	for i, r := range reqs {
		if i == 50 {
			break // newest first: older ones ended long ago
		}
		if r.Status != store.StatusPromoting && now.Sub(r.FinishedAt) > devyPromotionWindow {
			continue
		}
		for _, t := range r.Targets {
			if (e.AppID != "" && t.AppID != e.AppID) || (e.AppID == "" && t.AppName != e.AppName) {
				continue
			}
			if r.Status == store.StatusPromoting || t.ReleaseID == e.ID || (t.ReleaseID == "" && e.SlugID != "" && e.SlugID == r.SlugID) {
				return &r
			}
		}
	}
	return nil
}

// postPromotedRelease reports a production release Devy made in its
// request's thread: the request message itself tells the story.
func (n *Notifier) postPromotedRelease(ctx context.Context, r store.PromotionRequest, e commands.ReleaseEvent) error {
	text := fmt.Sprintf("🚀 *%s* is now v%d, from Devy's promotion request #%d (%s v%d, approved by <@%s>).",
		format.Escape(e.AppName), e.Version, r.ID, format.Escape(r.StagingAppName), r.ReleaseVersion, r.DecidedBy)
	channel, thread := n.cfg.DeployChannel, ""
	if r.MessageTS != "" && r.Channel != "" {
		channel, thread = r.Channel, r.MessageTS
	}
	if _, err := n.poster.Post(ctx, channel, thread, commands.Message{Text: text}); err != nil {
		return fmt.Errorf("post the release of %s v%d: %w", e.AppName, e.Version, err)
	}
	return nil
}

func (n *Notifier) outsideDevyMessage(ctx context.Context, e commands.ReleaseEvent) commands.Message {
	commit := n.releaseCommit(ctx, e)
	head := fmt.Sprintf("⚠️ *%s* is now v%d (%s), released by %s — this did not go through Devy: no promotion request of ours was running or just finished for it, so nobody reviewed it here.",
		format.Escape(e.AppName), e.Version, n.shaLink(commit), format.Escape(cmp.Or(e.UserEmail, "someone"))) + herokuSays(e.Description)
	return commands.Message{Text: head, Blocks: []commands.Block{commands.Section{Text: head}, commands.Context{Texts: []string{"`/deploy history` lists the promotions made through Devy."}}}}
}

func (n *Notifier) plainReleaseMessage(ctx context.Context, e commands.ReleaseEvent) commands.Message {
	text := fmt.Sprintf("📦 *%s* released v%d (%s) by %s.", format.Escape(e.AppName), e.Version, n.shaLink(n.releaseCommit(ctx, e)), format.Escape(cmp.Or(e.UserEmail, "someone"))) + herokuSays(e.Description)
	return commands.Message{Text: text}
}

func (n *Notifier) releaseFailedMessage(e commands.ReleaseEvent, stage string) commands.Message {
	where := ""
	if stage != "" {
		where = " (" + stage + ")"
	}
	text := fmt.Sprintf("❌ Release v%d of *%s*%s failed; the app keeps running its previous release.", e.Version, format.Escape(e.AppName), where)
	if e.Description != "" {
		text += herokuSays(e.Description)
	} else {
		text += fmt.Sprintf(" `heroku releases:output v%d -a %s` shows its log.", e.Version, format.Escape(e.AppName))
	}
	return commands.Message{Text: text}
}

// heroSays quotes Heroku's description of a release or build.
func herokuSays(s string) string {
	if s == "" {
		return ""
	}
	return " Heroku says: “" + format.Escape(format.Clip(s, 300)) + "”"
}

// Build reports a failed Heroku build.
func (n *Notifier) Build(ctx context.Context, e commands.BuildEvent) error {
	if !e.Wanted() {
		return nil
	}
	_, stage, known := n.stage(ctx, e.AppID, e.AppName)
	if known && stage == "" {
		n.log.Debug().Str("app", e.AppName).Msg("failed build of an app outside staging and production; nothing posted")
		return nil
	}
	app := cmp.Or(e.AppName, e.AppID)
	text := fmt.Sprintf("❌ Heroku could not build %s for *%s*: the build failed", n.shaLink(e.Commit), format.Escape(app))
	if e.UserEmail != "" {
		text += " (started by " + format.Escape(e.UserEmail) + ")"
	}
	text += "."
	m := commands.Message{Text: text, Blocks: []commands.Block{commands.Section{Text: text}}}
	if e.ID != "" && e.AppName != "" {
		log := "https://dashboard.heroku.com/apps/" + url.PathEscape(e.AppName) + "/activity/builds/" + url.PathEscape(e.ID)
		m.Blocks = append(m.Blocks, commands.Context{Texts: []string{format.Link(log, "Heroku's build log") + " has the details."}})
	}
	if _, err := n.poster.Post(ctx, n.cfg.DeployChannel, "", m); err != nil {
		return fmt.Errorf("post the failed build of %s: %w", app, err)
	}
	return nil
}

// --- Semaphore pipelines ---

// Pipeline reports a finished pipeline: of the main branch in the deploy
// channel, of a pull request's branch in that pull request's thread.
func (n *Notifier) Pipeline(ctx context.Context, e commands.PipelineEvent) error {
	if !e.Wanted() {
		return nil
	}
	log := n.log.With().Str("branch", e.Branch).Int("pr", e.PR).Str("result", e.Result).Logger()
	if e.PR == 0 && slices.Contains(n.cfg.MainBranches, e.Branch) {
		m := n.pipelineMessage(ctx, e, true)
		if _, err := n.poster.Post(ctx, n.cfg.DeployChannel, "", m); err != nil {
			return fmt.Errorf("post the pipeline of %s: %w", e.Branch, err)
		}
		return nil
	}
	pr := e.PR
	if pr == 0 {
		pr = n.branchPR(e.Branch)
	}
	if pr == 0 {
		log.Debug().Msg("pipeline of a branch with no known pull request; nothing posted")
		return nil
	}
	// An announcement of the pull request still being posted is waited for.
	unlock := n.threads.lock(pr)
	defer unlock()
	th, err := n.store.PRThread(pr)
	if err != nil {
		return fmt.Errorf("read the thread of PR #%d: %w", pr, err)
	}
	if th == nil {
		log.Debug().Msg("Devy posted no notification of the pull request; nothing posted")
		return nil
	}
	if _, err := n.poster.Post(ctx, th.Channel, th.TS, n.pipelineMessage(ctx, e, false)); err != nil {
		return fmt.Errorf("post the pipeline of PR #%d: %w", pr, err)
	}
	return nil
}

func (n *Notifier) pipelineMessage(ctx context.Context, e commands.PipelineEvent, main bool) commands.Message {
	result := strings.ToLower(e.Result)
	icon := map[string]string{"passed": "✅", "failed": "❌", "stopped": "⏹", "canceled": "⏹"}[result]
	if icon == "" {
		icon = "❔"
	}
	what := "CI " + result
	if main {
		what += fmt.Sprintf(" on `%s`", format.Escape(e.Branch))
	}
	head := fmt.Sprintf("%s *%s* at %s", icon, what, n.shaLink(e.SHA))
	if msg := firstLine(e.CommitMessage); msg != "" {
		head += " — “" + format.Escape(format.Clip(msg, 150)) + "”"
	}
	var fields []string
	link := n.workflowURL(e)
	name := cmp.Or(e.Name, "Pipeline")
	fields = append(fields, "*Pipeline*\n"+format.Link(link, name))
	if d := duration(e); d > 0 {
		fields = append(fields, "*Duration*\n"+format.Elapsed(d))
	}
	text := fmt.Sprintf("%s %s at %s", icon, what, format.Escape(format.Short(e.SHA)))
	if result == "failed" || result == "stopped" || result == "canceled" {
		if e.ResultReason != "" {
			fields = append(fields, "*Reason*\n"+format.Escape(reasonWords(e.ResultReason)))
		}
		if result == "failed" {
			who := n.culprit(ctx, e)
			fields = append(fields, "*Author*\n"+who)
			text += " — " + who
		}
	}
	blocks := []commands.Block{commands.Section{Text: head}, commands.Section{Fields: fields}}
	if e.Error != "" {
		blocks = append(blocks, commands.Context{Texts: []string{"Semaphore says: " + format.Escape(format.Clip(e.Error, 300))}})
	}
	return commands.Message{Text: text, Blocks: blocks}
}

// reasonWords adds to Semaphore's result_reason what it means, which its
// bare word ("test", "user") does not say; an unknown one is shown as
// Semaphore wrote it.
func reasonWords(r string) string {
	words := map[string]string{
		"test": "a test failed", "malformed": "the pipeline's YAML is malformed", "stuck": "a job got stuck",
		"deleted": "the pipeline was deleted", "internal": "an error inside Semaphore", "user": "someone stopped it",
		"strategy": "stopped by the auto-cancel strategy", "timeout": "it ran out of time",
	}
	if w, ok := words[strings.ToLower(r)]; ok {
		return r + " — " + w
	}
	return r
}

// culprit names the author of the commit that failed (the pipeline's, the
// head of the push), as a Slack mention when DEVY_USER_MAP knows them:
// from GitHub's list of the push's commits when it can be read, otherwise
// who pushed.
func (n *Notifier) culprit(ctx context.Context, e commands.PipelineEvent) string {
	if base, head, ok := splitRange(e.CommitRange); ok && n.github != nil {
		c, err := n.github.Compare(ctx, base, head)
		if err != nil {
			n.log.Warn().Err(err).Str("range", e.CommitRange).Msg("reading the pipeline's commits failed; naming who pushed")
		}
		if commit, ok := failingCommit(c, e.SHA); ok {
			if who := cmp.Or(commit.AuthorLogin, commit.AuthorName); who != "" {
				return n.person(who)
			}
		}
	}
	if e.Sender != "" {
		return n.person(e.Sender)
	}
	return "unknown"
}

// failingCommit finds the pipeline's commit sha among the push's: the last
// one when sha is not there, unless GitHub cut the list short (then the
// last one listed is not the push's head).
func failingCommit(c github.Comparison, sha string) (github.Commit, bool) {
	if i := slices.IndexFunc(c.Commits, func(g github.Commit) bool { return sha != "" && strings.EqualFold(g.SHA, sha) }); i >= 0 {
		return c.Commits[i], true
	}
	if len(c.Commits) == 0 || c.TotalCommits > len(c.Commits) {
		return github.Commit{}, false
	}
	return c.Commits[len(c.Commits)-1], true
}

// splitRange reads "base...head" (or "base..head"); a push that created the
// branch has an all-zero base and no range worth comparing.
func splitRange(r string) (string, string, bool) {
	base, head, ok := strings.Cut(r, "...")
	if !ok {
		base, head, ok = strings.Cut(r, "..")
	}
	if !ok || base == "" || head == "" || allZero(base) || strings.Contains(head, ".") {
		return "", "", false
	}
	return base, head, true
}

func (n *Notifier) workflowURL(e commands.PipelineEvent) string {
	switch {
	case e.WorkflowID == "":
		return ""
	case n.ci != nil:
		return n.ci.WorkflowURL(e.WorkflowID)
	case e.Organization != "" && !strings.ContainsAny(e.Organization, "/:@?#"):
		return "https://" + e.Organization + ".semaphoreci.com/workflows/" + url.PathEscape(e.WorkflowID)
	}
	return ""
}

func duration(e commands.PipelineEvent) time.Duration {
	start := e.RunningAt
	if start.IsZero() || start.Unix() <= 0 {
		start = e.CreatedAt
	}
	if start.IsZero() || start.Unix() <= 0 || e.DoneAt.IsZero() || !e.DoneAt.After(start) {
		return 0
	}
	return e.DoneAt.Sub(start)
}

// --- helpers ---

// person names a GitHub user, as a Slack mention when DEVY_USER_MAP knows them.
func (n *Notifier) person(login string) string { return format.Person(n.cfg.UserMap, login) }

func (n *Notifier) shaLink(sha string) string {
	if n.github == nil {
		return format.Commit(sha, nil)
	}
	return format.Commit(sha, n.github.CommitURL)
}

func allZero(s string) bool { return strings.Trim(s, "0") == "" }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

var labelledLink = regexp.MustCompile(`<[^|>]+\|([^>]+)>`)

// plainSentence strips the mrkdwn of a sentence for a notification's text.
func plainSentence(s string) string {
	s = labelledLink.ReplaceAllString(s, "$1")
	return strings.NewReplacer("*", "", "`", "").Replace(s)
}
