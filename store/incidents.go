package store

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Incident statuses.
const (
	IncidentOpen     = "open"
	IncidentResolved = "resolved"
)

// Timeline entry kinds.
const (
	EntryOpened    = "opened"
	EntryUpdate    = "update"
	EntrySeverity  = "severity"
	EntryCommander = "commander"
	EntryPromotion = "promotion"
	EntryPin       = "pin"
	EntryResolved  = "resolved"
)

// Nudge kinds: what Devy reminded people of, and when, so that reminders
// are derived from stored state and survive restarts.
const (
	NudgeQuiet      = "quiet"      // an open incident with no recent timeline entry
	NudgePostmortem = "postmortem" // a resolved incident without its postmortem
)

// ErrIncidentResolved refuses a change that only an open incident takes.
var ErrIncidentResolved = errors.New("store: incident is resolved")

// ErrNotDue refuses to record a reminder that is no longer due: another
// Devy process sent it first, or the incident moved on.
var ErrNotDue = errors.New("store: reminder no longer due")

// ErrPostmortemFiled and ErrPostmortemFiling refuse a claim to file an
// incident's postmortem (ClaimPostmortem): it is filed, or someone else is
// filing it right now.
var (
	ErrPostmortemFiled  = errors.New("store: the postmortem is filed")
	ErrPostmortemFiling = errors.New("store: the postmortem is being filed")
)

// Incident is one incident, from its opening to its postmortem. Text fields
// hold Slack mrkdwn (what people typed, escaped as Slack escapes it).
type Incident struct {
	Number    uint64    `json:"number"`
	Title     string    `json:"title"`
	Severity  string    `json:"severity"` // SEV1, SEV2 or SEV3
	Summary   string    `json:"summary,omitempty"`
	Status    string    `json:"status"`
	Commander string    `json:"commander"` // Slack user id
	OpenedBy  string    `json:"opened_by"`
	OpenedAt  time.Time `json:"opened_at"`
	OpenedIn  string    `json:"opened_in,omitempty"` // channel the command was typed in

	Channel     string `json:"channel,omitempty"` // the incident's own channel id
	ChannelName string `json:"channel_name,omitempty"`

	ResolvedAt time.Time `json:"resolved_at,omitempty"`
	ResolvedBy string    `json:"resolved_by,omitempty"`
	Resolution string    `json:"resolution,omitempty"`

	LastEntryAt        time.Time `json:"last_entry_at"` // the newest timeline entry
	QuietNudgedAt      time.Time `json:"quiet_nudged_at,omitempty"`
	PostmortemNudgedAt time.Time `json:"postmortem_nudged_at,omitempty"`

	Postmortem *Postmortem `json:"postmortem,omitempty"`
	// FilingBy is filing the postmortem since FilingAt (ClaimPostmortem);
	// cleared when it is saved.
	FilingBy string    `json:"filing_by,omitempty"`
	FilingAt time.Time `json:"filing_at,omitempty"`

	// SuspectPromotion is the promotion request the incident followed,
	// when it was opened from a signal that named one; it counts that
	// promotion as a change failure.
	SuspectPromotion uint64 `json:"suspect_promotion,omitempty"`
}

// ClaimFiling makes by the one filing the postmortem at now, unless it is
// filed already or another claim is younger than stale. Both stores apply
// it inside the transaction that holds the incident, so that two people
// submitting the form at once file one postmortem, not two.
func (inc *Incident) ClaimFiling(by string, now time.Time, stale time.Duration) error {
	if inc.Postmortem != nil && inc.Postmortem.IssueURL != "" {
		return ErrPostmortemFiled
	}
	if inc.FilingBy != "" && now.Sub(inc.FilingAt) < stale {
		return ErrPostmortemFiling
	}
	inc.FilingBy, inc.FilingAt = by, now
	return nil
}

// Subject names the incident in the audit log.
func (i Incident) Subject() string { return "incident " + strconv.FormatUint(i.Number, 10) }

// Open reports whether the incident is still going on.
func (i Incident) Open() bool { return i.Status == IncidentOpen }

// TimelineEntry is one thing that happened during an incident.
type TimelineEntry struct {
	Seq   uint64    `json:"seq"`
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Actor string    `json:"actor"` // Slack user id, or "devy"
	Text  string    `json:"text"`
	// Ref identifies what the entry is about (a pinned message's ts, a
	// promotion request), so the same thing is recorded once.
	Ref string `json:"ref,omitempty"`
}

