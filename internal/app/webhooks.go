package app

import (
	"context"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/commands/notify"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/webhooks"
)

// buildNotifications makes the notifications from the configuration.
// Channels are given as chat.postMessage takes them: an id, or "#name" in
// Slack; the shell's channels are plain names.
func buildNotifications(cfg config.Config, log zerolog.Logger, db notify.Store, poster commands.Poster, desk *deploy.Desk, svc services, shellChannels bool) *notify.Notifier {
	channel := func(c string) string {
		if shellChannels || format.IsChannelID(c) {
			return c
		}
		return "#" + c
	}
	deps := notify.Deps{
		Config: notify.Config{PRChannel: channel(cfg.PRChannel), DeployChannel: channel(cfg.DeployChannel), UserMap: cfg.UserMap},
		Poster: poster, Store: db, Log: log,
	}
	// Interfaces stay nil, never typed nils, when a service is not configured.
	if desk != nil {
		deps.Pipeline = desk
		deps.Verifier = desk
	}
	if svc.heroku != nil {
		deps.Heroku = svc.heroku
	}
	if svc.github != nil {
		deps.GitHub = svc.github
	}
	if svc.ci != nil {
		deps.CI = svc.ci
	}
	return notify.New(deps)
}

// mountWebhooks adds to mux the webhook endpoints whose secret is set; the
// others stay unmounted and answer 404.
func mountWebhooks(mux *http.ServeMux, cfg config.Config, log zerolog.Logger, db notify.Store, poster commands.Poster, desk *deploy.Desk, bg *commands.Background, svc services) error {
	secrets := webhooks.Secrets{
		GitHub: cfg.GitHubWebhookSecret.Value(), Heroku: cfg.HerokuWebhookSecret.Value(), Semaphore: cfg.SemaphoreWebhookSecret.Value(),
	}
	if secrets == (webhooks.Secrets{}) {
		return nil
	}
	n := buildNotifications(cfg, log, db, poster, desk, svc, false)
	paths := webhooks.New(secrets, n, bg, log).Register(mux)
	log.Info().Strs("paths", paths).Msg("serving webhooks")
	return nil
}

// newSimulator makes up the services' webhooks in the shell from what the
// configured (or sandbox) services hold now, and hands them to the same
// notifications the webhook endpoints use.
func newSimulator(cfg config.Config, log zerolog.Logger, db notify.Store, poster commands.Poster, desk *deploy.Desk, svc services) func(ctx context.Context, what string, args []string) error {
	n := buildNotifications(cfg, log, db, poster, desk, svc, true)
	if svc.github == nil {
		return notify.NewSimulator(n, nil).Simulate
	}
	return notify.NewSimulator(n, svc.github).Simulate
}
