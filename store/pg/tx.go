package pg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

// pgTx is store.Tx on one PostgreSQL transaction (Update: forUpdate, rows
// read are locked FOR UPDATE until it ends) or on the pool (View: plain
// reads).
type pgTx struct {
	ctx       context.Context
	q         querier
	forUpdate bool
}

// Update runs fn in one transaction: committed if fn returns nil, rolled
// back otherwise, so that a decision and its consequences land together or
// not at all.
func (db *DB) Update(op string, fn func(store.Tx) error) error {
	return db.write(op, func(ctx context.Context, tx pgx.Tx) error {
		return fn(&pgTx{ctx: ctx, q: tx, forUpdate: true})
	})
}

// View runs fn's reads on the pool, once more on a fresh connection when
// the database was not there.
func (db *DB) View(op string, fn func(store.Tx) error) error {
	return db.read(op, func(ctx context.Context, q querier) error {
		return fn(&pgTx{ctx: ctx, q: q})
	})
}

// lock is " FOR UPDATE" inside Update.
func (t *pgTx) lock() string {
	if t.forUpdate {
		return ` FOR UPDATE`
	}
	return ""
}

func (t *pgTx) exec(what, sql string, args ...any) error {
	if _, err := t.q.Exec(t.ctx, sql, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// getRow reads the JSON document that query (one "$1" parameter) selects,
// locking its row inside Update; what names it in errors.
func getRow[T any](t *pgTx, query string, key any, what string) (T, error) {
	var v T
	err := t.q.QueryRow(t.ctx, query+t.lock(), key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, store.ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("read %s: %w", what, err)
	}
	return v, nil
}

// Lock reads the pipeline's lock; inside Update it locks the pipeline's
// row, creating it on first use, so that decisions about one pipeline
// happen one at a time across processes.
func (t *pgTx) Lock(pipeline string) (*store.Lock, error) {
	if t.forUpdate {
		if err := t.exec("lock pipeline "+pipeline, `INSERT INTO pipelines (pipeline) VALUES ($1) ON CONFLICT DO NOTHING`, pipeline); err != nil {
			return nil, err
		}
	}
	var l *store.Lock
	err := t.q.QueryRow(t.ctx, `SELECT lock FROM pipelines WHERE pipeline = $1`+t.lock(), pipeline).Scan(&l)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock pipeline %s: %w", pipeline, err)
	}
	return l, nil
}

func (t *pgTx) PutLock(pipeline string, l *store.Lock) error {
	return t.exec("write the lock of "+pipeline, `UPDATE pipelines SET lock = $2 WHERE pipeline = $1`, pipeline, l)
}

// Request reads request id; inside Update it locks the request's pipeline
// first, then the request: the order every decision takes its locks in, so
// that none deadlocks.
func (t *pgTx) Request(id uint64) (store.PromotionRequest, error) {
	what := fmt.Sprintf("request %d", id)
	if t.forUpdate {
		var pipeline string
		err := t.q.QueryRow(t.ctx, `SELECT pipeline FROM requests WHERE id = $1`, id).Scan(&pipeline)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.PromotionRequest{}, store.ErrNotFound
		}
		if err != nil {
			return store.PromotionRequest{}, fmt.Errorf("read %s: %w", what, err)
		}
		if _, err := t.Lock(pipeline); err != nil {
			return store.PromotionRequest{}, err
		}
	}
	return getRow[store.PromotionRequest](t, `SELECT data FROM requests WHERE id = $1`, id, what)
}

func (t *pgTx) Requests(statuses ...string) ([]store.PromotionRequest, error) {
	rows, err := t.q.Query(t.ctx, `SELECT data FROM requests WHERE $1::text[] IS NULL OR status = ANY($1) ORDER BY id DESC`, nilIfEmpty(statuses))
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[store.PromotionRequest])
}

