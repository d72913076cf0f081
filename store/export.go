package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Record is one item of an export: exactly one field is set.
type Record struct {
	Sequences *Sequences
	Audit     *AuditEntry
	Lock      *Lock
	Request   *PromotionRequest
	ReviewApp *ReviewApp
	PRThread  *PRThread
	Incident  *Incident
	Entry     *IncidentEntry
	Channel   *IncidentChannel
}

// Sequences are the last numbers handed out. The importing store must hand
// out larger ones: a request id or an incident number is never reused.
type Sequences struct {
	Audit, Requests, Incidents uint64
}

// PRThread is the thread of a pull request's notification.
type PRThread struct {
	PR     int
	Thread Thread
}

// IncidentEntry is a timeline entry of incident Incident.
type IncidentEntry struct {
	Incident uint64
	Entry    TimelineEntry
}

// IncidentChannel says that Channel is incident Incident's own channel.
type IncidentChannel struct {
	Channel  string
	Incident uint64
}

// Counts are how many records of each kind a store holds; devy
// migrate-store compares the two sides' after a copy.
type Counts struct {
	Audit, Locks, Requests, ReviewApps, PRThreads, Incidents, TimelineEntries, IncidentChannels int
}

// Add counts rec.
func (c *Counts) Add(rec Record) {
	switch {
	case rec.Audit != nil:
		c.Audit++
	case rec.Lock != nil:
		c.Locks++
	case rec.Request != nil:
		c.Requests++
	case rec.ReviewApp != nil:
		c.ReviewApps++
	case rec.PRThread != nil:
		c.PRThreads++
	case rec.Incident != nil:
		c.Incidents++
	case rec.Entry != nil:
		c.TimelineEntries++
	case rec.Channel != nil:
		c.IncidentChannels++
	}
}

// Export calls fn with everything in the file, read in one transaction so
// that the copy is consistent: first the sequences, then the audit log
// (oldest first), locks (expired ones too), requests, review apps, PR threads,
// each incident followed by its timeline, and the incident channels. It
// stops at fn's first error.
func (db *DB) Export(fn func(Record) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		seq := Sequences{
			Audit:     tx.Bucket(bucketAudit).Sequence(),
			Requests:  tx.Bucket(bucketRequests).Sequence(),
			Incidents: tx.Bucket(bucketIncidents).Sequence(),
		}
		if err := fn(Record{Sequences: &seq}); err != nil {
			return err
		}
		each := func(bucket []byte, decode func(k, v []byte) (Record, error)) error {
			return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				if v == nil {
					return nil // a nested bucket
				}
				rec, err := decode(k, v)
				if err != nil {
					return fmt.Errorf("store: export %s %x: %w", bucket, k, err)
				}
				return fn(rec)
			})
		}
		steps := []struct {
			bucket []byte
			decode func(k, v []byte) (Record, error)
		}{
			{bucketAudit, func(_, v []byte) (Record, error) {
				var e AuditEntry
				return Record{Audit: &e}, json.Unmarshal(v, &e)
			}},
			{bucketLocks, func(_, v []byte) (Record, error) {
				var l Lock
				return Record{Lock: &l}, json.Unmarshal(v, &l)
			}},
			{bucketRequests, func(_, v []byte) (Record, error) {
				var r PromotionRequest
				return Record{Request: &r}, json.Unmarshal(v, &r)
			}},
			{bucketReviewApps, func(_, v []byte) (Record, error) {
				var r ReviewApp
				return Record{ReviewApp: &r}, json.Unmarshal(v, &r)
			}},
			{bucketPRThreads, func(k, v []byte) (Record, error) {
				t := PRThread{PR: int(btoi(k))}
				return Record{PRThread: &t}, json.Unmarshal(v, &t.Thread)
			}},
		}
		for _, s := range steps {
			if err := each(s.bucket, s.decode); err != nil {
				return err
			}
		}
		err := tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			var inc Incident
			if err := json.Unmarshal(v, &inc); err != nil {
				return fmt.Errorf("store: export incident %d: %w", btoi(k), err)
			}
			if err := fn(Record{Incident: &inc}); err != nil {
				return err
			}
			entries, err := timeline(tx, btoi(k))
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := fn(Record{Entry: &IncidentEntry{Incident: btoi(k), Entry: e}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return each(bucketIncidentChannels, func(k, v []byte) (Record, error) {
			return Record{Channel: &IncidentChannel{Channel: string(k), Incident: btoi(v)}}, nil
		})
	})
}

// Counts counts what the file holds.
func (db *DB) Counts() (Counts, error) {
	var c Counts
	err := db.Export(func(rec Record) error { c.Add(rec); return nil })
	return c, err
}
