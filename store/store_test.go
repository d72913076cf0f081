package store

// The behaviour both stores share is tested once, in storetest (see
// contract_test.go); this file keeps what only bbolt has: its file lock and
// its migrations.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenSecondProcessGetsClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devy.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Open(path, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: got %v, want a clear 'locked by another process' error", err)
	}
}

func TestReopenKeepsStateAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devy.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Audit(AuditEntry{Actor: "U1", Action: "test.one", Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.SchemaVersion()
	if err != nil || v != uint64(len(migrations())) {
		t.Fatalf("schema version = %d, %v; want %d", v, err, len(migrations()))
	}
	log, err := db.AuditLog(0)
	if err != nil || len(log) != 1 || log[0].Action != "test.one" || log[0].Seq != 1 {
		t.Fatalf("audit after reopen = %+v, %v", log, err)
	}
}

// Every migration must have a case here: the test fails when a migration is
// added without one.
func TestMigrations(t *testing.T) {
	cases := map[int]func(t *testing.T, tx *bolt.Tx){
		1: func(t *testing.T, tx *bolt.Tx) {
			for _, b := range [][]byte{bucketAudit, bucketLocks, bucketRequests} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 1", b)
				}
			}
		},
		2: func(t *testing.T, tx *bolt.Tx) {
			for _, b := range [][]byte{bucketReviewApps, bucketPRThreads} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 2", b)
				}
			}
		},
		3: func(t *testing.T, tx *bolt.Tx) {
			for _, b := range [][]byte{bucketIncidents, bucketIncidentTimeline, bucketIncidentChannels} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing after migration 3", b)
				}
			}
		},
	}
	ms := migrations()
	if len(cases) != len(ms) {
		t.Fatalf("%d migrations but %d test cases: add a case for each migration", len(ms), len(cases))
	}
	for i := range ms {
		t.Run(ms[i].name, func(t *testing.T) {
			b, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			err = b.Update(func(tx *bolt.Tx) error { return migrateTo(tx, ms[:i+1]) })
			if err != nil {
				t.Fatal(err)
			}
			_ = b.View(func(tx *bolt.Tx) error {
				if got := schemaVersion(tx); got != uint64(i+1) {
					t.Errorf("schema version = %d, want %d", got, i+1)
				}
				cases[i+1](t, tx)
				return nil
			})
		})
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devy.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Update(func(tx *bolt.Tx) error {
		m, _ := tx.CreateBucketIfNotExists(bucketMeta)
		return m.Put(keySchema, itob(999))
	})
	b.Close()
	if _, err := Open(path, time.Second); err == nil || !strings.Contains(err.Error(), "upgrade Devy") {
		t.Fatalf("got %v, want a refusal naming the upgrade", err)
	}
}
