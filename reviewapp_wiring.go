package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/integrations/semaphore"
)

// addReviewApps registers /reviewapp, or a stand-in that says what is
// missing when Heroku or GitHub is not configured. poll is the first wait
// between checks of a building review app; it doubles up to 30 polls' worth.
func addReviewApps(router *commands.Router, cfg config.Config, log zerolog.Logger, db commands.ReviewStore, poster commands.Poster, dir commands.Directory, bg *commands.Background, hc *http.Client, poll time.Duration) error {
	if !cfg.HerokuConfigured() || !cfg.GitHubConfigured() {
		router.Add(commands.UnconfiguredReviewApp())
		return nil
	}
	gh, err := github.New(cfg.GitHubAPIURL, cfg.GitHubToken.Value(), cfg.GitHubRepository, hc)
	if err != nil {
		return fmt.Errorf("GITHUB_API_URL/GITHUB_REPOSITORY: %w", err)
	}
	deps := commands.ReviewAppDeps{
		Config: commands.ReviewAppConfig{
			Pipeline: cfg.HerokuPipeline, Admins: cfg.Admins, UserMap: cfg.UserMap,
			PollInterval: poll, MaxPoll: 30 * poll, Timeout: 20 * time.Minute,
		},
		Heroku: heroku.New(cfg.HerokuAPIURL, cfg.HerokuToken.Value(), hc),
		GitHub: gh, Store: db, Poster: poster, Directory: dir, Bg: bg, Log: log,
	}
	if cfg.SemaphoreConfigured() {
		ci, err := semaphore.New(cfg.SemaphoreURL, cfg.SemaphoreToken.Value(), cfg.SemaphoreProjectID, hc)
		if err != nil {
			return fmt.Errorf("SEMAPHORE_URL: %w", err)
		}
		deps.CI = ci
	}
	ra := commands.NewReviewApps(deps)
	ra.Register(router)
	bg.Go(func(ctx context.Context) {
		if err := ra.Resume(ctx); err != nil {
			log.Error().Err(err).Msg("resuming review apps failed")
		}
	})
	return nil
}
