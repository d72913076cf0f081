package app

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/reviewapp"
	"github.com/devy-chatops/devy/config"
)

// addReviewApps registers /reviewapp, or a stand-in that says what is
// missing when Heroku or GitHub is not configured. poll is the first wait
// between checks of a building review app; it doubles up to 30 polls' worth.
func addReviewApps(router *commands.Router, cfg config.Config, log zerolog.Logger, db state, poster commands.Poster, dir commands.Directory, bg *commands.Background, svc services, poll time.Duration, outbox *commands.Outbox) {
	if svc.heroku == nil || svc.github == nil {
		router.Add(reviewapp.Unconfigured())
		return
	}
	deps := reviewapp.Deps{
		Config: reviewapp.Config{
			Pipeline: cfg.HerokuPipeline, Admins: cfg.Admins, UserMap: cfg.UserMap,
			PollInterval: poll, MaxPoll: 30 * poll, Timeout: 20 * time.Minute,
		},
		Heroku: svc.heroku, GitHub: svc.github, Store: db, Poster: poster, Directory: dir, Bg: bg, Log: log,
		Deployments: svc.github, DeploymentStore: db, Outbox: outbox,
	}
	if svc.ci != nil {
		deps.CI = svc.ci
	}
	ra := reviewapp.New(deps)
	ra.Register(router)
	bg.Go(func(ctx context.Context) {
		if err := ra.Resume(ctx); err != nil {
			log.Error().Err(err).Msg("resuming review apps failed")
		}
	})
}
