package incident

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// nudgeDue decides which reminder an incident needs at now, if any ("" for
// none). It reads only the stored incident, so reminders survive restarts:
//   - an open incident gets a "quiet" reminder once QuietAfter has passed
//     since both its last timeline entry and its last quiet reminder (one
//     reminder per quiet period; a new entry starts the clock again);
//   - a resolved incident without a postmortem gets one postmortem reminder
//     PostmortemAfter after its resolution.
func nudgeDue(inc store.Incident, now time.Time, cfg Config) string {
	switch {
	case inc.Open():
		last := inc.LastEntryAt
		if inc.QuietNudgedAt.After(last) {
			last = inc.QuietNudgedAt
		}
		if now.Sub(last) >= cfg.QuietAfter {
			return store.NudgeQuiet
		}
	case inc.Status == store.IncidentResolved && inc.Postmortem == nil && inc.PostmortemNudgedAt.IsZero():
		if now.Sub(inc.ResolvedAt) >= cfg.PostmortemAfter {
			return store.NudgePostmortem
		}
	}
	return ""
}

// Nudge sends every reminder that is due now. Each is recorded before it is
// posted, so a crash or restart never sends one twice; the store records it
// only if it is still due as stored, so of several Devy processes sharing
// the store only one sends it.
func (i *Desk) Nudge(ctx context.Context) error {
	all, err := i.store.Incidents()
	if err != nil {
		return fmt.Errorf("read incidents for reminders: %w", err)
	}
	now := i.store.Now()
	for _, inc := range all {
		kind := nudgeDue(inc, now, i.cfg)
		if kind == "" {
			continue
		}
		due := func(stored store.Incident) bool { return nudgeDue(stored, now, i.cfg) == kind }
		if _, err := i.store.MarkNudged(inc.Number, kind, now, due); errors.Is(err, store.ErrNotDue) {
			continue
		} else if err != nil {
			return fmt.Errorf("record a reminder for incident %d: %w", inc.Number, err)
		}
		var text string
		switch kind {
		case store.NudgeQuiet:
			quiet := format.Span(now.Sub(inc.LastEntryAt))
			text = fmt.Sprintf("⏰ <@%s>, incident #%d has had no timeline entry for %s. Post where things stand with `/incident update <text>` (it is echoed to %s), or `/incident resolve` if it is over.",
				inc.Commander, inc.Number, quiet, i.criticalRef())
		case store.NudgePostmortem:
			text = fmt.Sprintf("📝 <@%s>, incident #%d was resolved %s and has no postmortem yet. `/incident postmortem %d` opens the form: 5 Whys, no blame.",
				inc.Commander, inc.Number, format.Ago(now, inc.ResolvedAt), inc.Number)
		}
		i.log.Info().Uint64("incident", inc.Number).Str("kind", kind).Msg("incident reminder")
		i.postIncident(ctx, inc, commands.Message{Text: text})
	}
	return nil
}

// RunNudges looks for due reminders every NudgeEvery until ctx ends.
func (i *Desk) RunNudges(ctx context.Context) {
	commands.Every(ctx, i.cfg.NudgeEvery, func(ctx context.Context) {
		if err := i.Nudge(ctx); err != nil {
			i.log.Error().Err(err).Msg("incident reminders failed")
		}
	})
}
