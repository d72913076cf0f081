package bolt

import (
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// Every migration must have a case here: the test fails when a migration is
// added without one.
func TestMigrations(t *testing.T) {
	cases := map[int]func(t *testing.T, tx *bbolt.Tx){
		1: func(t *testing.T, tx *bbolt.Tx) {
			for _, b := range [][]byte{bucketAudit, bucketLocks, bucketRequests} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 1", b)
				}
			}
		},
		2: func(t *testing.T, tx *bbolt.Tx) {
			for _, b := range [][]byte{bucketReviewApps, bucketPRThreads} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 2", b)
				}
			}
		},
		3: func(t *testing.T, tx *bbolt.Tx) {
			for _, b := range [][]byte{bucketIncidents, bucketIncidentTimeline, bucketIncidentChannels} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 3", b)
				}
			}
		},
		4: func(t *testing.T, tx *bbolt.Tx) {
			for _, b := range [][]byte{bucketWebhookDeliveries, bucketOutbox} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 4", b)
				}
			}
		},
		5: func(t *testing.T, tx *bbolt.Tx) {
			for _, b := range [][]byte{bucketSignals, bucketRecords, bucketSlots} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 5", b)
				}
			}
		},
		6: func(t *testing.T, tx *bbolt.Tx) {
			if tx.Bucket(bucketVerifications) == nil {
				t.Errorf("bucket %s missing after migration 6", bucketVerifications)
			}
		},
	}
	ms := migrations()
	if len(cases) != len(ms) {
		t.Fatalf("%d migrations but %d test cases: add a case for each migration", len(ms), len(cases))
	}
	for i := range ms {
		t.Run(ms[i].name, func(t *testing.T) {
			b, err := bbolt.Open(filepath.Join(t.TempDir(), "m.db"), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			err = b.Update(func(tx *bbolt.Tx) error { return migrateTo(tx, ms[:i+1]) })
			if err != nil {
				t.Fatal(err)
			}
			_ = b.View(func(tx *bbolt.Tx) error {
				if got := schemaVersion(tx); got != uint64(i+1) {
					t.Errorf("schema version = %d, want %d", got, i+1)
				}
				cases[i+1](t, tx)
				return nil
			})
		})
	}
}
