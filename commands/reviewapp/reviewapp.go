package reviewapp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/integrations/semaphore"
	"github.com/devy-chatops/devy/store"
)

// Heroku is what /reviewapp needs of Heroku.
type Heroku interface {
	Pipeline(ctx context.Context, idOrName string) (heroku.Pipeline, error)
	App(ctx context.Context, idOrName string) (heroku.App, error)
	CreateReviewApp(ctx context.Context, pipelineID, branch string, pr int, tarballURL, version string) (heroku.ReviewApp, error)
	ReviewApp(ctx context.Context, id string) (heroku.ReviewApp, error)
	ReviewApps(ctx context.Context, pipelineID string) ([]heroku.ReviewApp, error)
	DeleteReviewApp(ctx context.Context, id string) error
}

// GitHub is what /reviewapp needs of GitHub.
type GitHub interface {
	PullRequest(ctx context.Context, n int) (github.PullRequest, error)
	TarballURL(ctx context.Context, sha string) (string, error)
	CommitURL(sha string) string
	Repo() string   // owner/name
	WebURL() string // https://github.com/owner/name
}

// Store is the state /reviewapp keeps.
type Store interface {
	Now() time.Time
	CreateReviewApp(r store.ReviewApp) (store.ReviewApp, error)
	ReviewApp(pr int) (store.ReviewApp, error)
	UpdateReviewApp(r store.ReviewApp) (store.ReviewApp, error)
	DeleteReviewApp(pr int, id, by string) (*store.ReviewApp, error)
	PRThread(pr int) (*store.Thread, error)
	ReviewAppsBuilding() ([]store.ReviewApp, error)
}

// Config is how /reviewapp behaves.
type Config struct {
	Pipeline     string            // name or id
	Admins       []string          // Slack user ids allowed to destroy any review app
	UserMap      map[string]string // GitHub login (lowercase) → Slack user id
	PollInterval time.Duration     // first wait between polls of a building review app; doubles up to MaxPoll
	MaxPoll      time.Duration
	Timeout      time.Duration // stop following a build after this long
}

// Deps is what Apps is built from. CI may be nil.
type Deps struct {
	Config    Config
	Heroku    Heroku
	GitHub    GitHub
	CI        CI
	Store     Store
	Poster    commands.Poster
	Directory commands.Directory
	Bg        *commands.Background
	Log       zerolog.Logger
	// Deployments, DeploymentStore and Outbox record review apps as GitHub
	// deployments (deployments.go); any nil: not recorded.
	Deployments     Deployments
	DeploymentStore DeploymentStore
	Outbox          *commands.Outbox
}

// Apps implements /reviewapp, its mention from a PR's thread, the
// "Create review app" message shortcut and the button on PR notifications.
type Apps struct {
	cfg    Config
	heroku Heroku
	github GitHub
	ci     CI
	store  Store
	poster commands.Poster
	dir    commands.Directory
	bg     *commands.Background
	log    zerolog.Logger
	link   *regexp.Regexp // a link to a pull request of the repository
	usage  string

	deployments     Deployments // nil: review apps are not recorded on GitHub
	deploymentStore DeploymentStore
	outbox          *commands.Outbox

	mu       sync.Mutex // guards pipeline, pipeAt and creating
	pipeline string
	pipeAt   time.Time
	creating map[int]bool // PRs whose review app is being asked for right now
}

// Callback and action ids that start a review app from Slack.
const (
	ShortcutCreateReviewApp = "create_review_app" // the message shortcut (manifest.yml)
)

// New builds /reviewapp.
func New(d Deps) *Apps {
	c := d.Config
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.MaxPoll < c.PollInterval {
		c.MaxPoll = max(30*time.Second, c.PollInterval)
	}
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Minute
	}
	ra := &Apps{cfg: c, heroku: d.Heroku, github: d.GitHub, ci: d.CI, store: d.Store, poster: d.Poster, dir: d.Directory,
		bg: d.Bg, log: d.Log.With().Str("cmd", "reviewapp").Logger(), link: prLinkPattern(d.GitHub.Repo(), d.GitHub.WebURL()), creating: map[int]bool{}}
	if d.Deployments != nil && d.DeploymentStore != nil && d.Outbox != nil {
		ra.deployments, ra.deploymentStore, ra.outbox = d.Deployments, d.DeploymentStore, d.Outbox
		ra.handleDeployments(d.Outbox)
	}
	return ra
}

// Register adds /reviewapp, its shortcut and its button to r.
func (ra *Apps) Register(r *commands.Router) {
	cmd := reviewAppCommand(ra.list, ra.run)
	cmd.Bare = ra.bare
	ra.usage = cmd.Usage()
	r.Add(cmd)
	r.OnShortcut(ShortcutCreateReviewApp, ra.shortcut)
	r.OnAction(commands.ActionCreateReviewApp, ra.button)
}

