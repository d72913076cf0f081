package signals

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/devy-chatops/devy/integrations/alertmanager"
	"github.com/devy-chatops/devy/integrations/sentry"
)

// What the webhook endpoint waits for, and what it does not.
//
// Sentry waits one second and never retries an internal integration, so
// Sentry and Alertmanager do, before returning: decode the body, claim its
// delivery key, look up the promotion it followed, and write the decision
// (post, fold, update) in one store transaction — all local reads and
// writes. Slack calls (posts, edits) happen later in Flush, and timeline
// entries in the Runner: a slow Slack never makes a delivery time out, and
// a restart after the answer loses at most a post still waiting in memory,
// never the record of the signal.
//
// The endpoint verifies the delivery first (sentry.Verify,
// alertmanager.CheckBearer). A returned error wrapping sentry.ErrMalformed
// or alertmanager.ErrMalformed is the sender's fault (400); any other error
// is Devy's (500).

// Sentry takes in a verified Sentry delivery: resource is the
// Sentry-Hook-Resource header, requestID the Request-ID header (the
// deduplication key; "" falls back to the body's hash).
func (s *Signals) Sentry(ctx context.Context, resource, requestID string, body []byte) error {
	ev, err := sentry.Decode(resource, body)
	if err != nil {
		return err
	}
	if ig, ok := ev.(*sentry.Ignored); ok {
		s.log.Debug().Str("resource", ig.Resource).Str("action", ig.Action).Msg("sentry delivery ignored")
		return nil
	}
	if !s.wantProject(ev) {
		s.log.Debug().Str("resource", resource).Msg("sentry delivery for another project ignored")
		return nil
	}
	if requestID == "" {
		requestID = hash(string(body))
	}
	first, err := s.store.ClaimDelivery(ctx, "sentry:"+requestID, s.now())
	if err != nil {
		return wrap("claim sentry delivery", err)
	}
	if !first {
		s.log.Debug().Str("request_id", requestID).Msg("sentry delivery seen before")
		return nil
	}
	switch e := ev.(type) {
	case *sentry.IssueEvent:
		return s.sentryIssue(ctx, e)
	case *sentry.EventAlert:
		return s.sentryEventAlert(ctx, e)
	case *sentry.ErrorEvent:
		return s.sentryError(ctx, e)
	case *sentry.MetricAlert:
		return s.sentryMetric(ctx, e)
	}
	return nil
}

func (s *Signals) wantProject(ev sentry.Event) bool {
	if s.cfg.Project == "" {
		return true
	}
	var slugs []string
	switch e := ev.(type) {
	case *sentry.IssueEvent:
		slugs = []string{e.Issue.Project.Slug}
	case *sentry.EventAlert:
		slugs = []string{e.ProjectSlug}
	case *sentry.ErrorEvent:
		slugs = []string{e.ProjectSlug}
	case *sentry.MetricAlert:
		slugs = e.Projects
	}
	// An event whose project Devy cannot read is kept: the configured
	// project's own alerts must not be lost to a payload change.
	if len(slugs) == 0 || (len(slugs) == 1 && slugs[0] == "") {
		return true
	}
	return slices.Contains(slugs, s.cfg.Project)
}