func (t *pgTx) OpenRequests(pipeline string) ([]store.PromotionRequest, error) {
	rows, err := t.q.Query(t.ctx, `SELECT data FROM requests WHERE pipeline = $1 AND status IN ('pending', 'promoting')
		ORDER BY id DESC`+t.lock(), pipeline)
	if err != nil {
		return nil, fmt.Errorf("read open requests: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowTo[store.PromotionRequest])
	if err != nil {
		return nil, fmt.Errorf("read open requests: %w", err)
	}
	return rs, nil
}

func (t *pgTx) NewRequest(r store.PromotionRequest) (store.PromotionRequest, error) {
	if err := t.q.QueryRow(t.ctx, `SELECT nextval('request_ids')`).Scan(&r.ID); err != nil {
		return r, fmt.Errorf("number the request: %w", err)
	}
	return r, t.exec("create the request", `INSERT INTO requests (id, pipeline, status, data) VALUES ($1, $2, $3, $4)`, r.ID, r.Pipeline, r.Status, r)
}

func (t *pgTx) PutRequest(r store.PromotionRequest) error {
	return t.exec(fmt.Sprintf("write request %d", r.ID), `UPDATE requests SET status = $2, data = $3 WHERE id = $1`, r.ID, r.Status, r)
}

func (t *pgTx) Lease(r store.PromotionRequest) (store.Lease, error) {
	var owner *string
	var until *time.Time
	if err := t.q.QueryRow(t.ctx, `SELECT follower, lease_until FROM requests WHERE id = $1`, r.ID).Scan(&owner, &until); err != nil {
		return store.Lease{}, fmt.Errorf("read the lease of %s: %w", r.Subject(), err)
	}
	var l store.Lease
	if owner != nil {
		l.Owner = *owner
	}
	if until != nil {
		l.Until = *until
	}
	return l, nil
}

func (t *pgTx) PutLease(id uint64, l store.Lease) error {
	var owner, until any
	if l != (store.Lease{}) {
		owner, until = l.Owner, l.Until
	}
	return t.exec(fmt.Sprintf("write the lease of request %d", id), `UPDATE requests SET follower = $2, lease_until = $3 WHERE id = $1`, id, owner, until)
}

func (t *pgTx) AppendAudit(e store.AuditEntry) error {
	var detail any
	if len(e.Detail) > 0 {
		detail = e.Detail
	}
	return t.exec("append to the audit log", `INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)`,
		e.At, e.Actor, e.Action, e.Subject, detail)
}

func (t *pgTx) NewIncident(inc store.Incident) (store.Incident, error) {
	if err := t.q.QueryRow(t.ctx, `SELECT nextval('incident_numbers')`).Scan(&inc.Number); err != nil {
		return inc, fmt.Errorf("number the incident: %w", err)
	}
	return inc, t.exec("create the incident", `INSERT INTO incidents (number, data) VALUES ($1, $2)`, inc.Number, inc)
}

func (t *pgTx) Incident(n uint64) (store.Incident, error) {
	return getRow[store.Incident](t, `SELECT data FROM incidents WHERE number = $1`, n, fmt.Sprintf("incident %d", n))
}

func (t *pgTx) PutIncident(inc store.Incident) error {
	return t.exec(fmt.Sprintf("write incident %d", inc.Number), `UPDATE incidents SET data = $2 WHERE number = $1`, inc.Number, inc)
}

func (t *pgTx) Timeline(n uint64) ([]store.TimelineEntry, error) {
	rows, err := t.q.Query(t.ctx, `SELECT data FROM incident_timeline WHERE incident = $1 ORDER BY seq`, n)
	if err != nil {
		return nil, fmt.Errorf("read the timeline of incident %d: %w", n, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[store.TimelineEntry])
}

// AppendTimeline numbers e after the timeline's last entry; the caller
// holds the incident's row (Incident inside Update), so the number is its
// own.
func (t *pgTx) AppendTimeline(n uint64, e store.TimelineEntry) error {
	if err := t.q.QueryRow(t.ctx, `SELECT COALESCE(max(seq), 0) + 1 FROM incident_timeline WHERE incident = $1`, n).Scan(&e.Seq); err != nil {
		return fmt.Errorf("number the timeline entry of incident %d: %w", n, err)
	}
	return t.exec(fmt.Sprintf("append to the timeline of incident %d", n),
		`INSERT INTO incident_timeline (incident, seq, ref, data) VALUES ($1, $2, $3, $4)`, n, e.Seq, e.Ref, e)
}

func (t *pgTx) PutIncidentChannel(channel string, n uint64) error {
	return t.exec("record the incident's channel", `INSERT INTO incident_channels (channel, incident) VALUES ($1, $2)
		ON CONFLICT (channel) DO UPDATE SET incident = EXCLUDED.incident`, channel, n)
}

// AddDelivery inserts the key, or takes over a stale one, in one statement:
// of two transactions adding one key at once, the second waits for the
// first and then finds the key taken.
func (t *pgTx) AddDelivery(key string, at, staleBefore time.Time) (bool, error) {
	tag, err := t.q.Exec(t.ctx, `INSERT INTO webhook_deliveries (key, at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET at = EXCLUDED.at WHERE webhook_deliveries.at < $3`, key, at, staleBefore)
	if err != nil {
		return false, fmt.Errorf("remember delivery %s: %w", key, err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *pgTx) DeleteDelivery(key string) error {
	return t.exec("forget delivery "+key, `DELETE FROM webhook_deliveries WHERE key = $1`, key)
}

func (t *pgTx) DeleteDeliveriesBefore(before time.Time) error {
	return t.exec("forget old deliveries", `DELETE FROM webhook_deliveries WHERE at < $1`, before)
}

func (t *pgTx) AddEffect(e store.Effect) (store.Effect, error) {
	if err := t.q.QueryRow(t.ctx, `SELECT nextval('effect_ids')`).Scan(&e.ID); err != nil {
		return e, fmt.Errorf("number the effect: %w", err)
	}
	return e, t.exec("enqueue the effect", `INSERT INTO outbox (id, data) VALUES ($1, $2)`, e.ID, e)
}

func (t *pgTx) Effect(id uint64) (store.Effect, error) {
	return getRow[store.Effect](t, `SELECT data FROM outbox WHERE id = $1`, id, fmt.Sprintf("effect %d", id))
}

func (t *pgTx) PutEffect(e store.Effect) error {
	return t.exec(fmt.Sprintf("write effect %d", e.ID), `UPDATE outbox SET data = $2 WHERE id = $1`, e.ID, e)
}

func (t *pgTx) DeleteEffect(id uint64) error {
	return t.exec(fmt.Sprintf("delete effect %d", id), `DELETE FROM outbox WHERE id = $1`, id)
}

func (t *pgTx) Effects(limit int) ([]store.Effect, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	rows, err := t.q.Query(t.ctx, `SELECT data FROM outbox ORDER BY id LIMIT $1`, lim)
	if err != nil {
		return nil, fmt.Errorf("list effects: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[store.Effect])
}

var _ store.Tx = (*pgTx)(nil)