// reviewAppCommand is the help table of /reviewapp; the stand-in for an
// unconfigured Devy shares it so help never differs.
func reviewAppCommand(list, numbered commands.Handler) commands.Command {
	return commands.Command{
		Name:    "reviewapp",
		Summary: "build a Heroku review app for a pull request (also `@Devy reviewapp` in the PR's thread)",
		Subs: []commands.Sub{
			// Names in angle brackets are shown in help only; Default routes them.
			{Name: "<PR number>", Args: "", Help: "create a review app from the PR's head commit, or show the existing one", Handler: nil},
			{Name: "<PR number> status", Args: "", Help: "the review app's state and URL", Handler: nil},
			{Name: "<PR number> destroy", Args: "", Help: "delete the review app (who asked for it, the PR's author or an admin)", Handler: nil},
			{Name: "list", Args: "", Help: "open review apps with PR, branch, status, age, URL", Handler: list},
		},
		Default: numbered,
	}
}

// Unconfigured stands in for /reviewapp when Heroku or GitHub is
// not configured.
func Unconfigured() commands.Command {
	h := func(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
		return commands.Reply{}, commands.Userf("Review apps need Heroku and GitHub; an admin needs to set HEROKU_API_TOKEN, HEROKU_PIPELINE and GITHUB_REPOSITORY.")
	}
	return reviewAppCommand(h, h)
}

func prefixOf(req commands.Request) string {
	if req.Source == commands.Slash {
		return "/reviewapp"
	}
	return "@Devy reviewapp"
}

// run handles `/reviewapp <PR> [status|destroy]`.
func (ra *Apps) run(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	a, err := parseReviewArgs(args, prefixOf(req), ra.link)
	if err != nil {
		return commands.Reply{}, err
	}
	switch a.Action {
	case reviewStatus:
		return ra.status(ctx, req, a.PR)
	case reviewDestroy:
		return ra.destroy(ctx, req, a.PR)
	}
	return ra.create(ctx, ra.asked(ctx, req, a.PR))
}

// bare handles `@Devy reviewapp` with no number: in a thread whose first
// message links a pull request, that is the one meant.
func (ra *Apps) bare(ctx context.Context, req commands.Request, _ []string) (commands.Reply, error) {
	if req.Source == commands.Slash {
		return commands.Say("%s", ra.usage), nil
	}
	if req.ThreadTS == "" || ra.dir == nil {
		return commands.Reply{}, commands.Userf("Tell me which pull request: type `@Devy reviewapp 123` with its number, or ask in the thread of a message that links it.")
	}
	parent, _, err := ra.dir.MessageText(ctx, req.ChannelID, req.ThreadTS)
	if err != nil {
		ra.log.Warn().Err(err).Str("channel", req.ChannelID).Str("thread", req.ThreadTS).Msg("reading a thread's first message failed")
		return commands.Reply{}, commands.Userf("I couldn't read this thread's first message to find its pull request; type `@Devy reviewapp 123` with its number.")
	}
	pr, ok := findPRLink(parent, ra.link)
	if !ok {
		return commands.Reply{}, commands.Userf("This thread's first message links no pull request of %s, so I don't know which one you mean; type `@Devy reviewapp 123` with its number.", ra.github.Repo())
	}
	return ra.create(ctx, ra.asked(ctx, req, pr))
}

func (ra *Apps) shortcut(ctx context.Context, s commands.Shortcut) (commands.Reply, error) {
	pr, ok := findPRLink(s.MessageText, ra.link)
	if !ok {
		return commands.Reply{}, commands.Userf("That message links no pull request of %s; run the shortcut on one that does, or type `@Devy reviewapp 123` in its thread.", ra.github.Repo())
	}
	return ra.create(ctx, creation{PR: pr, User: s.UserID, Places: []place{{Channel: s.ChannelID, ThreadTS: s.ThreadTS}}, Prefix: "@Devy reviewapp"})
}

func (ra *Apps) button(ctx context.Context, a commands.Action) (commands.Reply, error) {
	// The value comes from Slack and may have been tampered with.
	pr, ok := prNumber(a.Value)
	if !ok {
		return commands.Reply{}, commands.Userf("That button names no pull request I can read; type `/reviewapp 123` with the PR's number.")
	}
	return ra.create(ctx, creation{PR: pr, User: a.UserID, Places: []place{{Channel: a.ChannelID, ThreadTS: cmp.Or(a.ThreadTS, a.MessageTS)}}, Prefix: "@Devy reviewapp"})
}

// place is where a progress message goes: a channel, or a thread in it.
type place struct{ Channel, ThreadTS string }

