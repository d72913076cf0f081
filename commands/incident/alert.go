package incident

import (
	"context"
	"fmt"
	"strings"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// Exceptions lists, for an incident's briefing, the exceptions first seen
// since the last production promotion (commands/signals.Signals.Briefing):
// Slack mrkdwn lines, already escaped, the first a heading.
type Exceptions interface {
	Briefing(ctx context.Context) ([]string, error)
}

// Alert is an incident to open from an alert's or exception's Open incident
// button. Title, Timeline, Links and Labels are Slack mrkdwn, already
// escaped by the sender.
type Alert struct {
	Title    string
	Severity string // SEV1, SEV2 or SEV3
	OpenedBy string // the Slack user who clicked: opener and commander
	From     string // the channel the click came from
	Timeline []string
	Links    []string
	Labels   []string
	// SuspectPromotion is the promotion request the alert followed (0:
	// none), recorded on the incident for the change-failure rate.
	SuspectPromotion uint64
}

// OpenFromAlert opens an incident as `/incident open` does, with the alert,
// its links and labels on the timeline and in the briefing. It returns the
// incident's number and its channel ("" when it could not be made).
func (i *Desk) OpenFromAlert(ctx context.Context, a Alert) (uint64, string, error) {
	sev, ok := parseSeverity(a.Severity)
	if !ok {
		sev = defaultSeverity
	}
	inc, problems, err := i.openWith(ctx, opening{user: a.OpenedBy, from: a.From, title: a.Title, severity: sev, alert: &a})
	if err != nil {
		return 0, "", err
	}
	if len(problems) > 0 {
		i.log.Warn().Uint64("incident", inc.Number).Strs("problems", problems).Msg("incident opened from an alert with problems")
	}
	return inc.Number, inc.Channel, nil
}

// recordAlert puts the alert on the new incident's timeline.
func (i *Desk) recordAlert(n uint64, a Alert) {
	for _, text := range alertLines(a) {
		if _, _, err := i.store.AddTimelineEntry(n, store.TimelineEntry{Kind: store.EntryUpdate, Actor: "devy", Text: text}); err != nil {
			i.log.Error().Err(err).Uint64("incident", n).Msg("recording the alert on the timeline failed")
			return
		}
	}
}

func alertLines(a Alert) []string {
	lines := append([]string(nil), a.Timeline...)
	if len(a.Links) > 0 {
		lines = append(lines, "Link: "+strings.Join(a.Links, " · "))
	}
	if len(a.Labels) > 0 {
		lines = append(lines, "Labels: "+strings.Join(a.Labels, " · "))
	}
	return lines
}

// alertSection is the briefing's account of the alert the incident was
// opened from.
func alertSection(a Alert) string {
	text := "*Opened from an alert*\n" + strings.Join(alertLines(a), "\n")
	return clipSection(text)
}

// exceptionsSection is the briefing's list of the exceptions new since the
// last promotion; none without Sentry.
func (i *Desk) exceptionsSection(ctx context.Context) []commands.Block {
	if i.excepts == nil {
		return nil
	}
	lines, err := i.excepts.Briefing(ctx)
	if err != nil {
		i.log.Warn().Err(err).Msg("reading new exceptions for the briefing failed")
		return []commands.Block{commands.Section{Text: "*Exceptions*\nI couldn't read them; see Sentry."}}
	}
	if len(lines) == 0 {
		return nil
	}
	lines[0] = "*" + strings.TrimSuffix(lines[0], ":") + "*"
	return []commands.Block{commands.Section{Text: clipSection(strings.Join(lines, "\n"))}}
}

// clipSection keeps a section within Block Kit's 3,000 characters.
func clipSection(s string) string { return format.Clip(s, 3000) }

// AddAlertToTimeline puts a later alert of the incident's signal on its
// timeline and in its channel.
func (i *Desk) AddAlertToTimeline(ctx context.Context, n uint64, text string) error {
	inc, added, err := i.store.AddTimelineEntry(n, store.TimelineEntry{Kind: store.EntryUpdate, Actor: "devy", Text: text})
	if err != nil {
		return fmt.Errorf("add an alert to incident %d's timeline: %w", n, err)
	}
	if added {
		i.postIncident(ctx, inc, commands.Message{Text: "🔔 " + text})
	}
	return nil
}

// IsOpen reports whether incident n is still open.
func (i *Desk) IsOpen(_ context.Context, n uint64) (bool, error) {
	inc, err := i.store.Incident(n)
	if err != nil {
		return false, fmt.Errorf("read incident %d: %w", n, err)
	}
	return inc.Open(), nil
}
