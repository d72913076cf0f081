package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

// Exporter is the store migrate-store copies from: a bbolt file
// (bolt.DB.Export).
type Exporter interface {
	Export(fn func(store.Record) error) error
}

// Import copies everything in the bbolt store from into db, which must hold
// no Devy data yet, in one transaction: requests, locks, the audit log (same
// sequence numbers, so the same order), review apps, PR threads, incidents
// with their timelines and channels, signals, records and slots. Sequences are set past the copied ids,
// so no request id or incident number is handed out twice. The copy is
// verified by counting both sides before it commits; the counts are
// returned.
func (db *DB) Import(ctx context.Context, from Exporter) (store.Counts, error) {
	var want, got store.Counts
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Nobody else may write while the copy is made.
		if _, err := tx.Exec(ctx, `LOCK TABLE audit, pipelines, requests, review_apps, pr_threads, incidents, incident_timeline, incident_channels,
			signals, records, slots IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		before, err := counts(ctx, tx)
		if err != nil {
			return err
		}
		if before != (store.Counts{}) {
			return fmt.Errorf("the PostgreSQL database already holds Devy data (%s); migrate-store copies into an empty one", describe(before))
		}
		var seq store.Sequences
		err = from.Export(func(rec store.Record) error {
			want.Add(rec)
			if rec.Sequences != nil {
				seq = *rec.Sequences
				return nil
			}
			return insert(ctx, tx, rec)
		})
		if err != nil {
			return err
		}
		for _, s := range []struct {
			sequence, table, column string
			last                    uint64
		}{
			{"request_ids", "requests", "id", seq.Requests},
			{"incident_numbers", "incidents", "number", seq.Incidents},
			{"audit_seq_seq", "audit", "seq", seq.Audit},
		} {
			// The next number is past both what bbolt handed out and
			// what was copied.
			_, err := tx.Exec(ctx, `SELECT setval('`+s.sequence+`', GREATEST($1::bigint, (SELECT COALESCE(max(`+s.column+`), 0) FROM `+s.table+`), 1),
				GREATEST($1::bigint, (SELECT COALESCE(max(`+s.column+`), 0) FROM `+s.table+`)) > 0)`, int64(s.last))
			if err != nil {
				return fmt.Errorf("set sequence %s: %w", s.sequence, err)
			}
		}
		if got, err = counts(ctx, tx); err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("the copy does not match: bbolt has %s, PostgreSQL got %s; nothing was committed", describe(want), describe(got))
		}
		return nil
	})
	if err != nil {
		return got, db.fail("import", err)
	}
	return got, nil
}

func insert(ctx context.Context, tx pgx.Tx, rec store.Record) error {
	var err error
	switch {
	case rec.Audit != nil:
		e := rec.Audit
		var detail any
		if len(e.Detail) > 0 {
			detail = e.Detail
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit (seq, at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
			e.Seq, e.At, e.Actor, e.Action, e.Subject, detail)
	case rec.Lock != nil:
		_, err = tx.Exec(ctx, `INSERT INTO pipelines (pipeline, lock) VALUES ($1, $2)`, rec.Lock.Pipeline, rec.Lock)
	case rec.Request != nil:
		r := rec.Request
		_, err = tx.Exec(ctx, `INSERT INTO requests (id, pipeline, status, data) VALUES ($1, $2, $3, $4)`, r.ID, r.Pipeline, r.Status, r)
	case rec.ReviewApp != nil:
		_, err = tx.Exec(ctx, `INSERT INTO review_apps (pr, data) VALUES ($1, $2)`, rec.ReviewApp.PR, rec.ReviewApp)
	case rec.PRThread != nil:
		_, err = tx.Exec(ctx, `INSERT INTO pr_threads (pr, channel, ts) VALUES ($1, $2, $3)`, rec.PRThread.PR, rec.PRThread.Thread.Channel, rec.PRThread.Thread.TS)
	case rec.Incident != nil:
		_, err = tx.Exec(ctx, `INSERT INTO incidents (number, data) VALUES ($1, $2)`, rec.Incident.Number, rec.Incident)
	case rec.Entry != nil:
		e := rec.Entry
		_, err = tx.Exec(ctx, `INSERT INTO incident_timeline (incident, seq, ref, data) VALUES ($1, $2, $3, $4)`, e.Incident, e.Entry.Seq, e.Entry.Ref, e.Entry)
	case rec.Channel != nil:
		_, err = tx.Exec(ctx, `INSERT INTO incident_channels (channel, incident) VALUES ($1, $2)`, rec.Channel.Channel, rec.Channel.Incident)
	case rec.Signal != nil:
		_, err = tx.Exec(ctx, `INSERT INTO signals (key, data) VALUES ($1, $2)`, rec.Signal.Key, []byte(rec.Signal.Data))
	case rec.Row != nil:
		r := rec.Row
		_, err = tx.Exec(ctx, `INSERT INTO records (kind, key, at, payload) VALUES ($1, $2, $3, $4)`, r.Kind, r.Key, r.At, []byte(r.Payload))
	case rec.Slot != nil:
		_, err = tx.Exec(ctx, `INSERT INTO slots (key, at) VALUES ($1, $2)`, rec.Slot.Key, rec.Slot.At)
	case rec.Verified != nil:
		v := rec.Verified
		_, err = tx.Exec(ctx, `INSERT INTO verifications (pipeline, sha, data) VALUES ($1, $2, $3)`, v.Pipeline, v.SHA, v)
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", describeRecord(rec), err)
	}
	return nil
}

func describe(c store.Counts) string {
	return fmt.Sprintf("%d audit entries, %d locks, %d requests, %d review apps, %d PR threads, %d incidents, %d timeline entries, %d incident channels, %d signals, %d records, %d slots, %d verifications",
		c.Audit, c.Locks, c.Requests, c.ReviewApps, c.PRThreads, c.Incidents, c.TimelineEntries, c.IncidentChannels, c.Signals, c.Records, c.Slots, c.Verifications)
}

func describeRecord(rec store.Record) string {
	switch {
	case rec.Audit != nil:
		return fmt.Sprintf("audit entry %d", rec.Audit.Seq)
	case rec.Lock != nil:
		return "the lock of pipeline " + rec.Lock.Pipeline
	case rec.Request != nil:
		return rec.Request.Subject()
	case rec.ReviewApp != nil:
		return "the review app of " + rec.ReviewApp.Subject()
	case rec.PRThread != nil:
		return fmt.Sprintf("the thread of PR #%d", rec.PRThread.PR)
	case rec.Incident != nil:
		return rec.Incident.Subject()
	case rec.Entry != nil:
		return fmt.Sprintf("timeline entry %d of incident %d", rec.Entry.Entry.Seq, rec.Entry.Incident)
	case rec.Channel != nil:
		return "incident channel " + rec.Channel.Channel
	case rec.Signal != nil:
		return "signal " + rec.Signal.Key
	case rec.Row != nil:
		return fmt.Sprintf("the %s record of %s at %s", rec.Row.Kind, rec.Row.Key, rec.Row.At.Format(time.RFC3339Nano))
	case rec.Slot != nil:
		return "slot " + rec.Slot.Key
	case rec.Verified != nil:
		return fmt.Sprintf("the verification of %s on %s", rec.Verified.SHA, rec.Verified.Pipeline)
	}
	return "a record"
}
