package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/commands/deploy/diff"
	"github.com/devy-chatops/devy/commands/deploy/pipeline"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/integrations/semaphore"
	"github.com/devy-chatops/devy/store"
)

func (d *Desk) promote(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	skipReason, err := parseSkipCI(args)
	if err != nil {
		return commands.Reply{}, err
	}
	if skipReason != "" && !d.isAdmin(req.UserID) {
		if len(d.cfg.Admins) == 0 {
			return commands.Reply{}, commands.Userf("Only Devy admins can skip the CI check, and none are configured: set DEVY_ADMINS to their Slack user ids, or wait for CI to pass.")
		}
		return commands.Reply{}, commands.Userf("Only Devy admins can skip the CI check; ask one, or wait for CI to pass.")
	}
	if !d.inDeployChannel(ctx, req) {
		return commands.Reply{}, commands.Userf("`/deploy promote` works only in %s, so the whole team sees what ships; run it there.", d.channelRef())
	}
	pipelineID, err := d.pipelineKey(ctx)
	if err != nil {
		return commands.Reply{}, err
	}
	// Cheap gates first: they need no API call.
	lock, err := d.store.Lock(pipelineID)
	if err != nil {
		return commands.Reply{}, err
	}
	if lock != nil && (lock.Holder != req.UserID || lock.RequestID != 0) {
		return commands.Reply{}, commands.Userf("%s Nothing was requested; ask them, or try again after the lock ends.", describe.Lock(*lock))
	}
	if r, err := d.store.OpenRequest(pipelineID); err != nil {
		return commands.Reply{}, err
	} else if r != nil {
		return commands.Reply{}, commands.Userf("%s Approve, reject or cancel it before asking again.", describe.Open(*r, d.store.Now()))
	}

	// Every app's config var names need only the pipeline's apps: they are
	// read while the releases are.
	var rd requestReads
	s, stagingCI, err := d.pipe.SnapshotCI(ctx, func(ctx context.Context, pl heroku.Pipeline) {
		rd.vars, rd.varsErr = d.configVarNames(ctx, pl)
	})
	if err != nil {
		return commands.Reply{}, err
	}
	d.noticeRelease(s)
	st := s.Staging.Release
	var behind []pipeline.AppRelease
	for _, p := range s.Production {
		if !pipeline.SameCode(st, p.Release) {
			behind = append(behind, p)
		}
	}
	if len(behind) == 0 {
		return commands.Reply{}, commands.Userf("Nothing to promote: staging and production both run %s (staging v%d).", d.shaLink(st.Commit), st.Version)
	}
	base := s.Production[0].Release.Commit
	d.readForRequest(ctx, &rd, stagingCI, base, st.Commit)
	ci := rd.ci
	if ci.Err != nil && skipReason == "" {
		return commands.Reply{}, ci.Err
	}
	if d.ci != nil && ci.State != semaphore.Passed && skipReason == "" {
		return commands.Reply{}, commands.Userf("CI has not passed for staging's %s (%s), so I won't ask for a promotion; wait for a green build, or an admin can run `/deploy promote --skip-ci <reason>`.", format.Short(st.Commit), ci.String())
	}

	r := store.PromotionRequest{
		Pipeline: s.Pipeline.ID, RequestedBy: req.UserID, ExpiresAt: d.store.Now().Add(d.cfg.TTL),
		Channel: req.ChannelID, StagingAppID: s.Staging.App.ID, StagingAppName: s.Staging.App.Name,
		ReleaseID: st.ID, ReleaseVersion: st.Version, SlugID: st.SlugID, SHA: st.Commit, BaseSHA: base,
		CIState: string(ci.State), SkipCIReason: skipReason,
	}
	for _, p := range s.Production {
		r.Targets = append(r.Targets, store.Target{AppID: p.App.ID, AppName: p.App.Name, FromVersion: p.Release.Version, FromSHA: p.Release.Commit, FromSlugID: p.Release.SlugID})
	}
	r.CIURL = ci.URL
	if r.Diff, err = d.diff(ctx, s, &r, rd); err != nil {
		return commands.Reply{}, err
	}
	if lock == nil {
		r.Diff = append(r.Diff, "*Lock*: 🔓 production is not locked.")
	} else {
		r.Diff = append(r.Diff, "*Lock*: 🔒 held by the requester ("+describe.Lock(*lock)+"); it stays theirs after the promotion.")
	}

	r, err = d.store.CreateRequest(r)
	var pe *store.PendingError
	var le *store.LockedError
	switch {
	case errors.As(err, &pe):
		return commands.Reply{}, commands.Userf("%s Approve, reject or cancel it before asking again.", describe.Open(pe.Request, d.store.Now()))
	case errors.As(err, &le):
		return commands.Reply{}, commands.Userf("%s Nothing was requested.", describe.Lock(le.Lock))
	case err != nil:
		return commands.Reply{}, err
	}
	posted, err := d.poster.Post(ctx, req.ChannelID, "", d.requestMessage(r))
	if err != nil {
		// Without a message nobody can approve it: withdraw it at once.
		if _, cerr := d.store.CloseRequest(r.ID, store.StatusCancelled, "devy", "the request message could not be posted"); cerr != nil {
			d.log.Error().Err(cerr).Uint64("request", r.ID).Msg("withdrawing unposted request failed")
		}
		return commands.Reply{}, fmt.Errorf("post request %d: %w", r.ID, err)
	}
	if err := d.store.SetMessage(r.ID, posted.Channel, posted.TS); err != nil {
		return commands.Reply{}, err
	}
	// Scheduled once the message is known, so that the expiry's notice has
	// a message to redraw and a thread to answer in.
	d.scheduleExpiry(r)
	// The message is live as soon as Slack has it: a click can decide the
	// request before its ts is recorded, and that decision could not redraw
	// it. Draw where the request is now if it moved on meanwhile.
	if cur, err := d.store.Request(r.ID); err == nil && cur.Status != store.StatusPending {
		d.redraw(ctx, cur)
	}
	return commands.Reply{}, nil
}

