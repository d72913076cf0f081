package app

import (
	"context"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/commands/notify"
	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/internal/sandbox"
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

// webhookStore is what the webhooks need of the store: the notifications'
// threads and the deliveries already handled.
type webhookStore interface {
	notify.Store
	webhooks.Deliveries
}

// mountWebhooks adds to mux the webhook endpoints whose secret is set; the
// others stay unmounted and answer 404.
func mountWebhooks(mux *http.ServeMux, cfg config.Config, log zerolog.Logger, db webhookStore, poster commands.Poster, desk *deploy.Desk, bg *commands.Background, svc services, obs observers, sig *signals.Signals) error {
	secrets := webhooks.Secrets{
		GitHub: cfg.GitHubWebhookSecret.Value(), Heroku: cfg.HerokuWebhookSecret.Value(), Semaphore: cfg.SemaphoreWebhookSecret.Value(),
	}
	sigSecrets := webhooks.SignalSecrets{SentryClientSecret: cfg.SentryClientSecret.Value(), AlertmanagerToken: cfg.AlertmanagerToken.Value()}
	if secrets == (webhooks.Secrets{}) && sigSecrets == (webhooks.SignalSecrets{}) {
		return nil
	}
	var n webhooks.Notifier = buildNotifications(cfg, log, db, poster, desk, svc, false)
	if desk != nil {
		n = releaseTeller{Notifier: n, desk: desk}
	}
	srv := webhooks.New(secrets, n, db, bg, log)
	if obs.metrics != nil {
		srv.Observe(obs.metrics)
	}
	paths := srv.Register(mux)
	paths = append(paths, srv.RegisterSignals(mux, sigSecrets, sig, nil)...)
	log.Info().Strs("paths", paths).Msg("serving webhooks")
	return nil
}

// newSimulator makes up the services' webhooks in the shell from what the
// configured (or sandbox) services hold now, and hands them to the same
// notifications the webhook endpoints use.
//
// `simulate sentry …` and `simulate alert …` go, signed, through the signal
// endpoints' handlers instead. world is the sandbox, nil for real services.
func newSimulator(cfg config.Config, log zerolog.Logger, db notify.Store, poster commands.Poster, desk *deploy.Desk, svc services, bg *commands.Background, sig *signals.Signals, world *sandbox.Sandbox) func(ctx context.Context, what string, args []string) error {
	n := buildNotifications(cfg, log, db, poster, desk, svc, true)
	sim := notify.NewSimulator(n, nil)
	if svc.github != nil {
		sim = notify.NewSimulator(n, svc.github)
	}
	if world != nil {
		sim.InWorld(sandboxWorld{sb: world, desk: desk})
	}
	sigs := newSignalSimulator(cfg, log, bg, sig)
	return func(ctx context.Context, what string, args []string) error {
		if what == "sentry" || what == "alert" {
			return sigs.Simulate(ctx, what, args)
		}
		return sim.Simulate(ctx, what, args)
	}
}

// sandboxWorld is the sandbox as the simulator changes it; the deploy
// desk's status forgets what it read, so that it shows the change at once.
type sandboxWorld struct {
	sb   *sandbox.Sandbox
	desk *deploy.Desk // nil without Heroku
}

func (w sandboxWorld) Merge() (string, int) {
	m := w.sb.Merge()
	w.forget()
	return m.SHA, m.PR
}

func (w sandboxWorld) FailCI(branch, sha string) string {
	id := w.sb.FailCI(branch, sha)
	w.forget()
	return id
}

func (w sandboxWorld) forget() {
	if w.desk != nil {
		w.desk.ForgetStatus()
	}
}

// releaseTeller tells /deploy of every Heroku release before notifying,
// so that no status read before it is shown again.
type releaseTeller struct {
	webhooks.Notifier
	desk *deploy.Desk
}

func (t releaseTeller) Release(ctx context.Context, e commands.ReleaseEvent) error {
	t.desk.Changed()
	return t.Notifier.Release(ctx, e)
}
