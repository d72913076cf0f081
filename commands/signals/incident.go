package signals

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// keyRE is the shape of every signal key; a button value that is not one
// was not made by Devy.
var keyRE = regexp.MustCompile(`^(sentry|sentry-metric|alertmanager):[0-9a-f]{32}$`)

var errOpening = errors.New("signals: an incident is being opened for this signal")

// clickOpenIncident opens an incident from a signal's message. The value
// names the signal; the severity comes from the message clicked.
func (s *Signals) clickOpenIncident(ctx context.Context, a commands.Action) (commands.Reply, error) {
	if s.incidents == nil {
		return commands.Say("Incidents are not set up here, so I can't open one from this alert."), nil
	}
	key := a.Value
	if !keyRE.MatchString(key) {
		return commands.Say("That button doesn't name an alert I know, so I opened nothing; use `/incident open` instead."), nil
	}
	sig, ok, err := s.store.Signal(ctx, key)
	if err != nil {
		return commands.Reply{}, wrap("read signal", err)
	}
	if !ok {
		return commands.Say("That button doesn't name an alert I know, so I opened nothing; use `/incident open` instead."), nil
	}
	if sig.Incident != 0 {
		open, err := s.incidents.IsOpen(ctx, sig.Incident)
		if err != nil {
			return commands.Reply{}, wrap(fmt.Sprintf("ask whether incident %d is open", sig.Incident), err)
		}
		if open {
			return commands.Say("Incident #%d is already open for this alert in %s; join it there.", sig.Incident, channelRef(sig.IncidentChannel)), nil
		}
	}

	now := s.now()
	sig, err = s.store.UpdateSignal(ctx, key, func(sig *Signal) error {
		if !sig.Opening.IsZero() && now.Sub(sig.Opening) < openingTTL {
			return errOpening
		}
		sig.Opening = now
		return nil
	})
	if errors.Is(err, errOpening) {
		return commands.Say("Someone is opening an incident for this alert right now; it will show on the message in a moment."), nil
	}
	if err != nil {
		return commands.Reply{}, wrap("claim opening an incident", err)
	}

	req := s.incidentRequest(sig, a)
	n, channel, err := s.incidents.OpenFromSignal(ctx, req)
	if err != nil {
		if _, uerr := s.store.UpdateSignal(ctx, key, func(sig *Signal) error {
			sig.Opening = time.Time{}
			return nil
		}); uerr != nil {
			s.log.Warn().Err(uerr).Str("signal", key).Msg("releasing the incident claim failed")
		}
		return commands.Reply{}, wrap("open incident from signal", err)
	}
	var o outcome
	if _, err := s.store.UpdateSignal(ctx, key, func(sig *Signal) error {
		o = outcome{}
		sig.Incident, sig.IncidentChannel, sig.Opening, sig.TimelineAt = n, channel, time.Time{}, now
		redrawAll(sig, &o, now)
		return nil
	}); err != nil {
		// The incident is open; only the link from the message is missing.
		s.log.Error().Err(err).Uint64("incident", n).Str("signal", key).Msg("recording the incident on its signal failed")
	}
	s.enqueue(key, o)
	return commands.Say("Opened incident #%d (%s) from this alert in %s; you are its commander.", n, req.Severity, channelRef(channel)), nil
}

// incidentRequest builds the incident from the signal: its severity from
// the message clicked (SEV1 for a critical alert or metric alert, SEV2 for
// a Sentry issue alert, SEV3 in #devy), the alert and its links on the
// timeline.
func (s *Signals) incidentRequest(sig Signal, a commands.Action) IncidentRequest {
	sev := ""
	for _, p := range sig.Posts {
		if p.ChannelID == a.ChannelID && (a.MessageTS == "" || p.TS == a.MessageTS) {
			sev = p.Severity
		}
	}
	if sev == "" { // an older message of the signal: the gravest it had
		for _, p := range sig.Posts {
			if sev == "" || p.Severity < sev {
				sev = p.Severity
			}
		}
	}
	if sev == "" {
		sev = SEV3
	}
	r := IncidentRequest{
		Title:    clip(escape(oneLine(sig.Title)), maxHeader),
		Severity: sev,
		OpenedBy: a.UserID,
		From:     a.ChannelID,
	}
	r.Timeline = append(r.Timeline, "Opened from "+timelineLine(sig))
	if sig.Culprit != "" {
		r.Timeline = append(r.Timeline, "Culprit: "+code(sig.Culprit))
	}
	if sig.Description != "" {
		r.Timeline = append(r.Timeline, escape(clip(sig.Description, 1000)))
	}
	if sig.Link != "" {
		r.Links = append(r.Links, link(sig.Link, "the alert"))
	}
	if sig.Labels != "" {
		r.Labels = append(r.Labels, code(sig.Labels))
	}
	for _, al := range sig.Alerts {
		if al.Status == StatusFiring && len(r.Labels) < maxAlerts {
			r.Labels = append(r.Labels, code(clip(al.Labels, 300)))
		}
	}
	if sig.Suspect != nil {
		r.SuspectPromotion = sig.Suspect.Number
		r.Timeline = append(r.Timeline, suspectLine(sig))
	}
	return r
}

// Briefing lists the exceptions first seen (or regressed) since the last
// production promotion finished, oldest first, one line each, for an
// incident's briefing. With no promotion on record it covers the last
// 24 hours.
func (s *Signals) Briefing(ctx context.Context) ([]string, error) {
	now := s.now()
	since, label := now.Add(-24*time.Hour), "in the last 24 hours"
	if s.promotions != nil {
		p, ok, err := s.promotions.LastPromotion(ctx, now)
		if err != nil {
			return nil, wrap("look up the last promotion", err)
		}
		if ok {
			since, label = p.FinishedAt, fmt.Sprintf("since promotion #%d", p.Number)
		}
	}
	recs, err := s.store.Records(ctx, RecordException, since)
	if err != nil {
		return nil, wrap("read exceptions", err)
	}
	if len(recs) == 0 {
		return []string{fmt.Sprintf("No new exceptions %s.", label)}, nil
	}
	lines := []string{fmt.Sprintf("Exceptions first seen %s:", label)}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Key] {
			continue // a regression after its first sighting is the same issue
		}
		seen[r.Key] = true
		name := escape(oneLine(firstOf(r.ShortID, "issue")))
		verb := "first seen"
		if r.Regression {
			verb = "regressed"
		}
		line := fmt.Sprintf("• %s %s — %s %s", link(r.Link, name), escape(clip(oneLine(r.Title), 200)), verb, r.At.UTC().Format("Jan 2 15:04 UTC"))
		if r.Project != "" {
			line += " in " + code(r.Project)
		}
		lines = append(lines, line)
		if len(lines) > 20 {
			lines = append(lines, "…and more: see Sentry.")
			break
		}
	}
	return lines, nil
}
