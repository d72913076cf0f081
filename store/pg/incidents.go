package pg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

func getIncident(ctx context.Context, q querier, n uint64, forUpdate bool) (store.Incident, error) {
	return getRow[store.Incident](ctx, q, `SELECT data FROM incidents WHERE number = $1`, n, forUpdate, fmt.Sprintf("incident %d", n))
}

func putIncident(ctx context.Context, tx pgx.Tx, inc store.Incident) error {
	_, err := tx.Exec(ctx, `UPDATE incidents SET data = $2 WHERE number = $1`, inc.Number, inc)
	return err
}

// appendEntry adds e to incident inc's timeline and moves its LastEntryAt.
// The caller holds the incident's row lock (so the next seq is its own) and
// writes inc back.
func appendEntry(ctx context.Context, tx pgx.Tx, inc *store.Incident, e store.TimelineEntry) error {
	if err := tx.QueryRow(ctx, `SELECT COALESCE(max(seq), 0) + 1 FROM incident_timeline WHERE incident = $1`, inc.Number).Scan(&e.Seq); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO incident_timeline (incident, seq, ref, data) VALUES ($1, $2, $3, $4)`, inc.Number, e.Seq, e.Ref, e); err != nil {
		return fmt.Errorf("append to the timeline of incident %d: %w", inc.Number, err)
	}
	if e.At.After(inc.LastEntryAt) {
		inc.LastEntryAt = e.At
	}
	return nil
}

// OpenIncident stores a new open incident and gives it the next number. Its
// opening is the first timeline entry.
func (db *DB) OpenIncident(inc store.Incident) (store.Incident, error) {
	err := db.write("open the incident", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		if err := tx.QueryRow(ctx, `SELECT nextval('incident_numbers')`).Scan(&inc.Number); err != nil {
			return err
		}
		inc.Status, inc.OpenedAt, inc.LastEntryAt = store.IncidentOpen, now, now
		if _, err := tx.Exec(ctx, `INSERT INTO incidents (number, data) VALUES ($1, $2)`, inc.Number, inc); err != nil {
			return err
		}
		text := inc.Severity + " opened by <@" + inc.OpenedBy + ">: " + inc.Title
		if err := appendEntry(ctx, tx, &inc, store.TimelineEntry{At: now, Kind: store.EntryOpened, Actor: inc.OpenedBy, Text: text}); err != nil {
			return err
		}
		if err := putIncident(ctx, tx, inc); err != nil {
			return err
		}
		return audit(ctx, tx, store.AuditEntry{At: now, Actor: inc.OpenedBy, Action: "incident.opened", Subject: inc.Subject(),
			Detail: map[string]string{"title": inc.Title, "severity": inc.Severity, "commander": inc.Commander}})
	})
	return inc, err
}

// change alters an incident inside updateIncident's transaction and says
// what to record: a timeline entry (nil for none) and the audit entry.
type change func(ctx context.Context, tx pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error)

// updateIncident reads incident n under its row lock, lets ch alter it, then
// writes the incident, its timeline entry and its audit entry in the one
// transaction.
func (db *DB) updateIncident(op string, n uint64, ch change) (store.Incident, error) {
	var inc store.Incident
	err := db.write(op, func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		var err error
		if inc, err = getIncident(ctx, tx, n, true); err != nil {
			return err
		}
		e, a, err := ch(ctx, tx, &inc, now)
		if err != nil {
			return err
		}
		if e != nil {
			if e.At.IsZero() {
				e.At = now
			}
			if err := appendEntry(ctx, tx, &inc, *e); err != nil {
				return err
			}
		}
		if err := putIncident(ctx, tx, inc); err != nil {
			return err
		}
		a.At, a.Subject = now, inc.Subject()
		return audit(ctx, tx, a)
	})
	return inc, err
}

// SetIncidentChannel records the incident's own channel.
func (db *DB) SetIncidentChannel(n uint64, channelID, name string) (store.Incident, error) {
	return db.updateIncident("record the incident's channel", n, func(ctx context.Context, tx pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		inc.Channel, inc.ChannelName = channelID, name
		if _, err := tx.Exec(ctx, `INSERT INTO incident_channels (channel, incident) VALUES ($1, $2)
			ON CONFLICT (channel) DO UPDATE SET incident = EXCLUDED.incident`, channelID, n); err != nil {
			return nil, store.AuditEntry{}, err
		}
		return nil, store.AuditEntry{Actor: "devy", Action: "incident.channel", Detail: map[string]string{"channel": channelID, "name": name}}, nil
	})
}

// Incident reads incident n.
func (db *DB) Incident(n uint64) (store.Incident, error) {
	var inc store.Incident
	err := db.read("read the incident", func(ctx context.Context, q querier) (err error) {
		inc, err = getIncident(ctx, q, n, false)
		return err
	})
	return inc, err
}

// IncidentByChannel finds the incident whose own channel is channelID.
func (db *DB) IncidentByChannel(channelID string) (store.Incident, error) {
	var inc store.Incident
	err := db.read("find the channel's incident", func(ctx context.Context, q querier) error {
		err := q.QueryRow(ctx, `SELECT i.data FROM incident_channels c JOIN incidents i ON i.number = c.incident WHERE c.channel = $1`, channelID).Scan(&inc)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	return inc, err
}

// Incidents returns every incident, newest first.
func (db *DB) Incidents() ([]store.Incident, error) {
	var out []store.Incident
	err := db.read("list incidents", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT data FROM incidents ORDER BY number DESC`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[store.Incident])
		return err
	})
	return out, err
}