// creation is one request for a review app: which PR, who asked, and where
// its progress should be shown.
type creation struct {
	PR     int
	User   string
	Places []place
	Slash  bool   // typed at a channel's top level: acknowledge to the asker
	Prefix string // how the asker reaches Devy, for advice in messages
}

// asked turns a request into a creation. A mention answers in its thread; a
// slash command answers in its channel and, when Devy posted the PR's
// notification, in that thread too, where the PR is discussed.
func (ra *Apps) asked(ctx context.Context, req commands.Request, pr int) creation {
	c := creation{PR: pr, User: req.UserID, Prefix: prefixOf(req)}
	if req.Source != commands.Slash {
		c.Places = []place{{Channel: req.ChannelID, ThreadTS: req.ThreadTS}}
		return c
	}
	c.Slash = true
	c.Places = []place{{Channel: req.ChannelID}}
	th, err := ra.store.PRThread(pr)
	if err != nil {
		ra.log.Warn().Err(err).Int("pr", pr).Msg("reading the PR's thread failed; answering in the channel only")
	} else if th != nil {
		c.Places = append(c.Places, place{Channel: th.Channel, ThreadTS: th.TS})
	}
	return c
}

// pipelineID resolves the configured pipeline once in a while: the id is
// what the review-app endpoints take, and it does not change.
func (ra *Apps) pipelineID(ctx context.Context) (string, error) {
	ra.mu.Lock()
	id, at := ra.pipeline, ra.pipeAt
	ra.mu.Unlock()
	if id != "" && time.Since(at) < 10*time.Minute {
		return id, nil
	}
	p, err := ra.heroku.Pipeline(ctx, ra.cfg.Pipeline)
	if err != nil {
		return "", err
	}
	ra.mu.Lock()
	ra.pipeline, ra.pipeAt = p.ID, time.Now()
	ra.mu.Unlock()
	return p.ID, nil
}

// pull reads an open pull request; unknown, closed and merged ones are the
// asker's mistake and are explained.
func (ra *Apps) pull(ctx context.Context, n int) (github.PullRequest, error) {
	pr, err := ra.github.PullRequest(ctx, n)
	if apierr.StatusCode(err) == 404 {
		return pr, commands.Userf("Pull request #%d does not exist in %s; check the number on GitHub and try again.", n, ra.github.Repo())
	}
	if err != nil {
		return pr, err
	}
	switch {
	case pr.Merged:
		return pr, commands.Userf("Pull request %s is already merged, so there is nothing left to review; review apps are for open pull requests.", format.Link(pr.URL, "#"+strconv.Itoa(n)))
	case pr.State != "open":
		return pr, commands.Userf("Pull request %s is closed, so I won't build it; reopen it on GitHub first if it still needs a review app.", format.Link(pr.URL, "#"+strconv.Itoa(n)))
	case pr.HeadRef == "" || pr.HeadSHA == "":
		return pr, commands.Userf("GitHub did not tell me the branch and commit of %s, so I can't build it; try again in a minute.", format.Link(pr.URL, "#"+strconv.Itoa(n)))
	}
	return pr, nil
}

// existing returns the pipeline's live review app for pr, if any.
func (ra *Apps) existing(ctx context.Context, pipelineID string, pr int) (*heroku.ReviewApp, error) {
	list, err := ra.heroku.ReviewApps(ctx, pipelineID)
	if err != nil {
		return nil, err
	}
	var found *heroku.ReviewApp
	for i := range list {
		h := list[i]
		if h.PRNumber != pr || h.Status == store.ReviewDeleted {
			continue
		}
		// Heroku keeps one review app per PR; should there be more, the
		// newest is the one people mean.
		if found == nil || h.CreatedAt.After(found.CreatedAt) {
			found = &h
		}
	}
	return found, nil
}

// claim makes concurrent requests for the same PR take turns, so that two
// people clicking at once do not build two review apps.
func (ra *Apps) claim(pr int) bool {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.creating[pr] {
		return false
	}
	ra.creating[pr] = true
	return true
}

func (ra *Apps) unclaim(pr int) {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	delete(ra.creating, pr)
}

