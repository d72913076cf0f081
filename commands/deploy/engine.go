package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/store"
)

// This file is the promotion engine: from an approval to the end of the
// promotion, across restarts. carryOut calls Heroku once, follow polls the
// targets, settle decides from production's releases when Heroku's answer
// was lost, finish records the outcome; Resume, adopt and keepLease let
// exactly one process at a time follow each promotion.

// promoteCallTimeout bounds the promotion call itself.
const promoteCallTimeout = 30 * time.Second

// carryOut promotes an approved request and follows it to the end. The request is
// already "promoting" in the store (the intent is recorded before the call),
// so a crash from here on never leads to a second promotion: on restart,
// Resume follows it or settles it from what production runs.
func (d *Desk) carryOut(ctx context.Context, r store.PromotionRequest) {
	var targets []string
	for _, t := range r.Targets {
		targets = append(targets, t.AppID)
	}
	// The call is not cut off by a shutdown: Heroku's answer (the
	// promotion's id) is what lets the next start follow it rather than
	// guess from production's releases.
	call, cancel := context.WithTimeout(context.WithoutCancel(ctx), promoteCallTimeout)
	p, err := d.heroku.Promote(call, r.Pipeline, r.StagingAppID, r.ReleaseID, targets)
	cancel()
	d.deploymentStarted(r)
	if err != nil {
		code := apierr.StatusCode(err)
		if code >= 400 && code < 500 {
			// Heroku answered and refused: nothing was promoted.
			var ae *apierr.Error
			msg := err.Error()
			if errors.As(err, &ae) && ae.Message != "" {
				msg = ae.Message
			}
			d.finish(ctx, r, store.StatusFailed, r.Targets, "Heroku refused the promotion: "+format.Escape(msg))
			return
		}
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("promotion call did not return; settling from production's releases")
		// An error Heroku sent means it did not take the call; with no
		// answer at all it may have, so production is watched a while.
		wait := d.cfg.SettleWithin
		if code >= 500 {
			wait = 0
		}
		d.settle(ctx, r, "Heroku did not confirm the promotion call", wait)
		return
	}
	if err := d.store.StartPromotion(r.ID, p.ID); err != nil {
		d.log.Error().Err(err).Uint64("request", r.ID).Str("promotion", p.ID).Msg("recording the promotion id failed")
	}
	r.PromotionID = p.ID
	d.follow(ctx, r)
}

// follow polls the promotion's targets with back-off until each succeeded or
// failed, redrawing the message when something changes.
func (d *Desk) follow(ctx context.Context, r store.PromotionRequest) {
	poll := commands.Backoff{Next: d.cfg.PollInterval, Max: d.cfg.MaxPoll}
	deadline := r.DecidedAt.Add(d.cfg.PromotionTimeout)
	for {
		ts, err := d.heroku.PromotionTargets(ctx, r.PromotionID)
		if err == nil {
			targets, changed, done := mergeTargets(r.Targets, ts)
			if changed {
				r.Targets = targets
				if err := d.store.SetTargets(r.ID, targets); err != nil {
					d.log.Warn().Err(err).Uint64("request", r.ID).Msg("recording target states failed")
				}
				d.redraw(ctx, r)
			}
			if done {
				status := store.StatusSucceeded
				for _, t := range targets {
					if t.Status != "succeeded" {
						status = store.StatusFailed
					}
				}
				d.finish(ctx, r, status, targets, "")
				return
			}
		} else if ctx.Err() == nil {
			d.log.Warn().Err(err).Uint64("request", r.ID).Msg("reading promotion targets failed; will retry")
		}
		if d.timeNow().After(deadline) {
			d.finish(ctx, r, store.StatusUnknown, r.Targets, fmt.Sprintf("Heroku still reported the promotion as pending after %s; check the apps on Heroku.", d.cfg.PromotionTimeout))
			return
		}
		if !poll.Wait(ctx) {
			return // Devy is stopping; Resume picks this up at the next start.
		}
	}
}

