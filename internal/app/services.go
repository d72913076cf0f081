package app

import (
	"fmt"
	"net/http"

	"github.com/devy-chatops/devy/bot"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/integrations/semaphore"
)

// services are the clients of Heroku, GitHub and Semaphore, built once so
// that every command shares their caches (slug commits, for one) and
// connections. A field is nil when its service is not configured; wiring
// assigns it to an interface only when it is not, never as a typed nil.
type services struct {
	heroku *heroku.Client
	github *github.Client
	ci     *semaphore.Client
	// users finds commit authors in Slack by e-mail; nil in the shell,
	// whose people are named by DEVY_USER_MAP only.
	users *bot.Users
}

func newServices(cfg config.Config, hc *http.Client) (services, error) {
	var s services
	if cfg.HerokuConfigured() {
		s.heroku = heroku.New(cfg.HerokuAPIURL, cfg.HerokuToken.Value(), hc)
	}
	if cfg.GitHubConfigured() {
		gh, err := github.New(cfg.GitHubAPIURL, cfg.GitHubToken.Value(), cfg.GitHubRepository, hc)
		if err != nil {
			return s, fmt.Errorf("GITHUB_API_URL/GITHUB_REPOSITORY: %w", err)
		}
		s.github = gh
	}
	if cfg.SemaphoreConfigured() {
		ci, err := semaphore.New(cfg.SemaphoreURL, cfg.SemaphoreToken.Value(), cfg.SemaphoreProjectID, hc)
		if err != nil {
			return s, fmt.Errorf("SEMAPHORE_URL: %w", err)
		}
		s.ci = ci
	}
	return s, nil
}
