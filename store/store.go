// Package store holds Devy's state model and the rules that change it:
// locks, promotion requests, review apps, pull requests' threads, incidents,
// webhook deliveries, the outbox of side effects, monitoring signals and
// their records, digest slots and the audit log. Every decision and its
// consequences (the request's new status, the lock, the audit entry, the
// effects to carry out) are written in one transaction, so a crash never
// leaves half a decision behind.
//
// The rules are written once, here, as functions over a narrow transaction
// interface (Tx); two backends run them: store/bolt (one bbolt file, one
// process) and store/pg (PostgreSQL, any number of processes). Each backend
// embeds Rules, so both offer the same methods; store/storetest is the
// contract both keep. Wording people read is not the store's: callers pass
// the timeline's sentences in.
//
// What is kept, in bbolt buckets (store/bolt/migrations.go) and PostgreSQL
// tables (store/pg/migrations.go, whose package doc draws the tables):
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
//	webhook_deliveries/
//	  <key>              → time first seen, RFC 3339 (kept DeliveryMemory)
//	outbox/
//	  <id uint64 BE>     → JSON Effect (deleted when done)
//	signals/
//	  <key>              → the signal's JSON, as commands/signals writes it
//	records/
//	  <kind>/            → one bucket per kind
//	    <at unix ns uint64 BE><key>
//	                     → JSON RecordRow (kept once per kind, key and time)
//	slots/
//	  <key>              → time taken, RFC 3339 (never given back)
//	verifications/
//	  <pipeline>/        → one bucket per pipeline
//	    <sha>            → JSON Verification
//
// Leases (lease.go) live in memory in bbolt, in the requests table in
// PostgreSQL.
package store

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrUnavailable wraps every failure to reach the store (PostgreSQL down or
// unreachable, a connection lost mid-transaction). The transaction was
// rolled back, or, if the connection died during COMMIT, applied whole:
// never half. Commands answer that the store is unavailable; the store
// recovers by itself when the database is back. bbolt never returns it.
var ErrUnavailable = errors.New("store: unavailable")

// Backend runs transactions for the rules. op says what was attempted, for
// the backend's errors ("approve the request").
type Backend interface {
	// Update runs fn in one read-write transaction, committed when fn
	// returns nil and rolled back otherwise. Records fn reads are locked
	// against other writers until it ends.
	Update(op string, fn func(Tx) error) error
	// View runs fn in a read-only transaction; fn may run twice when
	// the backend retries a lost connection.
	View(op string, fn func(Tx) error) error
}

// Tx is one transaction: what the rules read and write, and no more. Reads
// return ErrNotFound for a missing record unless they say otherwise; inside
// Update, what they read stays locked until the transaction ends.
type Tx interface {
	// Lock is the pipeline's lock as stored, active or not; nil when
	// there is none. In Update, the pipeline is locked for the rest of
	// the transaction: decisions about one pipeline happen one at a time.
	Lock(pipeline string) (*Lock, error)
	// PutLock stores the pipeline's lock; nil lifts it.
	PutLock(pipeline string, l *Lock) error

	// Request reads one request. In Update its pipeline is locked
	// first, then the request: the order every decision takes.
	Request(id uint64) (PromotionRequest, error)
	// Requests lists requests with one of statuses (all when none are
	// given), newest first.
	Requests(statuses ...string) ([]PromotionRequest, error)
	// OpenRequests lists the pipeline's pending and promoting requests,
	// newest first.
	OpenRequests(pipeline string) ([]PromotionRequest, error)
	// NewRequest stores a new request, giving it the next id.
	NewRequest(r PromotionRequest) (PromotionRequest, error)
	// PutRequest writes a request back.
	PutRequest(r PromotionRequest) error
	// Lease is who follows request r (see lease.go); the zero Lease
	// when nobody ever claimed it.
	Lease(r PromotionRequest) (Lease, error)
	// PutLease stores request id's lease; the zero Lease forgets it.
	PutLease(id uint64, l Lease) error

	// AppendAudit appends e to the audit log, giving it the next seq.
	AppendAudit(e AuditEntry) error

	// NewIncident stores a new incident, giving it the next number.
	NewIncident(inc Incident) (Incident, error)
	Incident(n uint64) (Incident, error)
	PutIncident(inc Incident) error
	// Timeline is incident n's timeline, oldest first.
	Timeline(n uint64) ([]TimelineEntry, error)
	// AppendTimeline adds e to incident n's timeline, giving it the
	// next seq of that timeline.
	AppendTimeline(n uint64, e TimelineEntry) error
	// PutIncidentChannel records that channel is incident n's own.
	PutIncidentChannel(channel string, n uint64) error

	// AddDelivery records webhook delivery key as seen at at, unless it
	// is recorded already and was seen after staleBefore; it reports
	// whether it recorded it.
	AddDelivery(key string, at, staleBefore time.Time) (bool, error)
	// DeleteDelivery forgets key; a key not recorded is no error.
	DeleteDelivery(key string) error
	// DeleteDeliveriesBefore forgets keys seen before t.
	DeleteDeliveriesBefore(t time.Time) error

	// AddEffect stores a new effect, giving it the next id.
	AddEffect(e Effect) (Effect, error)
	Effect(id uint64) (Effect, error)
	PutEffect(e Effect) error
	// DeleteEffect removes effect id; a missing one is no error.
	DeleteEffect(id uint64) error
	// Effects lists effects oldest first, at most limit (all when
	// limit <= 0).
	Effects(limit int) ([]Effect, error)

	// Signal reads signal key's JSON. In Update the key is locked for
	// the rest of the transaction, stored or not: updates of one signal
	// happen one at a time.
	Signal(key string) (json.RawMessage, error)
	// PutSignal stores signal key's JSON.
	PutSignal(key string, raw json.RawMessage) error
	// Signals lists the stored signals whose key starts with prefix, by
	// key (bytewise).
	Signals(prefix string) ([]SignalRow, error)
	// AddRecord keeps r unless one with its kind, key and time is kept
	// already; it reports whether it kept it.
	AddRecord(r RecordRow) (bool, error)
	// Records lists the records of kind in [from, to) (no end when to is
	// zero), oldest first.
	Records(kind string, from, to time.Time) ([]RecordRow, error)
	// TakeSlot records slot key as taken at at, unless it is taken
	// already; it reports whether it recorded it.
	TakeSlot(key string, at time.Time) (bool, error)

	// Verifications returns the pipeline's verifications of shas (those
	// kept), by SHA; never nil.
	Verifications(pipeline string, shas []string) (map[string]Verification, error)
	// PutVerification keeps v (one per pipeline and SHA).
	PutVerification(v Verification) error
}

// Rules are the store's decisions, each one function over a Backend's
// transactions. A backend embeds Rules, so its users call db.Approve, …
// whichever backend it is.
type Rules struct {
	b   Backend
	now func() time.Time
}

// NewRules runs the rules on b with the clock now (time.Now, or a test
// clock): Devy's clock, not a database server's, so that both backends
// agree on expiry.
func NewRules(b Backend, now func() time.Time) Rules { return Rules{b: b, now: now} }

// Now is the store's clock.
func (s Rules) Now() time.Time { return s.now() }

// AuditEntry is one recorded state change: who did what, when.
type AuditEntry struct {
	Seq     uint64            `json:"seq"`
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor"`   // Slack user id, or "devy"
	Action  string            `json:"action"`  // e.g. promotion.requested
	Subject string            `json:"subject"` // e.g. request 12
	Detail  map[string]string `json:"detail,omitempty"`
}

// Audit appends an entry to the audit log.
func (s Rules) Audit(e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	return s.b.Update("append to the audit log", func(tx Tx) error { return tx.AppendAudit(e) })
}

// itoa is for audit details.
func itoa(n int) string { return strconv.Itoa(n) }