func (ra *Apps) create(ctx context.Context, c creation) (commands.Reply, error) {
	pr, err := ra.pull(ctx, c.PR)
	if err != nil {
		return commands.Reply{}, err
	}
	pipelineID, err := ra.pipelineID(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	if !ra.claim(c.PR) {
		return commands.Reply{}, commands.Userf("Someone is asking for the review app of #%d right now; `%s %d status` shows it in a minute.", c.PR, c.Prefix, c.PR)
	}
	defer ra.unclaim(c.PR)
	if h, err := ra.existing(ctx, pipelineID, c.PR); err != nil {
		return commands.Reply{}, err
	} else if h != nil {
		return ra.alreadyThere(ctx, *h, pr, c.Prefix)
	}

	rec := store.ReviewApp{
		PR: c.PR, Pipeline: pipelineID, Branch: pr.HeadRef, SHA: pr.HeadSHA, Title: pr.Title, PRURL: pr.URL,
		AuthorLogin: pr.AuthorLogin, CI: ra.ciOf(ctx, pr), RequestedBy: c.User, Status: store.ReviewPending,
	}
	if len(c.Places) > 0 {
		rec.Channel, rec.ThreadTS = c.Places[0].Channel, c.Places[0].ThreadTS
	}
	rec.CreatedAt = ra.store.Now() // the store sets it again; this serves if recording fails
	// The progress message comes first, so people see at once that
	// something is happening; it is then updated in place.
	for _, p := range c.Places {
		posted, err := ra.poster.Post(ctx, p.Channel, p.ThreadTS, ra.message(rec, prefixIn(p.ThreadTS)))
		if err != nil {
			ra.log.Warn().Err(err).Str("channel", p.Channel).Int("pr", c.PR).Msg("posting the progress message failed")
			continue
		}
		rec.Messages = append(rec.Messages, store.MessageRef{Channel: posted.Channel, TS: posted.TS, ThreadTS: p.ThreadTS})
	}
	if len(rec.Messages) == 0 {
		return commands.Reply{}, commands.Userf("I couldn't post in this channel, so I built nothing; if I'm not a member, invite me with `/invite @Devy`, otherwise try again in a minute.")
	}

	h, err := ra.build(ctx, rec)
	if err != nil {
		rec.Status, rec.Message = store.ReviewErrored, failure(err)
		ra.redraw(ctx, rec)
		var ae *apierr.Error
		if !errors.As(err, &ae) {
			return commands.Reply{}, err // a bug: the asker gets a reference to the log
		}
		ra.log.Warn().Err(err).Int("pr", c.PR).Msg("creating the review app failed")
		if c.Slash {
			return commands.Say("I could not create the review app for #%d: %s", c.PR, rec.Message), nil
		}
		return commands.Reply{}, nil
	}
	rec.ID, rec.Status = h.ID, cmp.Or(h.Status, store.ReviewPending)
	saved, err := ra.store.CreateReviewApp(rec)
	if err != nil {
		// Heroku is building it whatever happens here; keep following.
		ra.log.Error().Err(err).Int("pr", c.PR).Str("review_app", h.ID).Msg("recording the review app failed")
	} else {
		rec = saved
	}
	ra.log.Info().Int("pr", c.PR).Str("review_app", h.ID).Str("user", c.User).Msg("review app requested")
	ra.bg.Work("a review app", func(ctx context.Context) { ra.follow(ctx, rec) })
	// The progress message, posted where the asker is, is the answer: a
	// private "creating…" beside it would only repeat it.
	return commands.Reply{}, nil
}

// build asks Heroku for the review app, from GitHub's tarball of the head
// commit.
func (ra *Apps) build(ctx context.Context, rec store.ReviewApp) (heroku.ReviewApp, error) {
	tarball, err := ra.github.TarballURL(ctx, rec.SHA)
	if err != nil {
		return heroku.ReviewApp{}, err
	}
	return ra.heroku.CreateReviewApp(ctx, rec.Pipeline, rec.Branch, rec.PR, tarball, rec.SHA)
}

// failure is Heroku's (or GitHub's) reason, in words for the message.
func failure(err error) string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		if ae.Message != "" && ae.StatusCode >= 400 && ae.StatusCode < 500 && ae.StatusCode != 401 && ae.StatusCode != 403 && ae.StatusCode != 429 {
			return ae.Service + " refused: " + ae.Message
		}
		return ae.UserMessage()
	}
	return "something went wrong; the details are in Devy's log"
}

// alreadyThere reports a review app that exists instead of making another.
func (ra *Apps) alreadyThere(ctx context.Context, h heroku.ReviewApp, pr github.PullRequest, prefix string) (commands.Reply, error) {
	rec := ra.known(ctx, h)
	link := format.Link(pr.URL, "#"+strconv.Itoa(pr.Number))
	var text string
	switch h.Status {
	case store.ReviewCreated:
		text = fmt.Sprintf("✅ %s already has a review app, created %s: %s. `%s %d destroy` removes it.", link, format.Ago(ra.store.Now(), h.CreatedAt), ra.appLink(rec), prefix, pr.Number)
	case store.ReviewErrored:
		text = fmt.Sprintf("❌ The review app for %s failed: %s. Run `%s %d destroy`, then `%s %d` to try again.", link, format.Escape(rec.Message), prefix, pr.Number, prefix, pr.Number)
	case store.ReviewDeleting:
		text = fmt.Sprintf("🗑 The review app for %s is being deleted; ask again in a minute.", link)
	default:
		text = fmt.Sprintf("⏳ A review app for %s is already being built (started %s); `%s %d status` shows where it stands.", link, format.Ago(ra.store.Now(), h.CreatedAt), prefix, pr.Number)
	}
	// Only the asker wants the answer: the review app's own message is
	// where the channel follows it, and asking twice must not post twice.
	return commands.Reply{Message: commands.Message{Text: text}, Ephemeral: true}, nil
}