// Postmortem is the answers of the postmortem form and where it was filed.
type Postmortem struct {
	WrittenBy    string      `json:"written_by"`
	WrittenAt    time.Time   `json:"written_at"`
	WhatHappened string      `json:"what_happened"`
	Impact       string      `json:"impact"`
	Whys         []string    `json:"whys"`
	RootCause    string      `json:"root_cause"`
	Categories   []string    `json:"categories"`
	ActionItems  []string    `json:"action_items,omitempty"`
	Fix          string      `json:"fix,omitempty"`
	WentWell     string      `json:"went_well,omitempty"`
	IssueNumber  int         `json:"issue_number,omitempty"`
	IssueURL     string      `json:"issue_url,omitempty"` // empty: not filed on GitHub (yet)
	ActionIssues []IssueLink `json:"action_issues,omitempty"`
}

// IssueLink is a GitHub issue filed for an action item.
type IssueLink struct {
	Title  string `json:"title"`
	Number int    `json:"number"`
	URL    string `json:"url"`
}

// OpenIncident stores a new open incident and gives it the next number. Its
// opening is the first timeline entry, whose sentence is text.
func (s Rules) OpenIncident(inc Incident, text string) (Incident, error) {
	err := s.b.Update("open the incident", func(tx Tx) error {
		now := s.now()
		inc.Status, inc.OpenedAt, inc.LastEntryAt = IncidentOpen, now, now
		var err error
		if inc, err = tx.NewIncident(inc); err != nil {
			return err
		}
		if err := appendEntry(tx, &inc, TimelineEntry{At: now, Kind: EntryOpened, Actor: inc.OpenedBy, Text: text}); err != nil {
			return err
		}
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: inc.OpenedBy, Action: "incident.opened", Subject: inc.Subject(),
			Detail: map[string]string{"title": inc.Title, "severity": inc.Severity, "commander": inc.Commander}})
	})
	return inc, err
}

// appendEntry adds e to incident inc's timeline and moves its LastEntryAt.
// Callers write inc back.
func appendEntry(tx Tx, inc *Incident, e TimelineEntry) error {
	if err := tx.AppendTimeline(inc.Number, e); err != nil {
		return err
	}
	if e.At.After(inc.LastEntryAt) {
		inc.LastEntryAt = e.At
	}
	return nil
}

// change alters an incident inside updateIncident's transaction and says
// what to record: a timeline entry (nil for none) and the audit entry.
type change func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error)

// updateIncident reads incident n (held until the transaction ends), lets
// ch alter it, then writes the incident, its timeline entry and its audit
// entry in the one transaction.
func (s Rules) updateIncident(op string, n uint64, ch change) (Incident, error) {
	var inc Incident
	err := s.b.Update(op, func(tx Tx) error {
		now := s.now()
		var err error
		if inc, err = tx.Incident(n); err != nil {
			return err
		}
		e, audit, err := ch(tx, &inc, now)
		if err != nil {
			return err
		}
		if e != nil {
			if e.At.IsZero() {
				e.At = now
			}
			if err := appendEntry(tx, &inc, *e); err != nil {
				return err
			}
		}
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		audit.At, audit.Subject = now, inc.Subject()
		return tx.AppendAudit(audit)
	})
	return inc, err
}

// SetIncidentChannel records the incident's own channel, so that commands
// typed there and reactions on its messages find the incident.
func (s Rules) SetIncidentChannel(n uint64, channelID, name string) (Incident, error) {
	return s.updateIncident("record the incident's channel", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		inc.Channel, inc.ChannelName = channelID, name
		if err := tx.PutIncidentChannel(channelID, n); err != nil {
			return nil, AuditEntry{}, err
		}
		return nil, AuditEntry{Actor: "devy", Action: "incident.channel", Detail: map[string]string{"channel": channelID, "name": name}}, nil
	})
}

// Incident reads incident n.
func (s Rules) Incident(n uint64) (Incident, error) {
	var inc Incident
	err := s.b.View("read the incident", func(tx Tx) (err error) {
		inc, err = tx.Incident(n)
		return err
	})
	return inc, err
}

// Timeline returns incident n's timeline, oldest first.
func (s Rules) Timeline(n uint64) ([]TimelineEntry, error) {
	var out []TimelineEntry
	err := s.b.View("read the timeline", func(tx Tx) error {
		if _, err := tx.Incident(n); err != nil {
			return err
		}
		var err error
		out, err = tx.Timeline(n)
		return err
	})
	return out, err
}

// AddTimelineEntry adds e to incident n's timeline. An entry whose Ref is
// already on the timeline is not added again (added is false): the same
// message pinned twice is one entry.
func (s Rules) AddTimelineEntry(n uint64, e TimelineEntry) (inc Incident, added bool, err error) {
	inc, err = s.updateIncident("add to the timeline", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		added = false
		if e.Ref != "" {
			entries, err := tx.Timeline(n)
			if err != nil {
				return nil, AuditEntry{}, err
			}
			for _, x := range entries {
				if x.Ref == e.Ref {
					return nil, AuditEntry{}, errDuplicate
				}
			}
		}
		added = true
		return &e, AuditEntry{Actor: e.Actor, Action: "incident." + e.Kind, Detail: map[string]string{"text": e.Text, "ref": e.Ref}}, nil
	})
	if errors.Is(err, errDuplicate) {
		inc, err = s.Incident(n)
		return inc, false, err
	}
	return inc, added, err
}

