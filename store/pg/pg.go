// Package pg keeps Devy's state in PostgreSQL (DATABASE_URL: Heroku
// Postgres), so that it survives dyno restarts and several Devy processes
// share it. It runs the store's rules (package store) on PostgreSQL
// transactions, as store/bolt runs them on bbolt's, so both have the same
// methods, errors and guarantees; one contract suite, store/storetest, runs
// against both.
//
// Records are the same JSON documents bbolt keeps, in jsonb columns, so both
// stores encode them alike and migrate-store copies them as they are; the
// columns beside them are what queries filter and lock on. Everything lives
// in the schema "devy", or the one DATABASE_URL's search_path names (keep in
// step with migrations.go):
//
//	schema_version      (version)                           one row: migrations applied
//	audit               (seq bigserial, at, actor, action,  append-only: a trigger refuses
//	                     subject, detail jsonb)             UPDATE, DELETE and TRUNCATE
//	pipelines           (pipeline PK, lock jsonb)           one row per pipeline: lock is its
//	                                                        production Lock, or NULL
//	requests            (id PK, pipeline, status, data,     id from sequence request_ids;
//	                     follower, lease_until)             follower/lease_until: see store's leases
//	review_apps         (pr PK, data)
//	pr_threads          (pr PK, channel, ts)
//	incidents           (number PK, data)                   number from sequence incident_numbers:
//	                                                        never reused, even after a rollback
//	incident_timeline   (incident, seq, ref, data)          PK (incident, seq); ref unique per incident
//	incident_channels   (channel PK, incident)
//	deliveries          (key PK, at, claim)                 Slack envelopes taken (ClaimDelivery)
//	webhook_deliveries  (key PK, at)                        see store.Rules.ClaimWebhookDelivery
//	outbox              (id PK, data)                       id from sequence effect_ids; store.Effect
//	signals             (key PK, data)                      a signal's JSON; data is NULL only inside
//	                                                        the transaction that first stores the key
//	records             (kind, key, at, payload)            PK (kind, at, key): kept once; store.RecordRow
//	slots               (key PK, at)                        taken once, never given back (TakeSlot)
//	verifications       (pipeline, sha, data)               PK (pipeline, sha); store.Verification
//
// Concurrency: every transaction that decides something about a pipeline (a
// request created, approved, closed or finished, the lock taken or lifted)
// first locks that pipeline's row (SELECT … FOR UPDATE), then the request's;
// so decisions about one pipeline happen one at a time, across processes, as
// bbolt's single writer makes them happen in one. Changes to one record (an
// incident, a review app, a request's targets, a signal) lock that record's
// row. Lock order is always pipeline, then request: no deadlock.
//
// The clock is Devy's (time.Now, or WithClock in tests), not the server's,
// so that both stores agree on expiry; processes sharing a database need
// synchronised clocks, as Heroku's dynos have.
package pg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devy-chatops/devy/store"
)

// DB is Devy's state in PostgreSQL.
type DB struct {
	store.Rules

	pool      *pgxpool.Pool
	schema    string
	now       func() time.Time
	opTimeout time.Duration

	// forgotAt is when deliveries older than deliveryMemory were last
	// deleted (unix nanoseconds).
	forgotAt atomic.Int64
}

// Option changes how Open behaves.
type Option func(*DB)

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// Timeouts. The store's methods take no context (the commands' interfaces
// predate PostgreSQL), so each operation gets its own deadline: a lost
// database turns into ErrUnavailable in seconds instead of a hung command.
const (
	openTimeout    = 10 * time.Second
	connectTimeout = 5 * time.Second
	opTimeout      = 10 * time.Second
)

// Open connects to the database at rawURL (a postgres:// URL; sslmode=require
// and the rest are read by pgx) and creates or migrates Devy's schema. An
// unreachable database fails within openTimeout with an error naming
// DATABASE_URL; Open does not retry.
func Open(ctx context.Context, rawURL string, opts ...Option) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's message quotes the URL, password masked on a best-effort
		// basis only; say what is expected instead.
		return nil, errors.New("DATABASE_URL: not a PostgreSQL URL Devy can read; expected postgres://user:password@host:5432/database?sslmode=require")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	schema := cfg.ConnConfig.RuntimeParams["search_path"]
	if schema == "" {
		schema = defaultSchema
	}
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("DATABASE_URL: search_path=%q: give one schema name of lowercase letters, digits and _", schema)
	}
	// Every statement's tables are the schema's; nothing else is visible.
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "devy"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	db := &DB{pool: pool, schema: schema, now: time.Now, opTimeout: opTimeout}
	for _, o := range opts {
		o(db)
	}
	db.Rules = store.NewRules(db, db.now)
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := migrate(octx, pool, schema, migrations()); err != nil {
		pool.Close()
		where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
		if unavailable(err) {
			return nil, fmt.Errorf("DATABASE_URL: cannot reach PostgreSQL at %s; is it up, and is the URL right? %w", where, err)
		}
		return nil, fmt.Errorf("DATABASE_URL: preparing Devy's schema in %s: %w", where, err)
	}
	return db, nil
}