// known is what Devy knows of a Heroku review app: its record when Devy
// made it (brought up to date, messages redrawn), otherwise a record made
// from Heroku's answer alone.
func (ra *Apps) known(ctx context.Context, h heroku.ReviewApp) store.ReviewApp {
	rec, err := ra.store.ReviewApp(h.PRNumber)
	if err != nil || rec.ID != h.ID {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			ra.log.Warn().Err(err).Int("pr", h.PRNumber).Msg("reading the review app's record failed")
		}
		rec = store.ReviewApp{PR: h.PRNumber, ID: h.ID, Branch: h.Branch, CreatedAt: h.CreatedAt}
	}
	ra.apply(ctx, &rec, h)
	return rec
}

// Resume follows again the review apps that were building when Devy
// stopped, so their messages still end in "Ready" or "Failed".
func (ra *Apps) Resume(ctx context.Context) error {
	recs, err := ra.store.ReviewAppsBuilding()
	if err != nil {
		return fmt.Errorf("resume review apps: %w", err)
	}
	for _, rec := range recs {
		ra.log.Info().Int("pr", rec.PR).Str("review_app", rec.ID).Msg("resuming review app")
		ra.bg.Work("a review app", func(ctx context.Context) { ra.follow(ctx, rec) })
	}
	return nil
}

// follow polls a building review app with back-off until it is created or
// errored, updating its messages when its state changes. After the time
// limit it says so and leaves the rest to `/reviewapp N status`.
func (ra *Apps) follow(ctx context.Context, rec store.ReviewApp) {
	poll := commands.Backoff{Next: ra.cfg.PollInterval, Max: ra.cfg.MaxPoll}
	deadline := ra.store.Now().Add(ra.cfg.Timeout)
	for {
		if !poll.Wait(ctx) {
			return // Devy is stopping; `status` brings the message up to date later
		}
		h, err := ra.heroku.ReviewApp(ctx, rec.ID)
		switch {
		case apierr.StatusCode(err) == 404:
			h = heroku.ReviewApp{ID: rec.ID, PRNumber: rec.PR, Status: store.ReviewDeleted}
			fallthrough
		case err == nil:
			if ra.apply(ctx, &rec, h) {
				return
			}
		case ctx.Err() == nil:
			ra.log.Warn().Err(err).Int("pr", rec.PR).Msg("reading the review app failed; will retry")
		}
		if now := ra.store.Now(); now.After(deadline) {
			rec.GaveUpAt = now
			ra.save(ctx, rec)
			return
		}
	}
}

// apply brings rec up to date with Heroku's view h, saving and redrawing it
// when something people see changed. It reports whether the review app has
// reached an end (ready, failed or deleted) Devy need not follow further.
func (ra *Apps) apply(ctx context.Context, rec *store.ReviewApp, h heroku.ReviewApp) bool {
	before := *rec
	rec.Status = h.Status
	final := true
	switch h.Status {
	case store.ReviewCreated:
		if rec.WebURL == "" && h.AppID != "" {
			app, err := ra.heroku.App(ctx, h.AppID)
			if err != nil {
				ra.log.Warn().Err(err).Int("pr", rec.PR).Msg("reading the review app's URL failed; will retry")
				final = false
				break
			}
			rec.AppName, rec.WebURL = app.Name, app.WebURL
		}
	case store.ReviewErrored:
		rec.Message = cmp.Or(h.Message, h.ErrorStatus, "Heroku gave no reason")
	case store.ReviewDeleting, store.ReviewDeleted:
	default:
		final = false
	}
	if rec.Status != before.Status || rec.WebURL != before.WebURL || rec.Message != before.Message {
		ra.save(ctx, *rec)
	}
	return final
}

// save stores a record Devy made and redraws its messages; a failure is
// logged, not fatal: the next status check catches up.
func (ra *Apps) save(ctx context.Context, rec store.ReviewApp) {
	if len(rec.Messages) == 0 {
		return // not one of Devy's
	}
	if _, err := ra.store.UpdateReviewApp(rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return // a newer review app of the PR owns the record now
		}
		ra.log.Warn().Err(err).Int("pr", rec.PR).Msg("recording the review app's state failed")
	}
	ra.recordDeployment(rec)
	ra.redraw(ctx, rec)
}

func (ra *Apps) redraw(ctx context.Context, rec store.ReviewApp) {
	for _, ref := range rec.Messages {
		if err := ra.poster.Update(ctx, ref.Channel, ref.TS, ra.message(rec, prefixIn(ref.ThreadTS))); err != nil {
			ra.log.Warn().Err(err).Int("pr", rec.PR).Str("channel", ref.Channel).Msg("updating the progress message failed")
		}
	}
}