// Alertmanager takes in a verified Alertmanager notification.
func (s *Signals) Alertmanager(ctx context.Context, body []byte) error {
	n, err := alertmanager.Decode(body)
	if err != nil {
		return err
	}
	first, err := s.store.ClaimDelivery(ctx, "alertmanager:"+n.DeliveryKey(), s.now())
	if err != nil {
		return wrap("claim alertmanager delivery", err)
	}
	if !first {
		s.log.Debug().Str("group", n.GroupKey).Msg("alertmanager notification seen before")
		return nil
	}
	return s.alertGroup(ctx, n)
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// SentryIssueKey and AlertGroupKey name signals in the store; a button's
// value is the key, so it holds no outside text.
func SentryIssueKey(issueID string) string   { return keySentryIssue + hash(issueID) }
func SentryMetricKey(incident string) string { return keySentryMetric + hash(incident) }
func AlertGroupKey(groupKey string) string   { return keyAlertGroup + hash(groupKey) }

// The prefixes of signal keys: the store's JSON store holds others' keys
// too (GitHub deployments), so signals are listed by these.
const (
	keySentryIssue  = "sentry:"
	keySentryMetric = "sentry-metric:"
	keyAlertGroup   = "alertmanager:"
)

var keyPrefixes = []string{keySentryIssue, keySentryMetric, keyAlertGroup}

// outcome is what a decision asks of the Slack side and the timeline.
type outcome struct {
	post     []string // roles whose message is to be posted
	dirty    []string // roles whose message is to be redrawn
	timeline string   // a line for the open incident, if any
}

// incidentOpen reports the signal's open incident, 0 when none. It is read
// before the transaction: whether an incident is open is not the store's
// signal state.
func (s *Signals) incidentOpen(ctx context.Context, key string) (uint64, error) {
	sig, ok, err := s.store.Signal(ctx, key)
	if err != nil || !ok || sig.Incident == 0 || s.incidents == nil {
		return 0, wrap("read signal", err)
	}
	open, err := s.incidents.IsOpen(ctx, sig.Incident)
	if err != nil {
		return 0, wrap(fmt.Sprintf("ask whether incident %d is open", sig.Incident), err)
	}
	if !open {
		return 0, nil
	}
	return sig.Incident, nil
}

// route decides where a delivery shows: a new message in role's channel, or
// folded into the one there. windowed applies the 30-minute rule of Sentry
// issues; Alertmanager groups and metric alerts keep one message for good.
// While an incident is open nothing new is posted: the existing messages
// are redrawn and the incident's timeline hears of it.
func route(sig *Signal, o *outcome, role, severity string, now time.Time, windowed, incidentOpen bool) {
	p := sig.post(role)
	switch {
	case p != nil && (!windowed || now.Sub(p.QueuedAt) < foldWindow || incidentOpen):
		p.Events++
		p.UpdatedAt = now
		if p.Severity > severity || p.Severity == "" {
			p.Severity = severity // SEV1 sorts first: keep the gravest
		}
		o.dirty = append(o.dirty, role)
	case incidentOpen:
		// Nothing in this channel yet and an incident is open: the
		// incident is where people look now.
	default:
		fresh := Post{Role: role, Severity: severity, QueuedAt: now, Events: 1, UpdatedAt: now}
		if p != nil {
			*p = fresh
		} else {
			sig.Posts = append(sig.Posts, fresh)
		}
		o.post = append(o.post, role)
	}
}

// redrawAll marks every message of the signal for redrawing.
func redrawAll(sig *Signal, o *outcome, now time.Time) {
	for i := range sig.Posts {
		sig.Posts[i].UpdatedAt = now
		o.dirty = append(o.dirty, sig.Posts[i].Role)
	}
}

// decide runs one decision in the store and hands its outcome on.
func (s *Signals) decide(ctx context.Context, key string, incident uint64, f func(sig *Signal, o *outcome, now time.Time) error) error {
	now := s.now()
	var o outcome
	sig, err := s.store.UpdateSignal(ctx, key, func(sig *Signal) error {
		o = outcome{} // f may run again when the transaction is retried
		if sig.Created.IsZero() {
			sig.Created = now
		}
		sig.Updated = now
		return f(sig, &o, now)
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return wrap("record signal", err)
	}
	s.enqueue(sig.Key, o)
	if incident != 0 && o.timeline != "" {
		line := o.timeline
		s.goLater(func(ctx context.Context) {
			if err := s.incidents.AddToTimeline(ctx, incident, line); err != nil {
				s.log.Warn().Err(err).Uint64("incident", incident).Msg("adding a signal to the incident timeline failed")
			}
		}, ctx)
	}
	return nil
}

// timelineDue reports whether a still-firing signal is worth another
// timeline line: status changes always are, repeats once per fold window.
func timelineDue(sig *Signal, statusBefore string, now time.Time) bool {
	if sig.Status != statusBefore || now.Sub(sig.TimelineAt) >= foldWindow {
		sig.TimelineAt = now
		return true
	}
	return false
}

func (s *Signals) sentryIssue(ctx context.Context, e *sentry.IssueEvent) error {
	key := SentryIssueKey(e.Issue.ID)
	incident, err := s.incidentOpen(ctx, key)
	if err != nil {
		return err
	}
	is := e.Issue
	switch e.Action {
	case sentry.IssueResolved, sentry.IssueIgnored:
		return s.decide(ctx, key, incident, func(sig *Signal, o *outcome, now time.Time) error {
			if len(sig.Posts) == 0 {
				return errUnchanged // never shown: nothing to update
			}
			before := sig.Status
			sig.Status = StatusResolved
			if e.Action == sentry.IssueIgnored {
				sig.Status = StatusIgnored
			}
			sig.StatusNote = ""
			if e.Actor.Type == "user" && e.Actor.Name != "" {
				sig.StatusNote = e.Actor.Name
			}
			if is.WebURL != "" {
				sig.Link = is.WebURL
			}
			redrawAll(sig, o, now)
			if timelineDue(sig, before, now) {
				o.timeline = timelineLine(*sig)
			}
			return nil
		})
	}

	// created or unresolved: an exception to show in #devy.
	seen, regressed := is.FirstSeen, e.Action == sentry.IssueUnresolved
	if regressed {
		seen = is.LastSeen
	}
	if seen.IsZero() {
		seen = s.now()
	}
	suspect, err := s.suspect(ctx, seen)
	if err != nil {
		// A suspect line is a courtesy: the exception is shown without it.
		s.log.Warn().Err(err).Msg("looking up the last promotion failed")
	}
	title := is.Title
	rec := Record{Kind: RecordException, Key: key, Title: title, ShortID: is.ShortID, Project: is.Project.Slug, Link: is.Link(), At: seen, Regression: regressed}
	if err := s.store.AddRecord(ctx, rec); err != nil {
		return wrap("record exception", err)
	}
	return s.decide(ctx, key, incident, func(sig *Signal, o *outcome, now time.Time) error {
		before := sig.Status
		sig.Key, sig.Source = key, SourceSentryIssue
		sig.Title, sig.ShortID, sig.Culprit, sig.Level, sig.Project = title, is.ShortID, is.Culprit, is.Level, is.Project.Slug
		if l := is.Link(); l != "" {
			sig.Link = l
		}
		sig.Status, sig.StatusNote, sig.Regressed, sig.Seen = StatusFiring, "", regressed, seen
		sig.Suspect = suspect // a regression names its own promotion, or none
		route(sig, o, RoleDevy, SEV3, now, true, incident != 0)
		if timelineDue(sig, before, now) {
			o.timeline = timelineLine(*sig)
		}
		return nil
	})
}

func (s *Signals) sentryEventAlert(ctx context.Context, e *sentry.EventAlert) error {
	key := SentryIssueKey(e.IssueID)
	incident, err := s.incidentOpen(ctx, key)
	if err != nil {
		return err
	}
	at := e.Time
	if at.IsZero() {
		at = s.now()
	}
	if err := s.store.AddRecord(ctx, Record{Kind: RecordCritical, Key: key, Title: e.Title, Project: e.ProjectSlug, Link: e.WebURL, At: at}); err != nil {
		return wrap("record critical alert", err)
	}
	return s.decide(ctx, key, incident, func(sig *Signal, o *outcome, now time.Time) error {
		before := sig.Status
		sig.Key, sig.Source, sig.Critical = key, SourceSentryIssue, true
		if sig.Title == "" {
			sig.Title, sig.Culprit, sig.Level, sig.Project = e.Title, e.Culprit, e.Level, e.ProjectSlug
		}
		if sig.Link == "" {
			sig.Link = e.WebURL
		}
		sig.Rule, sig.Status, sig.StatusNote = e.Rule, StatusFiring, ""
		route(sig, o, RoleCritical, SEV2, now, true, incident != 0)
		if sig.post(RoleDevy) != nil {
			o.dirty = append(o.dirty, RoleDevy) // the #devy message links the alert
		}
		if timelineDue(sig, before, now) {
			o.timeline = timelineLine(*sig)
		}
		return nil
	})
}

// sentryError folds one more event into an issue already shown; an event of
// an issue Devy never showed is left to the issue's own delivery.
func (s *Signals) sentryError(ctx context.Context, e *sentry.ErrorEvent) error {
	key := SentryIssueKey(e.IssueID)
	return s.decide(ctx, key, 0, func(sig *Signal, o *outcome, now time.Time) error {
		p := sig.post(RoleDevy)
		if p == nil || sig.Status != StatusFiring {
			return errUnchanged
		}
		p.Events++
		p.UpdatedAt = now
		o.dirty = append(o.dirty, RoleDevy)
		return nil
	})
}

func (s *Signals) sentryMetric(ctx context.Context, e *sentry.MetricAlert) error {
	id := e.IncidentID
	if id == "" {
		id = "rule " + e.RuleID
	}
	key := SentryMetricKey(id)
	incident, err := s.incidentOpen(ctx, key)
	if err != nil {
		return err
	}
	if e.Action == sentry.MetricCritical {
		at := e.Started
		if at.IsZero() {
			at = s.now()
		}
		if err := s.store.AddRecord(ctx, Record{Kind: RecordCritical, Key: key, Title: e.RuleName, Link: e.WebURL, At: at}); err != nil {
			return wrap("record critical alert", err)
		}
	}
	return s.decide(ctx, key, incident, func(sig *Signal, o *outcome, now time.Time) error {
		before := sig.Status
		sig.Key, sig.Source = key, SourceSentryMetric
		sig.Title = firstOf(e.DescriptionTitle, e.RuleName, e.IncidentTitle, "Sentry metric alert")
		sig.Rule, sig.Description = e.RuleName, e.DescriptionText
		if len(e.Projects) > 0 {
			sig.Project = e.Projects[0]
		}
		if e.WebURL != "" {
			sig.Link = e.WebURL
		}
		switch e.Action {
		case sentry.MetricResolved:
			if len(sig.Posts) == 0 {
				return errUnchanged
			}
			sig.Status = StatusResolved
			redrawAll(sig, o, now)
		case sentry.MetricCritical:
			sig.Status, sig.Critical = StatusFiring, true
			route(sig, o, RoleCritical, SEV1, now, false, incident != 0)
			if sig.post(RoleDevy) != nil {
				o.dirty = append(o.dirty, RoleDevy)
			}
		default: // warning
			sig.Status, sig.Critical = StatusFiring, false
			route(sig, o, RoleDevy, SEV3, now, false, incident != 0)
			if sig.post(RoleCritical) != nil {
				o.dirty = append(o.dirty, RoleCritical) // it says it is down to a warning
			}
		}
		if timelineDue(sig, before, now) {
			o.timeline = timelineLine(*sig)
		}
		return nil
	})
}

func (s *Signals) alertGroup(ctx context.Context, n alertmanager.Notification) error {
	key := AlertGroupKey(n.GroupKey)
	incident, err := s.incidentOpen(ctx, key)
	if err != nil {
		return err
	}
	critical := n.Critical()
	if critical {
		// The change-failure rate counts when a critical alert started.
		var at time.Time
		for _, a := range n.Alerts {
			if a.Critical() && (at.IsZero() || a.StartsAt.Before(at)) {
				at = a.StartsAt
			}
		}
		if at.IsZero() {
			at = s.now()
		}
		if err := s.store.AddRecord(ctx, Record{Kind: RecordCritical, Key: key, Title: n.Name(), Link: n.ExternalURL, At: at}); err != nil {
			return wrap("record critical alert", err)
		}
	}
	return s.decide(ctx, key, incident, func(sig *Signal, o *outcome, now time.Time) error {
		before := sig.Status
		sig.Key, sig.Source = key, SourceAlertmanager
		sig.Title, sig.Labels, sig.Truncated = n.Name(), alertmanager.Labels(n.CommonLabels), n.TruncatedAlerts
		sig.Description = n.CommonAnnotations["summary"]
		if sig.Description == "" {
			sig.Description = n.CommonAnnotations["description"]
		}
		sig.Alerts = sig.Alerts[:0]
		for _, a := range n.Alerts {
			sig.Alerts = append(sig.Alerts, AlertLine{
				Status: a.Status, Labels: alertmanager.Labels(a.Labels), Summary: firstOf(a.Annotations["summary"], a.Annotations["description"]),
				Severity: a.Labels["severity"], StartsAt: a.StartsAt, Fingerprint: a.Fingerprint,
			})
		}
		if len(n.Alerts) > 0 && n.Alerts[0].GeneratorURL != "" {
			sig.Link = n.Alerts[0].GeneratorURL
		} else if n.ExternalURL != "" {
			sig.Link = n.ExternalURL
		}
		if n.Status == alertmanager.Resolved {
			if len(sig.Posts) == 0 {
				return errUnchanged
			}
			sig.Status, sig.Critical = StatusResolved, false
			redrawAll(sig, o, now)
		} else {
			sig.Status, sig.Critical = StatusFiring, critical
			if critical {
				route(sig, o, RoleCritical, SEV1, now, false, incident != 0)
				if sig.post(RoleDevy) != nil {
					o.dirty = append(o.dirty, RoleDevy) // it links the #critical message
				}
			} else {
				role := RoleDevy
				if sig.post(RoleCritical) != nil && sig.post(RoleDevy) == nil {
					role = RoleCritical // keep updating where people already look
				}
				route(sig, o, role, SEV3, now, false, incident != 0)
			}
		}
		if timelineDue(sig, before, now) {
			o.timeline = timelineLine(*sig)
		}
		return nil
	})
}

// suspect is the promotion that finished within the suspect window before
// seen, nil when none did.
func (s *Signals) suspect(ctx context.Context, seen time.Time) (*Suspect, error) {
	if s.promotions == nil {
		return nil, nil
	}
	p, ok, err := s.promotions.LastPromotion(ctx, seen)
	if err != nil {
		return nil, wrap("look up the last promotion", err)
	}
	if !ok || p.FinishedAt.IsZero() {
		return nil, nil
	}
	after := seen.Sub(p.FinishedAt)
	if after < 0 || after > s.cfg.SuspectWindow {
		return nil, nil
	}
	return &Suspect{Promotion: p, After: after}, nil
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
