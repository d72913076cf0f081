// Package bolt keeps Devy's state in one bbolt file, for one process: the
// file is locked while open. It runs the store's rules (package store) on
// bbolt transactions; the bucket tree is drawn in package store's doc and
// made by migrations.go.
//
// Ids come from each bucket's NextSequence, as big-endian keys, so they
// sort in the order they were handed out and are never reused; values are
// JSON, decoded inside the transaction that read them.
package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/devy-chatops/devy/store"
)

var (
	bucketMeta              = []byte("meta")
	bucketAudit             = []byte("audit")
	bucketLocks             = []byte("locks")
	bucketRequests          = []byte("requests")
	bucketReviewApps        = []byte("reviewapps")
	bucketPRThreads         = []byte("prthreads")
	bucketIncidents         = []byte("incidents")
	bucketIncidentTimeline  = []byte("incident_timeline")
	bucketIncidentChannels  = []byte("incident_channels")
	bucketWebhookDeliveries = []byte("webhook_deliveries")
	bucketOutbox            = []byte("outbox")
	bucketSignals           = []byte("signals")
	bucketRecords           = []byte("records")
	bucketSlots             = []byte("slots")
	bucketVerifications     = []byte("verifications")
	keySchema               = []byte("schema_version")
)

// DB is Devy's state in a bbolt file.
type DB struct {
	store.Rules

	bolt *bbolt.DB
	now  func() time.Time
	// opened is when this process opened the file: the file lock proves
	// that promotions approved before then have no live follower.
	opened time.Time

	mu     sync.Mutex // guards leases
	leases map[uint64]store.Lease
}

// Option changes how Open behaves.
type Option func(*DB)

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// Open opens (creating if needed) the bbolt file at path and migrates it to
// the current schema. A second process on the same file gets an error after
// timeout instead of hanging: bbolt holds an exclusive file lock.
func Open(path string, timeout time.Duration, opts ...Option) (*DB, error) {
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is locked by another process (is another Devy running?)", path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{bolt: b, now: time.Now, leases: map[uint64]store.Lease{}}
	for _, o := range opts {
		o(db)
	}
	db.Rules = store.NewRules(db, db.now)
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
	return db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("store: meta bucket missing")
		}
		return nil
	})
}

// SchemaVersion is the version the file is at.
func (db *DB) SchemaVersion() (uint64, error) {
	var v uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		v = schemaVersion(tx)
		return nil
	})
	return v, err
}

// Update runs fn in one bbolt read-write transaction. bbolt has one writer
// at a time, so everything fn reads stays as it read it. op is not needed:
// bbolt's errors already say what failed.
func (db *DB) Update(_ string, fn func(store.Tx) error) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error { return fn(&boltTx{tx: tx, db: db}) })
}

// View runs fn in one bbolt read-only transaction.
func (db *DB) View(_ string, fn func(store.Tx) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error { return fn(&boltTx{tx: tx, db: db}) })
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
func getJSON[T any](b *bbolt.Bucket, key []byte, what string) (T, error) {
	var v T
	data := b.Get(key)
	if data == nil {
		return v, store.ErrNotFound
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// AuditLog returns the newest entries first, at most limit of them, keeping
// only those whose action is one of actions (all when none are given).
func (db *DB) AuditLog(limit int, actions ...string) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var e store.AuditEntry
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

// Incidents returns every incident, newest first.
func (db *DB) Incidents() ([]store.Incident, error) {
	var out []store.Incident
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketIncidents).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var inc store.Incident
			if err := json.Unmarshal(v, &inc); err != nil {
				return fmt.Errorf("decode incident %d: %w", btoi(k), err)
			}
			out = append(out, inc)
		}
		return nil
	})
	return out, err
}

// IncidentByChannel finds the incident whose own channel is channelID.
func (db *DB) IncidentByChannel(channelID string) (store.Incident, error) {
	var inc store.Incident
	err := db.View("find the channel's incident", func(t store.Tx) error {
		v := t.(*boltTx).tx.Bucket(bucketIncidentChannels).Get([]byte(channelID))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		inc, err = t.Incident(btoi(v))
		return err
	})
	return inc, err
}