// prefixIn is how people can ask Devy where a message is: slash commands
// don't work in threads.
func prefixIn(threadTS string) string {
	if threadTS != "" {
		return "@Devy reviewapp"
	}
	return "/reviewapp"
}

// message draws a review app as it stands, from its record alone; prefix is
// how readers of this copy of the message can ask Devy.
func (ra *Apps) message(rec store.ReviewApp, prefix string) commands.Message {
	link := ra.prLink(rec)
	var head string
	switch {
	case rec.Status == store.ReviewCreated:
		head = fmt.Sprintf("✅ Ready: %s — the review app of %s.", ra.appLink(rec), link)
	case rec.Status == store.ReviewErrored && rec.ID == "":
		head = fmt.Sprintf("❌ Failed: %s — no review app of %s was created; `%s %d` tries again.", format.Escape(rec.Message), link, prefix, rec.PR)
	case rec.Status == store.ReviewErrored:
		head = fmt.Sprintf("❌ Failed: %s — the review app of %s. Fix the branch, then `%s %d destroy` and `%s %d` to try again.", format.Escape(rec.Message), link, prefix, rec.PR, prefix, rec.PR)
	case rec.Status == store.ReviewDeleting || rec.Status == store.ReviewDeleted:
		head = fmt.Sprintf("🗑 The review app of %s was deleted.", link)
		if rec.DeletedBy != "" {
			head = fmt.Sprintf("🗑 The review app of %s was deleted by <@%s>.", link, rec.DeletedBy)
		}
	case rec.Status == store.ReviewCreating:
		head = fmt.Sprintf("⏳ Creating a review app for %s: Heroku is building it…", link)
	default:
		head = fmt.Sprintf("⏳ Creating a review app for %s…", link)
	}
	if !rec.GaveUpAt.IsZero() && (rec.Status == store.ReviewPending || rec.Status == store.ReviewCreating) {
		head += fmt.Sprintf("\nStill building after %s, so I stopped watching; `%s %d status` shows where it stands.",
			rec.GaveUpAt.Sub(rec.CreatedAt).Round(time.Second), prefix, rec.PR)
	}
	title := format.Link(rec.PRURL, "#"+strconv.Itoa(rec.PR))
	if rec.Title != "" {
		title = format.Link(rec.PRURL, "#"+strconv.Itoa(rec.PR)+" "+rec.Title)
	}
	fields := []string{"*Pull request*\n" + title, "*Author*\n" + ra.person(rec.AuthorLogin),
		fmt.Sprintf("*Branch*\n`%s` at %s", format.Escape(rec.Branch), ra.shaLink(rec.SHA)), "*CI*\n" + cmp.Or(rec.CI, "not checked")}
	blocks := []commands.Block{commands.Section{Text: head}, commands.Section{Fields: fields}}
	if rec.RequestedBy != "" {
		blocks = append(blocks, commands.Context{Texts: []string{fmt.Sprintf("Asked by <@%s> · `%s %d status` shows its state", rec.RequestedBy, prefix, rec.PR)}})
	}
	return commands.Message{Text: head, Blocks: blocks}
}

func (ra *Apps) prLink(rec store.ReviewApp) string {
	return format.Link(cmp.Or(rec.PRURL, ra.pullURL(rec.PR)), "#"+strconv.Itoa(rec.PR))
}

func (ra *Apps) pullURL(n int) string { return ra.github.WebURL() + "/pull/" + strconv.Itoa(n) }

// bareLink shows url as Slack's <url>, when format.Link would link it, else
// as escaped text.
func bareLink(url string) string {
	if l := format.Link(url, url); strings.HasPrefix(l, "<") {
		return "<" + format.Escape(url) + ">"
	}
	return format.Escape(url)
}

func (ra *Apps) appLink(rec store.ReviewApp) string {
	switch {
	case rec.WebURL != "" && rec.AppName != "":
		return fmt.Sprintf("%s (*%s*)", bareLink(rec.WebURL), format.Escape(rec.AppName))
	case rec.WebURL != "":
		return bareLink(rec.WebURL)
	}
	return "the app's URL is not known yet"
}

func (ra *Apps) shaLink(sha string) string { return format.Commit(sha, ra.github.CommitURL) }

// person names a GitHub user, as a Slack mention when DEVY_USER_MAP knows them.
func (ra *Apps) person(login string) string { return format.Person(ra.cfg.UserMap, login) }