func parseSkipCI(args []string) (string, error) {
	if len(args) == 0 {
		return "", nil
	}
	if args[0] != "--skip-ci" {
		return "", commands.Userf("`/deploy promote` takes no arguments except `--skip-ci <reason>` (admins only); type `/deploy promote`.")
	}
	reason := strings.Join(args[1:], " ")
	if reason == "" {
		return "", commands.Userf("Say why CI is skipped: `/deploy promote --skip-ci <reason>`.")
	}
	return reason, nil
}

// requestReads is what a request needs besides the snapshot: CI, the
// comparison and every app's config var names.
type requestReads struct {
	ci      format.CI
	cmp     github.Comparison
	cmpErr  error
	vars    map[string][]string // app id → config var names
	varsErr error
}

// readForRequest reads CI (unless it started early) and the comparison
// (when it can be made) side by side: each needs only the snapshot.
func (d *Desk) readForRequest(ctx context.Context, rd *requestReads, ci func() format.CI, base, head string) {
	var g errgroup.Group
	g.Go(func() error {
		rd.ci = ci()
		return nil
	})
	if d.github != nil && base != "" && head != "" {
		g.Go(func() error {
			rd.cmp, rd.cmpErr = d.pipe.Compare(ctx, base, head)
			return nil
		})
	}
	_ = g.Wait()
}

// configVarNames reads the config var names of pl's staging app and every
// production app, side by side, by app id.
func (d *Desk) configVarNames(ctx context.Context, pl heroku.Pipeline) (map[string][]string, error) {
	apps := []string{pl.Staging[0].ID}
	for _, p := range pl.Production {
		apps = append(apps, p.ID)
	}
	vars := make([][]string, len(apps))
	var g errgroup.Group
	for i, app := range apps {
		g.Go(func() (err error) {
			vars[i], err = d.heroku.ConfigVarNames(ctx, app)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for i, app := range apps {
		out[app] = vars[i]
	}
	return out, nil
}

// diff describes what the promotion ships: commits, files and risks.
func (d *Desk) diff(ctx context.Context, s pipeline.Snapshot, r *store.PromotionRequest, rd requestReads) ([]string, error) {
	var out []string
	var files []github.File
	switch {
	case d.github == nil:
		out = append(out, "_GitHub is not configured, so I can't list the commits; check the releases on Heroku before approving._")
	case r.BaseSHA == "" || r.SHA == "":
		out = append(out, "_Heroku does not know the commit of one of the releases, so I can't list the commits; check the releases on Heroku before approving._")
	default:
		cmp := rd.cmp
		if rd.cmpErr != nil {
			return nil, rd.cmpErr
		}
		r.CompareURL = cmp.URL
		r.CommitCount = cmp.TotalCommits
		if r.CommitCount == 0 {
			r.CommitCount = len(cmp.Commits)
		}
		files = cmp.Files
		r.Commits = d.owners.Commits(ctx, cmp.Commits)
		text, authors := diff.Commits(cmp, r.CommitCount, d.shaLink, d.github.PullURL)
		r.Authors = authors
		out = append(out, text)
		if cmp.Status == "behind" || cmp.Status == "diverged" {
			out = append(out, fmt.Sprintf("⚠️ Staging is *%s* production (%d behind): promoting would take commits *out* of production.", cmp.Status, cmp.BehindBy))
		}
		if len(files) > 0 {
			out = append(out, diff.Files(files))
		}
	}
	if rd.varsErr != nil {
		return nil, rd.varsErr
	}
	risks := diff.Risks(s, files, rd.vars)
	if len(risks) > 0 {
		out = append(out, "*Risks*\n• "+strings.Join(risks, "\n• "))
	} else {
		out = append(out, "*Risks*: none spotted (no migrations, Procfile or app.json changes, no missing config vars).")
	}
	return out, nil
}

// timeNow exists so that the promotion deadline can use the store's clock.
func (d *Desk) timeNow() time.Time { return d.store.Now() }
