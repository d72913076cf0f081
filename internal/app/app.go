// Package app wires Devy together: configuration, logger, store, the
// services' clients, the feature packages and a transport (the Slack bot or
// the shell). It is the only package that imports the features; the end-to-end
// tests next to it walk each user flow through the test Slack and the test
// services.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/devy-chatops/devy/bot"
	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy"
	"github.com/devy-chatops/devy/commands/home"
	"github.com/devy-chatops/devy/commands/incident"
	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/internal/metrics"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/shell"
	"github.com/devy-chatops/devy/store"
	"github.com/devy-chatops/devy/webhooks"
)

// shutdownGrace bounds how long in-flight work may take once a stop signal
// arrives; Heroku sends SIGKILL 30 seconds after SIGTERM, we aim for 10.
const shutdownGrace = 8 * time.Second

// Run is `devy` with args: the Slack bot, the shell or migrate-store, until
// ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return run(ctx, args, getenv, stdin, stdout, stderr, pacing{})
}

// pacing holds the intervals behind Devy's "at most so often" promises;
// zero fields take the product's values. Only the end-to-end tests set
// them, to see in a second what takes ten.
type pacing struct {
	// homeEvery is the least time between two App Home publishes for one
	// person (10 s).
	homeEvery time.Duration
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, pace pacing) error {
	mode := config.Slack
	if len(args) > 0 {
		switch args[0] {
		case "shell":
			mode = config.Shell
		case "migrate-store":
			return migrateStore(ctx, args[1:], stdout, stderr)
		case "help", "-h", "--help":
			fmt.Fprintln(stdout, "usage: devy [shell | migrate-store --from bbolt:devy.db --to \"$DATABASE_URL\"]\n"+
				"  devy                connect to Slack over Socket Mode (needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN)\n"+
				"  devy shell          a local chat in the terminal; with no Heroku token it runs against a built-in sandbox pipeline\n"+
				"  devy migrate-store  copy a bbolt file's state into an empty PostgreSQL database, verified by counts")
			return nil
		default:
			return fmt.Errorf("unknown argument %q; run `devy` to connect to Slack or `devy shell` for the local chat", args[0])
		}
	}
	cfg, err := config.Load(getenv, mode)
	if err != nil {
		return err
	}
	if mode == config.Shell {
		return runShell(ctx, cfg, newShellLogger(cfg, stderr), stdin, stdout)
	}
	return serve(ctx, cfg, newLogger(cfg, stderr), pace)
}

func newLogger(cfg config.Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.Kitchen}
	}
	return zerolog.New(w).Level(cfg.LogLevel).With().Timestamp().Logger()
}

// newShellLogger keeps the shell's terminal a chat: its log shares the
// screen with the messages, so unless LOG_FORMAT=console asks for the whole
// log it shows only errors, each as one readable line. The warnings (a poll
// retried, a call settled another way) are about work whose outcome the
// chat itself shows.
func newShellLogger(cfg config.Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat != "console" {
		cfg.LogFormat, cfg.LogLevel = "console", max(cfg.LogLevel, zerolog.ErrorLevel)
	}
	return newLogger(cfg, w)
}

