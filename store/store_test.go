package store

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func open(t *testing.T) (*DB, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	db, err := Open(filepath.Join(t.TempDir(), "devy.db"), time.Second, WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, c
}

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

func newRequest(db *DB, t *testing.T, by string) PromotionRequest {
	t.Helper()
	r, err := db.CreateRequest(PromotionRequest{Pipeline: "p1", RequestedBy: by, ExpiresAt: db.Now().Add(30 * time.Minute), ReleaseID: "rel-1", ReleaseVersion: 7, SHA: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConcurrentApprovalsDecideOnce(t *testing.T) {
	db, _ := open(t)
	r := newRequest(db, t, "U1")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := db.Approve(r.ID, "U"+string(rune('A'+i)))
			var de *DecisionError
			switch {
			case err == nil:
				wins.Add(1)
			case errors.As(err, &de) && de.Reason == "decided":
			default:
				t.Errorf("approve %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d approvals won, want exactly 1", wins.Load())
	}
	got, _ := db.Request(r.ID)
	if got.Status != StatusPromoting || got.DecidedBy == "" {
		t.Fatalf("request after approvals: %+v", got)
	}
	l, _ := db.Lock("p1")
	if l == nil || l.RequestID != r.ID {
		t.Fatalf("lock after approval = %+v, want held by request %d", l, r.ID)
	}
	entries, _ := db.AuditLog(0, "promotion.approved")
	if len(entries) != 1 {
		t.Fatalf("%d approval audit entries, want 1", len(entries))
	}
}

func TestRequestLifecycle(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, db *DB, c *clock, r PromotionRequest)
	}{
		{"second request refused while one is pending", func(t *testing.T, db *DB, c *clock, r PromotionRequest) {
			_, err := db.CreateRequest(PromotionRequest{Pipeline: "p1", RequestedBy: "U2", ExpiresAt: c.now().Add(time.Hour)})
			var pe *PendingError
			if !errors.As(err, &pe) || pe.Request.ID != r.ID {
				t.Fatalf("got %v, want PendingError for %d", err, r.ID)
			}
		}},
		{"expired request cannot be approved and frees the pipeline", func(t *testing.T, db *DB, c *clock, r PromotionRequest) {
			c.add(31 * time.Minute)
			_, err := db.Approve(r.ID, "U2")
			var de *DecisionError
			if !errors.As(err, &de) || de.Reason != "expired" {
				t.Fatalf("approve expired: %v", err)
			}
			if _, err := db.CreateRequest(PromotionRequest{Pipeline: "p1", RequestedBy: "U2", ExpiresAt: c.now().Add(time.Hour)}); err != nil {
				t.Fatalf("new request after expiry: %v", err)
			}
			old, _ := db.Request(r.ID)
			if old.Status != StatusExpired {
				t.Fatalf("old request status %s, want expired", old.Status)
			}
		}},
		{"rejected request cannot be approved", func(t *testing.T, db *DB, c *clock, r PromotionRequest) {
			if _, err := db.CloseRequest(r.ID, StatusRejected, "U3", ""); err != nil {
				t.Fatal(err)
			}
			_, err := db.Approve(r.ID, "U2")
			var de *DecisionError
			if !errors.As(err, &de) || de.Reason != "decided" || de.Request.DecidedBy != "U3" {
				t.Fatalf("approve rejected: %v", err)
			}
		}},
		{"someone else's manual lock refuses approval", func(t *testing.T, db *DB, c *clock, r PromotionRequest) {
			if _, err := db.AcquireLock(Lock{Pipeline: "p1", Holder: "U9", Reason: "db work", Until: c.now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			_, err := db.Approve(r.ID, "U2")
			var de *DecisionError
			if !errors.As(err, &de) || de.Reason != "locked" || de.Lock.Holder != "U9" {
				t.Fatalf("approve while locked: %v", err)
			}
			got, _ := db.Request(r.ID)
			if got.Status != StatusPending {
				t.Fatalf("status %s after refused approval, want pending", got.Status)
			}
		}},
		{"finish releases the lock and gives back the requester's own", func(t *testing.T, db *DB, c *clock, r PromotionRequest) {
			if _, err := db.AcquireLock(Lock{Pipeline: "p1", Holder: "U1", Reason: "mine", Until: c.now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Approve(r.ID, "U2"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ReleaseLock("p1", "U1", true); err == nil {
				t.Fatal("a promotion's lock was released by hand")
			}
			if err := db.StartPromotion(r.ID, "promo-1"); err != nil {
				t.Fatal(err)
			}
			done, err := db.FinishPromotion(r.ID, StatusSucceeded, nil, "")
			if err != nil || done.Status != StatusSucceeded || done.PromotionID != "promo-1" {
				t.Fatalf("finish: %+v %v", done, err)
			}
			l, _ := db.Lock("p1")
			if l == nil || l.Holder != "U1" || l.RequestID != 0 || l.Reason != "mine" {
				t.Fatalf("lock after finish = %+v, want U1's manual lock back", l)
			}
			h, _ := db.AuditLog(0, "promotion.finished")
			if len(h) != 1 || h[0].Detail["approved_by"] != "U2" || h[0].Detail["outcome"] != "succeeded" {
				t.Fatalf("history entry = %+v", h)
			}
		}},
		{"manual lock expires", func(t *testing.T, db *DB, c *clock, r PromotionRequest) {
			if _, err := db.AcquireLock(Lock{Pipeline: "p2", Holder: "U1", Until: c.now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.AcquireLock(Lock{Pipeline: "p2", Holder: "U2", Until: c.now().Add(time.Hour)}); err == nil {
				t.Fatal("U2 took U1's active lock")
			}
			c.add(61 * time.Minute)
			if l, _ := db.Lock("p2"); l != nil {
				t.Fatalf("lock still active after expiry: %+v", l)
			}
			if _, err := db.AcquireLock(Lock{Pipeline: "p2", Holder: "U2", Until: c.now().Add(time.Hour)}); err != nil {
				t.Fatalf("U2 after expiry: %v", err)
			}
		}},
		{"only the holder or force releases a manual lock", func(t *testing.T, db *DB, c *clock, r PromotionRequest) {
			if _, err := db.AcquireLock(Lock{Pipeline: "p3", Holder: "U1", Until: c.now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			var le *LockedError
			if _, err := db.ReleaseLock("p3", "U2", false); !errors.As(err, &le) {
				t.Fatalf("U2 released U1's lock: %v", err)
			}
			if _, err := db.ReleaseLock("p3", "U2", true); err != nil {
				t.Fatalf("admin release: %v", err)
			}
			if _, err := db.ReleaseLock("p3", "U1", false); !errors.Is(err, ErrNotLocked) {
				t.Fatalf("release of nothing: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, c := open(t)
			tc.run(t, db, c, newRequest(db, t, "U1"))
		})
	}
}
