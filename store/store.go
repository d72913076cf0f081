// Package store keeps Devy's state in one bbolt file: locks, promotion
// requests, review apps, pull requests' threads, incidents and the audit
// log. Every decision and its consequences (the request's new status, the
// lock, the audit entry) are written in one transaction, so a crash never
// leaves half a decision behind.
//
// Its types and errors are shared with store/pg, the PostgreSQL store that
// several Devy processes can use at once; store/storetest is the contract
// both keep. bbolt serves one process: the file is locked while open.
//
// Bucket tree (keep in step with migrations.go):
//
//	meta/
//	  schema_version     → uint64, big-endian
//	audit/
//	  <seq uint64 BE>    → JSON AuditEntry (append-only)
//	locks/
//	  <pipeline>         → JSON Lock (one production lock per pipeline)
//	requests/
//	  <id uint64 BE>     → JSON PromotionRequest
//	reviewapps/
//	  <PR uint64 BE>     → JSON ReviewApp (the newest review app Devy made for the PR)
//	prthreads/
//	  <PR uint64 BE>     → JSON Thread (the thread of Devy's notification of the PR)
//	incidents/
//	  <N uint64 BE>      → JSON Incident (N from the bucket's sequence: never reused)
//	incident_timeline/
//	  <N uint64 BE>/     → one bucket per incident
//	    <seq uint64 BE>  → JSON TimelineEntry (append-only)
//	incident_channels/
//	  <channel id>       → N uint64 BE (the incident whose own channel it is)
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta       = []byte("meta")
	bucketAudit      = []byte("audit")
	bucketLocks      = []byte("locks")
	bucketRequests   = []byte("requests")
	bucketReviewApps = []byte("reviewapps")
	bucketPRThreads  = []byte("prthreads")
	keySchema        = []byte("schema_version")
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrUnavailable wraps every failure to reach the store (PostgreSQL down or
// unreachable, a connection lost mid-transaction). The transaction was
// rolled back, or, if the connection died during COMMIT, applied whole:
// never half. Commands answer that the store is unavailable; the store
// recovers by itself when the database is back. bbolt never returns it.
var ErrUnavailable = errors.New("store: unavailable")

// DB is Devy's state.
type DB struct {
	bolt *bolt.DB
	now  func() time.Time
	// opened is when this process opened the file: the file lock proves
	// that promotions approved before then have no live follower.
	opened time.Time

	mu     sync.Mutex // guards leases
	leases map[uint64]lease
}

// Option changes how Open behaves.
type Option func(*DB)

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// Open opens (creating if needed) the bbolt file at path and migrates it to
// the current schema. A second process on the same file gets an error after
// timeout instead of hanging: bbolt holds an exclusive file lock.
func Open(path string, timeout time.Duration, opts ...Option) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is locked by another process (is another Devy running?)", path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{bolt: b, now: time.Now, leases: map[uint64]lease{}}
	for _, o := range opts {
		o(db)
	}
	db.opened = db.now()
	if err := b.Update(migrate); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return db, nil
}

// Path is the file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Ping reports whether the store can still be read.
func (db *DB) Ping() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("store: meta bucket missing")
		}
		return nil
	})
}

// Now is the store's clock.
func (db *DB) Now() time.Time { return db.now() }

// SchemaVersion is the version the file is at.
func (db *DB) SchemaVersion() (uint64, error) {
	var v uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v = schemaVersion(tx)
		return nil
	})
	return v, err
}

func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func btoi(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// getJSON decodes the record at key, inside the transaction that read it;
// what names the record in errors ("request 12").
func getJSON[T any](b *bolt.Bucket, key []byte, what string) (T, error) {
	var v T
	data := b.Get(key)
	if data == nil {
		return v, ErrNotFound
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// AuditEntry is one recorded state change: who did what, when.
type AuditEntry struct {
	Seq     uint64            `json:"seq"`
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor"`   // Slack user id, or "devy"
	Action  string            `json:"action"`  // e.g. promotion.requested
	Subject string            `json:"subject"` // e.g. request 12
	Detail  map[string]string `json:"detail,omitempty"`
}

func appendAudit(tx *bolt.Tx, e AuditEntry) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	return putJSON(b, itob(seq), e)
}

// Audit appends an entry to the audit log.
func (db *DB) Audit(e AuditEntry) error {
	if e.At.IsZero() {
		e.At = db.now()
	}
	return db.bolt.Update(func(tx *bolt.Tx) error { return appendAudit(tx, e) })
}

// AuditLog returns the newest entries first, at most limit of them, keeping
// only those whose action is one of actions (all when none are given).
func (db *DB) AuditLog(limit int, actions ...string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode audit %d: %w", btoi(k), err)
			}
			if len(actions) > 0 && !contains(actions, e.Action) {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