// errDuplicate rolls back an entry that is already on the timeline.
var errDuplicate = errors.New("store: duplicate timeline entry")

// SetIncidentSeverity changes an open incident's severity; text makes the
// timeline's sentence from the incident as it was.
func (s Rules) SetIncidentSeverity(n uint64, severity, by string, text func(was Incident) string) (Incident, error) {
	return s.updateIncident("change the severity", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		if !inc.Open() {
			return nil, AuditEntry{}, ErrIncidentResolved
		}
		was := *inc
		inc.Severity = severity
		e := &TimelineEntry{Kind: EntrySeverity, Actor: by, Text: text(was)}
		return e, AuditEntry{Actor: by, Action: "incident.severity", Detail: map[string]string{"from": was.Severity, "to": severity}}, nil
	})
}

// SetIncidentCommander hands an open incident to another commander; text
// makes the timeline's sentence from the incident as it was.
func (s Rules) SetIncidentCommander(n uint64, commander, by string, text func(was Incident) string) (Incident, error) {
	return s.updateIncident("change the commander", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		if !inc.Open() {
			return nil, AuditEntry{}, ErrIncidentResolved
		}
		was := *inc
		inc.Commander = commander
		e := &TimelineEntry{Kind: EntryCommander, Actor: by, Text: text(was)}
		return e, AuditEntry{Actor: by, Action: "incident.commander", Detail: map[string]string{"from": was.Commander, "to": commander}}, nil
	})
}

// ResolveIncident marks an open incident resolved, with text the timeline's
// sentence. A resolved one refuses with ErrIncidentResolved, so concurrent
// resolutions resolve it once.
func (s Rules) ResolveIncident(n uint64, by, resolution, text string) (Incident, error) {
	return s.updateIncident("resolve the incident", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		if !inc.Open() {
			return nil, AuditEntry{}, ErrIncidentResolved
		}
		inc.Status, inc.ResolvedAt, inc.ResolvedBy, inc.Resolution = IncidentResolved, now, by, resolution
		e := &TimelineEntry{Kind: EntryResolved, Actor: by, Text: text}
		return e, AuditEntry{Actor: by, Action: "incident.resolved", Detail: map[string]string{"resolution": resolution,
			"duration": now.Sub(inc.OpenedAt).Round(time.Second).String()}}, nil
	})
}

// SavePostmortem records the postmortem's answers and where it was filed
// (IssueURL empty when it could not be filed on GitHub).
func (s Rules) SavePostmortem(n uint64, pm Postmortem) (Incident, error) {
	return s.updateIncident("record the postmortem", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		if pm.WrittenAt.IsZero() {
			pm.WrittenAt = now
		}
		inc.Postmortem = &pm
		inc.FilingBy, inc.FilingAt = "", time.Time{}
		detail := map[string]string{"issue": pm.IssueURL, "action_items": strconv.Itoa(len(pm.ActionItems)), "action_issues": strconv.Itoa(len(pm.ActionIssues))}
		return nil, AuditEntry{Actor: pm.WrittenBy, Action: "incident.postmortem", Detail: detail}, nil
	})
}

// ClaimPostmortem records that by is filing incident n's postmortem (see
// Incident.ClaimFiling); on ErrPostmortemFiled or ErrPostmortemFiling it
// returns the incident as stored.
func (s Rules) ClaimPostmortem(n uint64, by string, stale time.Duration) (Incident, error) {
	return s.updateIncident("claim the postmortem", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		if err := inc.ClaimFiling(by, now, stale); err != nil {
			return nil, AuditEntry{}, err
		}
		return nil, AuditEntry{Actor: by, Action: "incident.postmortem_filing"}, nil
	})
}

// MarkNudged records that a reminder of kind is sent at at, if due says it
// is still due for the incident as stored now; otherwise it records nothing
// and returns ErrNotDue. Processes sharing the store thus send each
// reminder once.
func (s Rules) MarkNudged(n uint64, kind string, at time.Time, due func(Incident) bool) (Incident, error) {
	return s.updateIncident("record the reminder", n, func(tx Tx, inc *Incident, now time.Time) (*TimelineEntry, AuditEntry, error) {
		if !due(*inc) {
			return nil, AuditEntry{}, ErrNotDue
		}
		switch kind {
		case NudgeQuiet:
			inc.QuietNudgedAt = at
		case NudgePostmortem:
			inc.PostmortemNudgedAt = at
		default:
			return nil, AuditEntry{}, fmt.Errorf("store: unknown nudge kind %q", kind)
		}
		return nil, AuditEntry{Actor: "devy", Action: "incident.nudged", Detail: map[string]string{"kind": kind}}, nil
	})
}
