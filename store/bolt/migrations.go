package bolt

import (
	"fmt"

	bbolt "go.etcd.io/bbolt"
)

// A migration moves the file from schema version i to i+1 (i is its index in
// migrations()). They run in order, in the same transaction as the version
// bump, so a file is never half-migrated. Each one has its own test case in
// migrations_test.go, which fails when one is missing.
type migration struct {
	name string
	up   func(tx *bbolt.Tx) error
}

func migrations() []migration {
	return []migration{
		{"create meta, audit, locks and requests buckets", func(tx *bbolt.Tx) error {
			for _, name := range [][]byte{bucketAudit, bucketLocks, bucketRequests} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		}},
		{"create reviewapps and prthreads buckets", func(tx *bbolt.Tx) error {
			for _, name := range [][]byte{bucketReviewApps, bucketPRThreads} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		}},
		{"create incidents, incident_timeline and incident_channels buckets", func(tx *bbolt.Tx) error {
			for _, name := range [][]byte{bucketIncidents, bucketIncidentTimeline, bucketIncidentChannels} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		}},
		{"create webhook_deliveries and outbox buckets", func(tx *bbolt.Tx) error {
			for _, name := range [][]byte{bucketWebhookDeliveries, bucketOutbox} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		}},
		{"create signals, records and slots buckets", func(tx *bbolt.Tx) error {
			for _, name := range [][]byte{bucketSignals, bucketRecords, bucketSlots} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		}},
		{"create the verifications bucket", func(tx *bbolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucketVerifications)
			return err
		}},
	}
}

func schemaVersion(tx *bbolt.Tx) uint64 {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	return btoi(meta.Get(keySchema))
}

// migrate brings the file up to the newest schema. A file newer than this
// binary knows is refused rather than silently misread.
func migrate(tx *bbolt.Tx) error {
	return migrateTo(tx, migrations())
}

func migrateTo(tx *bbolt.Tx, ms []migration) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	v := btoi(meta.Get(keySchema))
	if v > uint64(len(ms)) {
		return fmt.Errorf("file is at schema version %d but this Devy knows only up to %d; upgrade Devy", v, len(ms))
	}
	for i := v; i < uint64(len(ms)); i++ {
		if err := ms[i].up(tx); err != nil {
			return fmt.Errorf("migration %d (%s): %w", i+1, ms[i].name, err)
		}
		if err := meta.Put(keySchema, itob(i+1)); err != nil {
			return err
		}
	}
	return nil
}