// CI is what review apps need of Semaphore: the CI of a pull
// request's head, built as a branch or as a pull request.
type CI interface {
	CommitState(ctx context.Context, sha, branch string) (semaphore.State, semaphore.Pipeline, error)
	WorkflowURL(wfID string) string
	PullRequestState(ctx context.Context, pr int) (semaphore.State, semaphore.Pipeline, error)
}

func (ra *Apps) ciOf(ctx context.Context, pr github.PullRequest) string {
	if ra.ci == nil {
		return "not configured"
	}
	st, p, err := ra.ci.CommitState(ctx, pr.HeadSHA, pr.HeadRef)
	if err == nil && st == semaphore.None {
		// A project that builds pull requests rather than branches runs
		// them on branch "pull-request-N", on GitHub's merge commit: the
		// newest such run is the pull request's CI.
		st, p, err = ra.ci.PullRequestState(ctx, pr.Number)
	}
	c := format.CI{State: st, Err: err}
	if p.WorkflowID != "" {
		c.URL = ra.ci.WorkflowURL(p.WorkflowID)
	}
	if err != nil {
		ra.log.Warn().Err(err).Int("pr", pr.Number).Msg("reading CI of the PR's head failed")
	}
	return c.String()
}

// lookup finds the pipeline's review app of pull request n, or nil.
func (ra *Apps) lookup(ctx context.Context, n int) (*heroku.ReviewApp, error) {
	pipelineID, err := ra.pipelineID(ctx)
	if err != nil {
		return nil, err
	}
	return ra.existing(ctx, pipelineID, n)
}

// status answers `/reviewapp N status`, bringing Devy's messages up to date
// on the way.
func (ra *Apps) status(ctx context.Context, req commands.Request, n int) (commands.Reply, error) {
	h, err := ra.lookup(ctx, n)
	if err != nil {
		return commands.Reply{}, err
	}
	if h == nil {
		return commands.Reply{}, commands.Userf("Pull request <%s|#%d> has no review app; `%s %d` creates one.", ra.pullURL(n), n, prefixOf(req), n)
	}
	rec := ra.known(ctx, *h)
	m := ra.message(rec, prefixOf(req))
	m.Blocks = append(m.Blocks, commands.Context{Texts: []string{fmt.Sprintf("Status: %s · created %s", statusWord(h.Status), format.Ago(ra.store.Now(), h.CreatedAt))}})
	return commands.Reply{Message: m, Ephemeral: true}, nil
}

// destroy answers `/reviewapp N destroy`: who asked for it, the PR's author
// or an admin may.
func (ra *Apps) destroy(ctx context.Context, req commands.Request, n int) (commands.Reply, error) {
	h, err := ra.lookup(ctx, n)
	if err != nil {
		return commands.Reply{}, err
	}
	if h == nil {
		return commands.Reply{}, commands.Userf("Pull request <%s|#%d> has no review app to destroy; `%s list` shows the ones there are.", ra.pullURL(n), n, prefixOf(req))
	}
	if h.Status == store.ReviewDeleting {
		return commands.Reply{}, commands.Userf("The review app of <%s|#%d> is already being deleted.", ra.pullURL(n), n)
	}
	rec, err := ra.store.ReviewApp(n)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return commands.Reply{}, err
	}
	if rec.ID != h.ID {
		rec = store.ReviewApp{PR: n, ID: h.ID, Branch: h.Branch}
	}
	if err := ra.mayDestroy(ctx, req.UserID, &rec); err != nil {
		return commands.Reply{}, err
	}
	if err := ra.heroku.DeleteReviewApp(ctx, h.ID); err != nil {
		return commands.Reply{}, err
	}
	deleted, err := ra.store.DeleteReviewApp(n, h.ID, req.UserID)
	if err != nil {
		ra.log.Error().Err(err).Int("pr", n).Msg("recording the deletion failed")
	} else if deleted != nil {
		ra.redraw(ctx, *deleted)
	}
	ra.recordDeployment(store.ReviewApp{PR: n, ID: h.ID, Status: store.ReviewDeleted})
	ra.log.Info().Int("pr", n).Str("review_app", h.ID).Str("user", req.UserID).Msg("review app destroyed")
	if deleted != nil && shownAt(deleted.Messages, req.ChannelID, req.ThreadTS) {
		// Its message here now says who deleted it: one message, not two.
		return commands.Reply{}, nil
	}
	name := ""
	if rec.AppName != "" {
		name = " (" + rec.AppName + ")"
	}
	return commands.Reply{Message: commands.Message{Text: fmt.Sprintf("🗑 <@%s> destroyed the review app of <%s|#%d>%s.", req.UserID, ra.pullURL(n), n, name)}}, nil
}

// shownAt says whether one of msgs sits in channel, in thread ("" for the
// channel's top level).
func shownAt(msgs []store.MessageRef, channel, thread string) bool {
	return slices.ContainsFunc(msgs, func(m store.MessageRef) bool { return m.Channel == channel && m.ThreadTS == thread })
}

