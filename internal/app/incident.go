package app

import (
	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/commands/incident"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/shell"
)

// addIncidents registers /incident and starts its reminders, which stop when
// bg's context ends. GitHub is optional: without it postmortems are posted
// as Markdown in the incident's channel.
func addIncidents(router *commands.Router, cfg config.Config, log zerolog.Logger, db incident.Store, ui chat, bg *commands.Background, svc services, excepts incident.Exceptions) *incident.Desk {
	critical := cfg.CriticalChannel
	if _, isShell := ui.(*shell.Shell); !isShell && !format.IsChannelID(critical) {
		// chat.postMessage takes a channel by id or as "#name"; the shell's
		// channel ids are plain names.
		critical = "#" + critical
	}
	deps := incident.Deps{
		Config: incident.Config{CriticalChannel: critical, QuietAfter: cfg.IncidentQuiet, PostmortemAfter: cfg.PostmortemAfter},
		Store:  db, Poster: ui, Directory: ui, Modals: ui, Channels: ui, Log: log,
	}
	if svc.github != nil {
		deps.Issues = svc.github
	}
	if excepts != nil {
		deps.Exceptions = excepts
	}
	incidents := incident.New(deps)
	incidents.Register(router)
	bg.Go(incidents.RunNudges)
	return incidents
}