func timeline(ctx context.Context, q querier, n uint64) ([]store.TimelineEntry, error) {
	rows, err := q.Query(ctx, `SELECT data FROM incident_timeline WHERE incident = $1 ORDER BY seq`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[store.TimelineEntry])
}

// Timeline returns incident n's timeline, oldest first.
func (db *DB) Timeline(n uint64) ([]store.TimelineEntry, error) {
	var out []store.TimelineEntry
	err := db.write("read the timeline", func(ctx context.Context, tx pgx.Tx) error {
		if _, err := getIncident(ctx, tx, n, false); err != nil {
			return err
		}
		var err error
		out, err = timeline(ctx, tx, n)
		return err
	})
	return out, err
}

// AddTimelineEntry adds e to incident n's timeline. An entry whose Ref is
// already on the timeline is not added again (added is false).
func (db *DB) AddTimelineEntry(n uint64, e store.TimelineEntry) (inc store.Incident, added bool, err error) {
	inc, err = db.updateIncident("add to the timeline", n, func(ctx context.Context, tx pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		if e.Ref != "" {
			var dup bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_timeline WHERE incident = $1 AND ref = $2)`, n, e.Ref).Scan(&dup); err != nil {
				return nil, store.AuditEntry{}, err
			}
			if dup {
				return nil, store.AuditEntry{}, errDuplicate
			}
		}
		added = true
		return &e, store.AuditEntry{Actor: e.Actor, Action: "incident." + e.Kind, Detail: map[string]string{"text": e.Text, "ref": e.Ref}}, nil
	})
	if errors.Is(err, errDuplicate) {
		inc, err = db.Incident(n)
		return inc, false, err
	}
	return inc, added, err
}

// errDuplicate rolls back an entry that is already on the timeline.
var errDuplicate = errors.New("pg: duplicate timeline entry")

// SetIncidentSeverity changes an open incident's severity.
func (db *DB) SetIncidentSeverity(n uint64, severity, by string) (store.Incident, error) {
	return db.updateIncident("change the severity", n, func(_ context.Context, _ pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		if !inc.Open() {
			return nil, store.AuditEntry{}, store.ErrIncidentResolved
		}
		before := inc.Severity
		inc.Severity = severity
		e := &store.TimelineEntry{Kind: store.EntrySeverity, Actor: by, Text: fmt.Sprintf("Severity %s → %s by <@%s>", before, severity, by)}
		return e, store.AuditEntry{Actor: by, Action: "incident.severity", Detail: map[string]string{"from": before, "to": severity}}, nil
	})
}

// SetIncidentCommander hands an open incident to another commander.
func (db *DB) SetIncidentCommander(n uint64, commander, by string) (store.Incident, error) {
	return db.updateIncident("change the commander", n, func(_ context.Context, _ pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		if !inc.Open() {
			return nil, store.AuditEntry{}, store.ErrIncidentResolved
		}
		before := inc.Commander
		inc.Commander = commander
		e := &store.TimelineEntry{Kind: store.EntryCommander, Actor: by, Text: fmt.Sprintf("Commander <@%s> → <@%s> (by <@%s>)", before, commander, by)}
		return e, store.AuditEntry{Actor: by, Action: "incident.commander", Detail: map[string]string{"from": before, "to": commander}}, nil
	})
}

// ResolveIncident marks an open incident resolved; a resolved one refuses
// with store.ErrIncidentResolved, so concurrent resolutions resolve it once.
func (db *DB) ResolveIncident(n uint64, by, resolution string) (store.Incident, error) {
	return db.updateIncident("resolve the incident", n, func(_ context.Context, _ pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		if !inc.Open() {
			return nil, store.AuditEntry{}, store.ErrIncidentResolved
		}
		inc.Status, inc.ResolvedAt, inc.ResolvedBy, inc.Resolution = store.IncidentResolved, now, by, resolution
		text := "Resolved by <@" + by + ">"
		if resolution != "" {
			text += ": " + resolution
		}
		e := &store.TimelineEntry{Kind: store.EntryResolved, Actor: by, Text: text}
		return e, store.AuditEntry{Actor: by, Action: "incident.resolved", Detail: map[string]string{"resolution": resolution,
			"duration": now.Sub(inc.OpenedAt).Round(time.Second).String()}}, nil
	})
}

// SavePostmortem records the postmortem's answers and where it was filed.
func (db *DB) SavePostmortem(n uint64, pm store.Postmortem) (store.Incident, error) {
	return db.updateIncident("record the postmortem", n, func(_ context.Context, _ pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		if pm.WrittenAt.IsZero() {
			pm.WrittenAt = now
		}
		inc.Postmortem = &pm
		inc.FilingBy, inc.FilingAt = "", time.Time{}
		detail := map[string]string{"issue": pm.IssueURL, "action_items": strconv.Itoa(len(pm.ActionItems)), "action_issues": strconv.Itoa(len(pm.ActionIssues))}
		return nil, store.AuditEntry{Actor: pm.WrittenBy, Action: "incident.postmortem", Detail: detail}, nil
	})
}

// ClaimPostmortem records that by is filing incident n's postmortem (see
// store.Incident.ClaimFiling), with the incident's row locked.
func (db *DB) ClaimPostmortem(n uint64, by string, stale time.Duration) (store.Incident, error) {
	return db.updateIncident("claim the postmortem", n, func(_ context.Context, _ pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		if err := inc.ClaimFiling(by, now, stale); err != nil {
			return nil, store.AuditEntry{}, err
		}
		return nil, store.AuditEntry{Actor: by, Action: "incident.postmortem_filing"}, nil
	})
}

// MarkNudged records that a reminder of kind is sent at at, if due says it
// is still due for the incident as stored now (its row locked); otherwise
// store.ErrNotDue.
func (db *DB) MarkNudged(n uint64, kind string, at time.Time, due func(store.Incident) bool) (store.Incident, error) {
	return db.updateIncident("record the reminder", n, func(_ context.Context, _ pgx.Tx, inc *store.Incident, now time.Time) (*store.TimelineEntry, store.AuditEntry, error) {
		if !due(*inc) {
			return nil, store.AuditEntry{}, store.ErrNotDue
		}
		switch kind {
		case store.NudgeQuiet:
			inc.QuietNudgedAt = at
		case store.NudgePostmortem:
			inc.PostmortemNudgedAt = at
		default:
			return nil, store.AuditEntry{}, fmt.Errorf("pg: unknown nudge kind %q", kind)
		}
		return nil, store.AuditEntry{Actor: "devy", Action: "incident.nudged", Detail: map[string]string{"kind": kind}}, nil
	})
}