// mayDestroy lets through who asked for the review app, the PR's author and
// admins, and tells anyone else who can.
func (ra *Apps) mayDestroy(ctx context.Context, user string, rec *store.ReviewApp) error {
	if user != "" && (user == rec.RequestedBy || slices.Contains(ra.cfg.Admins, user)) {
		return nil
	}
	author := rec.AuthorLogin
	if pr, err := ra.github.PullRequest(ctx, rec.PR); err == nil {
		author = pr.AuthorLogin
	} else if apierr.StatusCode(err) != 404 && author == "" {
		return fmt.Errorf("check who wrote PR #%d: %w", rec.PR, err)
	}
	if author != "" && ra.cfg.UserMap[strings.ToLower(author)] == user {
		return nil
	}
	var who []string
	if rec.RequestedBy != "" {
		who = append(who, fmt.Sprintf("<@%s> (who asked for it)", rec.RequestedBy))
	}
	if author != "" {
		who = append(who, ra.person(author)+" (the PR's author)")
	}
	if len(ra.cfg.Admins) > 0 {
		who = append(who, "a Devy admin")
	}
	if len(who) == 0 {
		// Nobody is known to have asked for it: a review app made outside
		// Devy, of a pull request GitHub no longer knows.
		return commands.Userf("I don't know who asked for the review app of #%d and no Devy admins are set (DEVY_ADMINS), so I won't destroy it; delete it in Heroku's dashboard instead.", rec.PR)
	}
	return commands.Userf("Only %s can destroy the review app of #%d; ask one of them.", joinOr(who), rec.PR)
}

func joinOr(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// list answers `/reviewapp list`.
func (ra *Apps) list(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	if len(args) > 0 {
		return commands.Reply{}, commands.Userf("`%s list` takes no arguments; type `%s list`.", prefixOf(req), prefixOf(req))
	}
	pipelineID, err := ra.pipelineID(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	all, err := ra.heroku.ReviewApps(ctx, pipelineID)
	if err != nil {
		return commands.Reply{}, err
	}
	var apps []heroku.ReviewApp
	for _, h := range all {
		if h.Status != store.ReviewDeleted {
			apps = append(apps, h)
		}
	}
	if len(apps) == 0 {
		return commands.Say("There are no review apps right now; `%s 123` creates one for pull request 123.", prefixOf(req)), nil
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].PRNumber < apps[j].PRNumber })
	const shown = 25 // each one may cost an API call for its URL
	now := ra.store.Now()
	var lines []string
	for i, h := range apps {
		if i == shown {
			lines = append(lines, fmt.Sprintf("…and %d more.", len(apps)-shown))
			break
		}
		lines = append(lines, ra.listLine(ctx, h, now))
	}
	return commands.Reply{Message: commands.Message{Text: fmt.Sprintf("%d review app%s", len(apps), format.Plural(len(apps))), Blocks: []commands.Block{
		commands.Header{Text: fmt.Sprintf("Review apps (%d)", len(apps))},
		commands.Section{Text: strings.Join(lines, "\n")},
	}}, Ephemeral: true}, nil
}

func (ra *Apps) listLine(ctx context.Context, h heroku.ReviewApp, now time.Time) string {
	icon := map[string]string{store.ReviewCreated: "✅", store.ReviewErrored: "❌", store.ReviewDeleting: "🗑"}[h.Status]
	if icon == "" {
		icon = "⏳"
	}
	pr := "no PR"
	if h.PRNumber > 0 {
		pr = format.Link(ra.pullURL(h.PRNumber), "#"+strconv.Itoa(h.PRNumber))
		if rec, err := ra.store.ReviewApp(h.PRNumber); err == nil && rec.ID == h.ID && rec.Title != "" {
			pr += " " + format.Escape(rec.Title)
		}
	}
	url := ""
	if h.Status == store.ReviewCreated && h.AppID != "" {
		if app, err := ra.heroku.App(ctx, h.AppID); err == nil {
			url = " · " + format.Link(app.WebURL, app.Name)
		} else {
			url = " · URL unknown (" + format.Failure(err) + ")"
		}
	}
	return fmt.Sprintf("%s %s · `%s` · %s · %s%s", icon, pr, format.Escape(h.Branch), statusWord(h.Status), format.Ago(now, h.CreatedAt), url)
}

// statusWord is a Heroku review-app status in the words people use:
// Heroku's "created" means ready and "errored" failed.
func statusWord(status string) string {
	switch status {
	case store.ReviewPending, store.ReviewCreating:
		return "building"
	case store.ReviewCreated:
		return "ready"
	case store.ReviewErrored:
		return "failed"
	case store.ReviewDeleting:
		return "deleting"
	case store.ReviewDeleted:
		return "deleted"
	}
	return format.Escape(status)
}
