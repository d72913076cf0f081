package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/devy-chatops/devy/store"
	bbolt "go.etcd.io/bbolt"
)

// Export calls fn with everything in the file, read in one transaction so
// that the copy is consistent: first the sequences, then the audit log
// (oldest first), locks (expired ones too), requests, review apps, PR threads,
// each incident followed by its timeline, the incident channels, signals,
// records (each kind oldest first), slots and verifications (by pipeline).
// It stops at fn's first error.
func (db *DB) Export(fn func(store.Record) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		seq := store.Sequences{
			Audit:     tx.Bucket(bucketAudit).Sequence(),
			Requests:  tx.Bucket(bucketRequests).Sequence(),
			Incidents: tx.Bucket(bucketIncidents).Sequence(),
		}
		if err := fn(store.Record{Sequences: &seq}); err != nil {
			return err
		}
		each := func(bucket []byte, decode func(k, v []byte) (store.Record, error)) error {
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
			decode func(k, v []byte) (store.Record, error)
		}{
			{bucketAudit, func(_, v []byte) (store.Record, error) {
				var e store.AuditEntry
				return store.Record{Audit: &e}, json.Unmarshal(v, &e)
			}},
			{bucketLocks, func(_, v []byte) (store.Record, error) {
				var l store.Lock
				return store.Record{Lock: &l}, json.Unmarshal(v, &l)
			}},
			{bucketRequests, func(_, v []byte) (store.Record, error) {
				var r store.PromotionRequest
				return store.Record{Request: &r}, json.Unmarshal(v, &r)
			}},
			{bucketReviewApps, func(_, v []byte) (store.Record, error) {
				var r store.ReviewApp
				return store.Record{ReviewApp: &r}, json.Unmarshal(v, &r)
			}},
			{bucketPRThreads, func(k, v []byte) (store.Record, error) {
				t := store.PRThread{PR: int(btoi(k))}
				return store.Record{PRThread: &t}, json.Unmarshal(v, &t.Thread)
			}},
		}
		for _, s := range steps {
			if err := each(s.bucket, s.decode); err != nil {
				return err
			}
		}
		err := tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			var inc store.Incident
			if err := json.Unmarshal(v, &inc); err != nil {
				return fmt.Errorf("store: export incident %d: %w", btoi(k), err)
			}
			if err := fn(store.Record{Incident: &inc}); err != nil {
				return err
			}
			entries, err := timeline(tx, btoi(k))
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := fn(store.Record{Entry: &store.IncidentEntry{Incident: btoi(k), Entry: e}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = each(bucketIncidentChannels, func(k, v []byte) (store.Record, error) {
			return store.Record{Channel: &store.IncidentChannel{Channel: string(k), Incident: btoi(v)}}, nil
		})
		if err != nil {
			return err
		}
		err = each(bucketSignals, func(k, v []byte) (store.Record, error) {
			return store.Record{Signal: &store.SignalState{Key: string(k), Data: append([]byte(nil), v...)}}, nil
		})
		if err != nil {
			return err
		}
		records := tx.Bucket(bucketRecords)
		err = records.ForEach(func(kind, _ []byte) error {
			return records.Bucket(kind).ForEach(func(k, v []byte) error {
				var r store.RecordRow
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("store: export %s record %x: %w", kind, k, err)
				}
				return fn(store.Record{Row: &r})
			})
		})
		if err != nil {
			return err
		}
		err = each(bucketSlots, func(k, v []byte) (store.Record, error) {
			at, err := time.Parse(time.RFC3339Nano, string(v))
			return store.Record{Slot: &store.TakenSlot{Key: string(k), At: at}}, err
		})
		if err != nil {
			return err
		}
		verifications := tx.Bucket(bucketVerifications)
		return verifications.ForEach(func(pipeline, _ []byte) error {
			return verifications.Bucket(pipeline).ForEach(func(k, v []byte) error {
				var ver store.Verification
				if err := json.Unmarshal(v, &ver); err != nil {
					return fmt.Errorf("store: export the verification of %s on %s: %w", k, pipeline, err)
				}
				return fn(store.Record{Verified: &ver})
			})
		})
	})
}

// store.Counts counts what the file holds.
func (db *DB) Counts() (store.Counts, error) {
	var c store.Counts
	err := db.Export(func(rec store.Record) error { c.Add(rec); return nil })
	return c, err
}
