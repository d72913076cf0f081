package app

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/commands/incident"
	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/shell"
)

// signalTick is how often the signal desk looks for Slack work that has
// come due without a delivery waking it (an edit held back by the 5-second
// pace).
const signalTick = 500 * time.Millisecond

// buildSignals makes the signal desk (Sentry and Alertmanager) and
// registers its Open incident button. Incidents reach it through an
// adaptor whose desk is set once /incident is built, as /incident needs
// the signal desk for its briefing.
func buildSignals(router *commands.Router, cfg config.Config, log zerolog.Logger, db state, ui chat, bg *commands.Background, svc services, incidents *signalIncidents) *signals.Signals {
	channel := func(c string) string {
		if _, isShell := ui.(*shell.Shell); isShell || format.IsChannelID(c) {
			return c
		}
		return "#" + c
	}
	var commitURL func(string) string
	if svc.github != nil {
		commitURL = svc.github.CommitURL
	}
	slackID := func(login string) string { return cfg.UserMap[login] }
	sig := signals.New(signals.Deps{
		Config: signals.Config{
			DevyChannel: channel(cfg.DeployChannel), CriticalChannel: channel(cfg.CriticalChannel),
			Project: cfg.SentryProject, SuspectWindow: cfg.SuspectWindow,
		},
		Store:      newSignalStore(db),
		Poster:     ui,
		Promotions: newSignalPromotions(db, slackID, commitURL),
		Incidents:  incidents,
		Runner:     bg,
		Log:        log.With().Str("component", "signals").Logger(),
	})
	sig.Register(router)
	return sig
}

// signalIncidents is signals.Incidents on /incident's desk: features never
// import each other, so the request is translated here.
type signalIncidents struct{ desk *incident.Desk }

func (s *signalIncidents) OpenFromSignal(ctx context.Context, r signals.IncidentRequest) (uint64, string, error) {
	return s.desk.OpenFromAlert(ctx, incident.Alert{
		Title: r.Title, Severity: r.Severity, OpenedBy: r.OpenedBy, From: r.From,
		Timeline: r.Timeline, Links: r.Links, Labels: r.Labels, SuspectPromotion: r.SuspectPromotion,
	})
}

func (s *signalIncidents) AddToTimeline(ctx context.Context, n uint64, text string) error {
	return s.desk.AddAlertToTimeline(ctx, n, text)
}

func (s *signalIncidents) IsOpen(ctx context.Context, n uint64) (bool, error) {
	return s.desk.IsOpen(ctx, n)
}

var _ signals.Incidents = (*signalIncidents)(nil)