// serve runs the Slack bot until ctx ends.
func serve(ctx context.Context, cfg config.Config, log zerolog.Logger, pace pacing) error {
	// Everything below ends with this context: a refused token stops Devy
	// with its cause, and background work is cancelled before it is
	// waited for.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// The port is bound before Slack is dialled: whoever sees Devy
	// connected can reach it too. Requests wait in the listen queue until
	// the routes are mounted, a few milliseconds later.
	var ln net.Listener
	if cfg.Port != "" {
		var err error
		if ln, err = net.Listen("tcp", net.JoinHostPort("", cfg.Port)); err != nil {
			return fmt.Errorf("PORT: listen on :%s: %w", cfg.Port, err)
		}
		defer ln.Close()
	}

	// One pool for Slack, Heroku, GitHub and Semaphore, keeping more than
	// Go's two idle connections per host so that a burst of replies reuses
	// connections to Slack instead of opening one each.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	api := slack.New(cfg.SlackBotToken.Value(),
		slack.OptionAppLevelToken(cfg.SlackAppToken.Value()),
		slack.OptionAPIURL(cfg.SlackAPIURL),
		slack.OptionHTTPClient(httpClient),
	)
	go checkBotToken(ctx, api, stop, log)
	// Slack first: its round trips overlap opening the store (a file
	// created and synced, or a database dialled) and building the commands.
	socket := bot.Open(ctx, socketmode.New(api))
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		stop(nil) // background work first, then the store it uses
		db.Close()
	}()
	sl := bot.NewSlack(api)
	bg := commands.NewBackground(ctx)
	bg.OnPanic(func(v any, stack []byte) {
		log.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(stack)).Msg("background work panicked and was stopped; Devy goes on")
	})

	svc, err := newServices(cfg, httpClient)
	if err != nil {
		return err
	}
	svc.users = bot.NewUsers(api, usersTTL, time.Now)
	var obs observers
	if cfg.MetricsToken != "" && cfg.Port != "" {
		obs.metrics = metrics.New()
	}
	router, desk, sig, err := buildCommands(cfg, log, db, sl, bg, svc, time.Second, obs, pace)
	if err != nil {
		return err
	}
	digest, err := newDigester(cfg, statsSource(db), statsSlots(db), sl, slackChannel(cfg.DeployChannel))
	if err != nil {
		return err
	}
	go sig.Run(ctx, signalTick)
	b := bot.New(socket, sl, router, bg, 2*time.Minute, log)
	if obs.metrics != nil {
		b.Observe(obs.metrics)
	}
	if d, ok := db.(bot.Deliveries); ok {
		// PostgreSQL: other Devy processes may get Slack's retries of what
		// this one took. bbolt has one process; its memory is enough.
		b.ShareDeliveries(d)
	}

	var srv *http.Server
	if cfg.Port != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /healthz", bot.Health(b.Connected, db.Ping))
		if err := mountWebhooks(mux, cfg, log, db, sl, desk, bg, svc, obs, sig); err != nil {
			return err
		}
		if obs.metrics != nil {
			// Only with DEVY_METRICS_TOKEN: unmounted, /metrics answers 404.
			mux.Handle("GET /metrics", obs.metrics.Handler(cfg.MetricsToken.Value()))
			bg.Go(func(ctx context.Context) {
				refreshGauges(ctx, obs.metrics, db, statsSource(db), cfg.Location(), suspectWindow(cfg), gaugesEvery, log)
			})
		}
		srv = webhooks.NewServer(net.JoinHostPort("", cfg.Port), mux)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("http listener stopped")
			}
		}()
		log.Info().Str("port", cfg.Port).Msg("serving /healthz")
	}
	if desk != nil {
		if err := desk.Resume(ctx); err != nil {
			log.Error().Err(err).Msg("resuming promotions failed")
		}
	}
	if digest != nil {
		bg.Go(func(ctx context.Context) { runDigest(ctx, digest, time.Now, digestEvery, log) })
	}
	log.Info().Str("store", storeName(cfg)).Msg("Devy starting")
	runErr := b.Run(ctx)
	if cause := context.Cause(ctx); runErr == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		runErr = cause // the bot token was refused
	}
	stop(nil)

	log.Info().Msg("Devy stopping")
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if !bg.Wait(shutdownGrace) {
		log.Warn().Msg("some work did not finish before shutdown; promotions resume at the next start")
	}
	return runErr
}

// usersTTL is how long an answer of users.lookupByEmail is kept: people
// join and change e-mails rarely, and a staging release asks about every
// author of its range.
const usersTTL = 30 * time.Minute

// checkBotToken asks Slack who the bot token is (auth.test): Slack checks
// the app token when the socket opens, but the bot token only when Devy
// first answers someone. A token Slack refuses stops Devy now, naming it;
// any other failure to ask is only logged.
func checkBotToken(ctx context.Context, api *slack.Client, stop context.CancelCauseFunc, log zerolog.Logger) {
	_, err := api.AuthTestContext(ctx)
	var se slack.SlackErrorResponse
	switch {
	case err == nil:
	case errors.As(err, &se) && bot.RefusedToken(se.Err):
		stop(fmt.Errorf("SLACK_BOT_TOKEN: Slack refused the bot token (%s)", se.Err))
	case ctx.Err() == nil:
		log.Warn().Err(err).Msg("could not check the bot token with auth.test; going on")
	}
}

// chat is the side of Slack that commands talk to: the bot's Web API client,
// or the shell.
type chat interface {
	commands.Poster
	commands.Directory
	commands.Modals
	commands.Channels
}