func mergeTargets(known []store.Target, got []heroku.PromotionTarget) (out []store.Target, changed, done bool) {
	out = append([]store.Target(nil), known...)
	done = len(got) > 0
	for _, g := range got {
		if g.Status == "pending" || g.Status == "" {
			done = false
		}
		for i := range out {
			if out[i].AppID != g.AppID {
				continue
			}
			before := out[i].Status
			if before == "" {
				before = "pending" // never heard of is the same as pending
			}
			if before != g.Status || out[i].Error != g.ErrorMessage || out[i].ReleaseID != g.ReleaseID {
				out[i].Status, out[i].Error, out[i].ReleaseID = g.Status, g.ErrorMessage, g.ReleaseID
				changed = true
			}
		}
	}
	return out, changed, done
}

// settle decides the outcome of a promotion whose Heroku id is unknown (the
// call's answer was lost, or Devy stopped before recording it) by looking at
// what production runs. It never promotes again.
func (d *Desk) settle(ctx context.Context, r store.PromotionRequest, why string, within time.Duration) {
	deadline := d.timeNow().Add(within)
	wait := d.cfg.PollInterval
	for {
		targets := append([]store.Target(nil), r.Targets...)
		all := true
		var behind []string
		for i, t := range targets {
			rel, err := d.heroku.CurrentRelease(ctx, t.AppID)
			if err != nil {
				if ctx.Err() != nil {
					return // still promoting: the next start settles it
				}
				all = false
				behind = append(behind, t.AppName+" (could not be read)")
				continue
			}
			if rel.SlugID != "" && rel.SlugID == r.SlugID {
				targets[i].Status, targets[i].ReleaseID = "succeeded", rel.ID
			} else {
				all = false
				behind = append(behind, fmt.Sprintf("%s (still v%d)", t.AppName, rel.Version))
			}
		}
		if all {
			d.finish(ctx, r, store.StatusSucceeded, targets, why+"; production's current releases show the reviewed build.")
			return
		}
		if !d.timeNow().Add(wait).Before(deadline) {
			d.finish(ctx, r, store.StatusUnknown, targets, fmt.Sprintf("%s, and production does not run the reviewed build: %s. I did not promote again; check Heroku, then `/deploy promote` if it is still needed.", why, strings.Join(behind, ", ")))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, d.cfg.MaxPoll)
	}
}

// finish records the outcome with its reports (redraw, thread reply,
// incident timelines) as effects in the same transaction, then asks the
// outbox to carry them out.
func (d *Desk) finish(ctx context.Context, r store.PromotionRequest, status string, targets []store.Target, note string) {
	d.pipe.Forget()
	if _, err := d.store.FinishPromotion(r.ID, status, targets, note, append(effects(r.ID, EffectRedraw, EffectReport, EffectFinished), d.deploymentEffects(r.ID, EffectDeploymentFinished)...)...); err != nil {
		d.log.Error().Err(err).Uint64("request", r.ID).Msg("recording the promotion outcome failed")
		return
	}
	d.log.Info().Uint64("request", r.ID).Str("outcome", status).Msg("promotion finished")
	d.outbox.Flush(d.bg, "a promotion's report")
}

// Resume finds promotions nobody follows — left running when Devy stopped,
// or by another Devy process that died — and sees each through: following
// it when Heroku's id is known, otherwise settling it from production's
// releases without promoting again. It then keeps looking, every
// TakeoverEvery, until ctx ends.
func (d *Desk) Resume(ctx context.Context) error {
	d.bg.Go(d.Warm)
	if err := d.adoptOrphans(); err != nil {
		return fmt.Errorf("resume promotions: %w", err)
	}
	if err := d.scheduleExpiries(); err != nil {
		return fmt.Errorf("schedule the expiry of pending requests: %w", err)
	}
	if d.ownOutbox {
		d.outbox.Start(d.bg)
	}
	d.outbox.Kick()
	d.bg.Go(func(ctx context.Context) {
		t := time.NewTicker(d.cfg.TakeoverEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := d.adoptOrphans(); err != nil {
				d.log.Warn().Err(err).Msg("looking for promotions to take over failed; will retry")
			}
		}
	})
	return nil
}