// Close closes every connection.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.fail("ping", db.pool.Ping(ctx))
}

// SchemaVersion is the migration the database is at.
func (db *DB) SchemaVersion() (uint64, error) {
	var v uint64
	err := db.read("read the schema version", func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	})
	return v, err
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// write runs fn in one transaction: committed if fn returns nil, rolled back
// otherwise, so that a decision and its consequences land together or not
// at all.
func (db *DB) write(op string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), db.opTimeout)
	defer cancel()
	tx, err := db.begin(ctx)
	if err != nil {
		return db.fail(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit
	if err := fn(ctx, tx); err != nil {
		return db.fail(op, err)
	}
	return db.fail(op, tx.Commit(ctx))
}

// begin starts a transaction. Pooled connections die with the database, or
// a network break, unnoticed until used: a BEGIN that fails for want of the
// database is tried once more, on a fresh connection, since nothing was
// done yet.
func (db *DB) begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil && unavailable(err) && ctx.Err() == nil {
		db.pool.Reset()
		tx, err = db.pool.Begin(ctx)
	}
	return tx, err
}

// read runs fn on the pool: reads of one statement, and updates that may
// safely run twice (a lease renewed, a thread recorded). Like begin, it
// tries once more on a fresh connection when the database was not there.
func (db *DB) read(op string, fn func(ctx context.Context, q querier) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), db.opTimeout)
	defer cancel()
	err := fn(ctx, db.pool)
	if err != nil && unavailable(err) && ctx.Err() == nil {
		db.pool.Reset()
		err = fn(ctx, db.pool)
	}
	return db.fail(op, err)
}

// fail passes the store's own errors (ErrNotFound, *DecisionError, …)
// through untouched, marks the database's absence as store.ErrUnavailable
// and wraps the rest with what was attempted.
func (db *DB) fail(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case domain(err):
		return err
	case unavailable(err):
		// The other pooled connections are most likely dead too: drop
		// them, so that the next operation after the database is back
		// dials afresh instead of failing on a stale one.
		db.pool.Reset()
		return fmt.Errorf("pg: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("pg: %s: %w", op, err)
}

func domain(err error) bool {
	var (
		de *store.DecisionError
		le *store.LockedError
		pe *store.PendingError
	)
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrNotLocked) || errors.Is(err, store.ErrIncidentResolved) || errors.Is(err, store.ErrNotDue) ||
		errors.Is(err, store.ErrPostmortemFiled) || errors.Is(err, store.ErrPostmortemFiling) ||
		errors.As(err, &de) || errors.As(err, &le) || errors.As(err, &pe)
}

// unavailable reports whether err means the database could not be reached
// or the connection was lost, as opposed to a refused statement.
func unavailable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
		pe *pgconn.PgError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &pe):
		// Class 08: connection exception; 57P0x: the server is shutting
		// down or starting; 53300: too many connections.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P0") || pe.Code == "53300"
	}
	return strings.Contains(err.Error(), "conn closed")
}

// AuditLog returns the newest entries first, at most limit of them, keeping
// only those whose action is one of actions (all when none are given).
func (db *DB) AuditLog(limit int, actions ...string) ([]store.AuditEntry, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	var out []store.AuditEntry
	err := db.read("read the audit log", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT seq, at, actor, action, subject, detail FROM audit
			WHERE $2::text[] IS NULL OR action = ANY($2) ORDER BY seq DESC LIMIT $1`, lim, nilIfEmpty(actions))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AuditEntry, error) {
			var e store.AuditEntry
			err := row.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail)
			return e, err
		})
		return err
	})
	return out, err
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Counts counts what the database holds, as bolt.DB.Counts does.
func (db *DB) Counts() (store.Counts, error) {
	var c store.Counts
	err := db.read("count records", func(ctx context.Context, q querier) error {
		var err error
		c, err = counts(ctx, q)
		return err
	})
	return c, err
}

func counts(ctx context.Context, q querier) (store.Counts, error) {
	var c store.Counts
	err := q.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM audit), (SELECT count(*) FROM pipelines WHERE lock IS NOT NULL),
		(SELECT count(*) FROM requests), (SELECT count(*) FROM review_apps), (SELECT count(*) FROM pr_threads),
		(SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_timeline), (SELECT count(*) FROM incident_channels),
		(SELECT count(*) FROM signals WHERE data IS NOT NULL), (SELECT count(*) FROM records), (SELECT count(*) FROM slots),
		(SELECT count(*) FROM verifications)`).
		Scan(&c.Audit, &c.Locks, &c.Requests, &c.ReviewApps, &c.PRThreads, &c.Incidents, &c.TimelineEntries, &c.IncidentChannels,
			&c.Signals, &c.Records, &c.Slots, &c.Verifications)
	return c, err
}