// buildCommands makes every command from the configuration. Integrations that
// are not configured stay nil interfaces, never typed nils.
func buildCommands(cfg config.Config, log zerolog.Logger, db state, ui chat, bg *commands.Background, svc services, poll time.Duration, obs observers, pace pacing) (*commands.Router, *deploy.Desk, *signals.Signals, error) {
	poster, dir := commands.Poster(ui), commands.Directory(ui)
	router := commands.NewRouter()
	var desk *deploy.Desk
	var incidents *incident.Desk // built below; finished promotions reach its timelines
	// One outbox carries out every feature's recorded effects (reports of
	// outcomes, notices), at start and after each write.
	outbox := commands.NewOutbox(db, commands.OutboxConfig{}, log)
	var dash *home.Home // built last; hears of every change it shows
	watched := watchedState{state: db, changed: func() {
		if dash != nil {
			dash.Changed()
		}
	}}
	if svc.heroku != nil {
		deps := deploy.Deps{
			Config: deploy.Config{
				Pipeline: cfg.HerokuPipeline, Channel: cfg.DeployChannel, Approvers: cfg.Approvers, Admins: cfg.Admins,
				AllowSelfApproval: cfg.AllowSelfApproval, ApproverNotAuthor: cfg.ApproverNotAuthor, UserMap: cfg.UserMap,
				TTL: cfg.ApprovalTTL, PollInterval: poll, RequireVerified: cfg.RequireVerified,
			},
			Modals: ui,
			Heroku: svc.heroku,
			Store:  watched, Poster: poster, Directory: dir, Bg: bg, Log: log, Outbox: outbox,
			Finished: func(ctx context.Context, r store.PromotionRequest) {
				if incidents != nil {
					incidents.PromotionFinished(ctx, r)
				}
				promotionFinished(obs.metrics, r)
			},
			Extra: []commands.Sub{newStats(cfg, statsSource(db), ui).Sub()},
		}
		if svc.github != nil {
			deps.GitHub = svc.github
			deps.Deployments = svc.github
			if p, ok := ui.(deploy.Permalinks); ok {
				deps.Permalinks = p
			}
		}
		if svc.ci != nil {
			deps.CI = svc.ci
		}
		if svc.users != nil {
			deps.Users = svc.users
		}
		desk = deploy.New(deps)
		if _, isShell := ui.(*shell.Shell); !isShell && cfg.HerokuWebhookSecret.Value() == "" {
			// No Heroku webhook tells #devy that staging changed: /deploy
			// status and promote do, when they see a release nobody announced.
			desk.AnnounceReleases(buildNotifications(cfg, log, db, poster, desk, svc, false))
		}
		bg.Go(desk.RunNudges)
		desk.Register(router)
	} else {
		router.Add(deploy.Unconfigured())
	}
	addReviewApps(router, cfg, log, db, poster, dir, bg, svc, poll, outbox)
	sigIncidents := &signalIncidents{}
	sig := buildSignals(router, cfg, log, db, ui, bg, svc, sigIncidents)
	var excepts incident.Exceptions
	if _, isShell := ui.(*shell.Shell); isShell || cfg.SentryClientSecret != "" {
		excepts = sig // the briefing lists exceptions only where Sentry can send them
	}
	incidents = addIncidents(router, cfg, log, watched, ui, bg, svc, excepts)
	sigIncidents.desk = incidents
	outbox.Start(bg)
	dash = newHome(router, desk, db, statsSource(db), cfg.Location(), suspectWindow(cfg), ui, bg, pace.homeEvery, log)
	return router, desk, sig, nil
}

// runShell runs the local chat. Without a Heroku token it starts the built-in
// sandbox pipeline and a fresh store, so anyone can try every flow.
func runShell(ctx context.Context, cfg config.Config, log zerolog.Logger, stdin io.Reader, stdout io.Writer) error {
	var world *sandbox.Sandbox
	if !cfg.HerokuConfigured() {
		sb := sandbox.Start()
		world = sb
		defer sb.Close()
		cfg = sb.Configure(cfg)
		dir, err := os.MkdirTemp("", "devy-shell-")
		if err != nil {
			return fmt.Errorf("shell: temp dir: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.DBPath = filepath.Join(dir, "devy.db")
		cfg.DatabaseURL = "" // the sandbox's state is thrown away, never a real database's
		fmt.Fprintf(stdout, "Sandbox: pipeline %q with a staging app a few commits ahead of two production apps (no accounts needed).\n", cfg.HerokuPipeline)
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// Quitting the shell ends its background work (reminder loops, promotions
	// being followed); see below for what it waits for first.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bg := commands.NewBackground(ctx)
	sh := shell.New(nil, stdout, "alice", cfg.DeployChannel)
	svc, err := newServices(cfg, &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	router, desk, sig, err := buildCommands(cfg, log, db, sh, bg, svc, 500*time.Millisecond, observers{}, pacing{})
	if err != nil {
		return err
	}
	go sig.Run(ctx, signalTick)
	sh.SetRouter(router)
	sh.SetSimulator(newSimulator(cfg, log, db, sh, desk, svc, bg, sig, world))
	if desk != nil {
		if err := desk.Resume(ctx); err != nil {
			return err
		}
	}
	err = sh.Run(ctx, stdin)
	// A piped script, or a quick `quit`, ends before the promotion or review
	// app it started does: see that through, so its messages are shown and
	// nothing is cut off mid-call. Ctrl-C (ctx) still stops at once.
	if kinds := bg.Working(); len(kinds) > 0 && ctx.Err() == nil {
		sh.Say("\nWaiting for running work to finish (%s) — press Ctrl-C to stop now…\n", strings.Join(kinds, ", "))
		if !bg.WaitWork(ctx, shellDrain) && ctx.Err() == nil {
			sh.Say("Stopped waiting after %s; %s did not finish.\n", shellDrain, strings.Join(bg.Working(), ", "))
		}
	}
	cancel()
	bg.Wait(2 * time.Second)
	return err
}

// shellDrain bounds how long the shell, once left, waits for the work it
// started; a sandbox promotion takes a few seconds.
const shellDrain = 60 * time.Second