func (d *Desk) adoptOrphans() error {
	rs, err := d.store.OrphanedPromotions(d.cfg.LeaseTTL)
	if err != nil {
		return err
	}
	for _, r := range rs {
		d.adopt(r, false, d.resume)
	}
	return nil
}

// resume sees through a promotion this process took over.
func (d *Desk) resume(ctx context.Context, r store.PromotionRequest) {
	// Re-read it: its previous follower may have recorded more since the
	// list was made.
	if cur, err := d.store.Request(r.ID); err == nil {
		r = cur
	}
	if r.Status != store.StatusPromoting {
		return
	}
	d.log.Info().Uint64("request", r.ID).Str("promotion", r.PromotionID).Msg("resuming promotion")
	if r.PromotionID != "" {
		d.follow(ctx, r)
		return
	}
	d.settle(ctx, r, "Devy restarted before Heroku confirmed the promotion call", d.cfg.SettleWithin)
}

// adopt claims the lease on promotion r and, if this process got it, runs
// work (promote, follow or settle) in the background, renewing the lease
// as it goes; work's context ends if another process takes the promotion
// over. approved says this process's Approve just won: then work runs even
// if the lease cannot be recorded, since only the approver ever calls
// Heroku's promotion and a lease is about following once, not about safety.
func (d *Desk) adopt(r store.PromotionRequest, approved bool, work func(context.Context, store.PromotionRequest)) {
	d.followMu.Lock()
	if d.following[r.ID] {
		d.followMu.Unlock()
		return
	}
	d.following[r.ID] = true
	d.followMu.Unlock()
	done := func() {
		d.followMu.Lock()
		delete(d.following, r.ID)
		d.followMu.Unlock()
	}
	ok, err := d.store.ClaimPromotion(r.ID, d.cfg.Follower, d.cfg.LeaseTTL)
	switch {
	case err != nil && !approved:
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("claiming a promotion to take over failed; will retry")
		done()
		return
	case err != nil:
		d.log.Warn().Err(err).Uint64("request", r.ID).Msg("recording this process as the promotion's follower failed; following anyway")
	case !ok:
		d.log.Info().Uint64("request", r.ID).Msg("another Devy process follows this promotion")
		done()
		return
	}
	d.bg.Work("a promotion", func(ctx context.Context) {
		defer done()
		ctx, cancel := context.WithCancel(ctx)
		renewing := make(chan struct{})
		go func() {
			defer close(renewing)
			d.keepLease(ctx, cancel, r.ID)
		}()
		work(ctx, r)
		cancel()
		<-renewing
		// Devy is stopping (or the promotion ended, which already ended
		// the lease): let another process take over at once.
		if err := d.store.ReleasePromotion(r.ID, d.cfg.Follower); err != nil {
			d.log.Warn().Err(err).Uint64("request", r.ID).Msg("releasing the promotion's lease failed; it expires by itself")
		}
	})
}

// keepLease renews the lease on request id every third of its length until
// ctx ends; if another process took the promotion over, it calls lost.
func (d *Desk) keepLease(ctx context.Context, lost context.CancelFunc, id uint64) {
	t := time.NewTicker(d.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := d.store.ClaimPromotion(id, d.cfg.Follower, d.cfg.LeaseTTL)
		if err != nil {
			d.log.Warn().Err(err).Uint64("request", id).Msg("renewing the promotion's lease failed; will retry")
			continue
		}
		if ok {
			continue
		}
		if r, err := d.store.Request(id); err == nil && r.Status != store.StatusPromoting {
			return // it ended; the work is finishing
		}
		d.log.Warn().Uint64("request", id).Msg("another Devy process took over following this promotion; stopping here")
		lost()
		return
	}
}
