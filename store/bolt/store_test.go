package bolt

// The behaviour both stores share is tested once, in storetest (see
// contract_test.go); this file keeps what only bbolt has: its file lock and
// its schema version (each migration's own test is in migrations_test.go).

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/devy-chatops/devy/store"
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
	if err := db.Audit(store.AuditEntry{Actor: "U1", Action: "test.one", Subject: "x"}); err != nil {
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

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devy.db")
	b, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Update(func(tx *bbolt.Tx) error {
		m, _ := tx.CreateBucketIfNotExists(bucketMeta)
		return m.Put(keySchema, itob(999))
	})
	b.Close()
	if _, err := Open(path, time.Second); err == nil || !strings.Contains(err.Error(), "upgrade Devy") {
		t.Fatalf("got %v, want a refusal naming the upgrade", err)
	}
}
