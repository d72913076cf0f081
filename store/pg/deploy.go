package pg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

// lockPipeline locks the pipeline's row for the rest of tx, creating it on
// first use, and returns its lock as stored (active or not).
func lockPipeline(ctx context.Context, tx pgx.Tx, pipeline string) (*store.Lock, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO pipelines (pipeline) VALUES ($1) ON CONFLICT DO NOTHING`, pipeline); err != nil {
		return nil, fmt.Errorf("lock pipeline %s: %w", pipeline, err)
	}
	var l *store.Lock
	if err := tx.QueryRow(ctx, `SELECT lock FROM pipelines WHERE pipeline = $1 FOR UPDATE`, pipeline).Scan(&l); err != nil {
		return nil, fmt.Errorf("lock pipeline %s: %w", pipeline, err)
	}
	return l, nil
}

// active is l if it still holds at now, else nil.
func active(l *store.Lock, now time.Time) *store.Lock {
	if l == nil || !l.Active(now) {
		return nil
	}
	return l
}

func setLock(ctx context.Context, tx pgx.Tx, pipeline string, l *store.Lock) error {
	_, err := tx.Exec(ctx, `UPDATE pipelines SET lock = $2 WHERE pipeline = $1`, pipeline, l)
	return err
}

// Lock returns the pipeline's active lock, or nil.
func (db *DB) Lock(pipeline string) (*store.Lock, error) {
	var l *store.Lock
	err := db.read("read the lock", func(ctx context.Context, q querier) error {
		err := q.QueryRow(ctx, `SELECT lock FROM pipelines WHERE pipeline = $1`, pipeline).Scan(&l)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return active(l, db.now()), err
}

// AcquireLock takes a manual lock. A lock held by someone else (or by a
// running promotion) refuses with *store.LockedError; the holder may renew
// theirs.
func (db *DB) AcquireLock(l store.Lock) (store.Lock, error) {
	err := db.write("take the lock", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		raw, err := lockPipeline(ctx, tx, l.Pipeline)
		if err != nil {
			return err
		}
		if cur := active(raw, now); cur != nil && (cur.Holder != l.Holder || cur.RequestID != 0) {
			return &store.LockedError{Lock: *cur}
		}
		l.Since = now
		l.RequestID = 0
		if err := setLock(ctx, tx, l.Pipeline, &l); err != nil {
			return err
		}
		return audit(ctx, tx, store.AuditEntry{At: now, Actor: l.Holder, Action: "lock.acquired", Subject: "pipeline " + l.Pipeline,
			Detail: map[string]string{"reason": l.Reason, "until": l.Until.Format(time.RFC3339)}})
	})
	return l, err
}

// ReleaseLock lifts a manual lock. Only the holder may, unless force (an
// admin). A promotion's lock cannot be lifted by hand.
func (db *DB) ReleaseLock(pipeline, by string, force bool) (store.Lock, error) {
	var released store.Lock
	err := db.write("lift the lock", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		raw, err := lockPipeline(ctx, tx, pipeline)
		if err != nil {
			return err
		}
		cur := active(raw, now)
		if cur == nil {
			return store.ErrNotLocked
		}
		if cur.RequestID != 0 || (cur.Holder != by && !force) {
			return &store.LockedError{Lock: *cur}
		}
		released = *cur
		if err := setLock(ctx, tx, pipeline, nil); err != nil {
			return err
		}
		return audit(ctx, tx, store.AuditEntry{At: now, Actor: by, Action: "lock.released", Subject: "pipeline " + pipeline,
			Detail: map[string]string{"holder": cur.Holder}})
	})
	return released, err
}

// getRow reads the JSON document that query (one "$1" parameter) selects,
// locking its row when forUpdate; what names it in errors.
func getRow[T any](ctx context.Context, q querier, query string, key any, forUpdate bool, what string) (T, error) {
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var v T
	err := q.QueryRow(ctx, query, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, store.ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("read %s: %w", what, err)
	}
	return v, nil
}

func getRequest(ctx context.Context, q querier, id uint64, forUpdate bool) (store.PromotionRequest, error) {
	return getRow[store.PromotionRequest](ctx, q, `SELECT data FROM requests WHERE id = $1`, id, forUpdate, fmt.Sprintf("request %d", id))
}

func putRequest(ctx context.Context, tx pgx.Tx, r store.PromotionRequest) error {
	if _, err := tx.Exec(ctx, `UPDATE requests SET status = $2, data = $3 WHERE id = $1`, r.ID, r.Status, r); err != nil {
		return fmt.Errorf("write request %d: %w", r.ID, err)
	}
	return nil
}

// lockRequest locks request id's pipeline, then the request itself, and
// returns both: the order every decision takes its locks in.
func lockRequest(ctx context.Context, tx pgx.Tx, id uint64) (store.PromotionRequest, *store.Lock, error) {
	var pipeline string
	err := tx.QueryRow(ctx, `SELECT pipeline FROM requests WHERE id = $1`, id).Scan(&pipeline)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.PromotionRequest{}, nil, store.ErrNotFound
	}
	if err != nil {
		return store.PromotionRequest{}, nil, err
	}
	l, err := lockPipeline(ctx, tx, pipeline)
	if err != nil {
		return store.PromotionRequest{}, nil, err
	}
	r, err := getRequest(ctx, tx, id, true)
	return r, l, err
}

// openRequest finds the pipeline's pending or promoting request; pending ones
// that have expired are marked so on the way. The caller holds the
// pipeline's lock.
func openRequest(ctx context.Context, tx pgx.Tx, pipeline string, now time.Time) (*store.PromotionRequest, error) {
	rows, err := tx.Query(ctx, `SELECT data FROM requests WHERE pipeline = $1 AND status IN ('pending', 'promoting')
		ORDER BY id DESC FOR UPDATE`, pipeline)
	if err != nil {
		return nil, err
	}
	rs, err := pgx.CollectRows(rows, pgx.RowTo[store.PromotionRequest])
	if err != nil {
		return nil, fmt.Errorf("read open requests: %w", err)
	}
	for _, r := range rs {
		switch {
		case r.Status == store.StatusPromoting:
			return &r, nil
		case r.Open(now):
			return &r, nil
		}
		r.Status = store.StatusExpired
		if err := putRequest(ctx, tx, r); err != nil {
			return nil, err
		}
		if err := audit(ctx, tx, store.AuditEntry{At: now, Actor: "devy", Action: "promotion.expired", Subject: r.Subject()}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// CreateRequest stores a new pending request and gives it an id. It refuses
// with *store.PendingError while another request of the pipeline is open,
// and with *store.LockedError while someone other than the requester holds
// the lock.
func (db *DB) CreateRequest(r store.PromotionRequest) (store.PromotionRequest, error) {
	err := db.write("create the request", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		raw, err := lockPipeline(ctx, tx, r.Pipeline)
		if err != nil {
			return err
		}
		if cur, err := openRequest(ctx, tx, r.Pipeline, now); err != nil {
			return err
		} else if cur != nil {
			return &store.PendingError{Request: *cur}
		}
		if l := active(raw, now); l != nil && (l.Holder != r.RequestedBy || l.RequestID != 0) {
			return &store.LockedError{Lock: *l}
		}
		if err := tx.QueryRow(ctx, `SELECT nextval('request_ids')`).Scan(&r.ID); err != nil {
			return err
		}
		r.Status = store.StatusPending
		if r.RequestedAt.IsZero() {
			r.RequestedAt = now
		}
		if _, err := tx.Exec(ctx, `INSERT INTO requests (id, pipeline, status, data) VALUES ($1, $2, $3, $4)`, r.ID, r.Pipeline, r.Status, r); err != nil {
			return err
		}
		return audit(ctx, tx, store.AuditEntry{At: now, Actor: r.RequestedBy, Action: "promotion.requested", Subject: r.Subject(),
			Detail: map[string]string{"release": strconv.Itoa(r.ReleaseVersion), "sha": r.SHA, "base_sha": r.BaseSHA, "ci": r.CIState, "skip_ci": r.SkipCIReason}})
	})
	return r, err
}

// Request reads one request.
func (db *DB) Request(id uint64) (store.PromotionRequest, error) {
	var r store.PromotionRequest
	err := db.read("read the request", func(ctx context.Context, q querier) (err error) {
		r, err = getRequest(ctx, q, id, false)
		return err
	})
	return r, err
}

// update reads request id under its row lock, lets change alter it and
// writes it back.
func (db *DB) update(op string, id uint64, change func(ctx context.Context, tx pgx.Tx, r *store.PromotionRequest) error) error {
	return db.write(op, func(ctx context.Context, tx pgx.Tx) error {
		r, err := getRequest(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := change(ctx, tx, &r); err != nil {
			return err
		}
		return putRequest(ctx, tx, r)
	})
}

// SetMessage records where the request's message was posted.
func (db *DB) SetMessage(id uint64, channel, ts string) error {
	return db.update("record the request's message", id, func(_ context.Context, _ pgx.Tx, r *store.PromotionRequest) error {
		r.Channel, r.MessageTS = channel, ts
		return nil
	})
}

// Approve moves a pending request to promoting and takes the production lock
// for it, in one transaction under the pipeline's row lock: of any number of
// concurrent approvals, from any number of processes, exactly one gets
// through; the others get a *store.DecisionError showing who decided.
func (db *DB) Approve(id uint64, approver string) (store.PromotionRequest, error) {
	var r store.PromotionRequest
	err := db.write("approve the request", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		var raw *store.Lock
		var err error
		if r, raw, err = lockRequest(ctx, tx, id); err != nil {
			return err
		}
		if err := r.Decidable(now); err != nil {
			return err
		}
		l := active(raw, now)
		if l != nil && (l.RequestID != 0 || l.Holder != r.RequestedBy) {
			return &store.DecisionError{Request: r, Reason: "locked", Lock: l}
		}
		r.PrevLock = l
		r.Status = store.StatusPromoting
		r.DecidedBy, r.DecidedAt = approver, now
		lock := store.Lock{Pipeline: r.Pipeline, Holder: r.RequestedBy, Reason: "promotion of " + r.Subject(), Since: now, RequestID: r.ID}
		if err := setLock(ctx, tx, r.Pipeline, &lock); err != nil {
			return err
		}
		if err := putRequest(ctx, tx, r); err != nil {
			return err
		}
		return audit(ctx, tx, store.AuditEntry{At: now, Actor: approver, Action: "promotion.approved", Subject: r.Subject(),
			Detail: map[string]string{"release": strconv.Itoa(r.ReleaseVersion), "sha": r.SHA}})
	})
	return r, err
}

// CloseRequest ends a pending request without promoting: status is rejected
// or cancelled (by is who did it) or expired.
func (db *DB) CloseRequest(id uint64, status, by, note string) (store.PromotionRequest, error) {
	var r store.PromotionRequest
	err := db.write("close the request", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		var err error
		if r, _, err = lockRequest(ctx, tx, id); err != nil {
			return err
		}
		if status != store.StatusExpired {
			if err := r.Decidable(now); err != nil {
				return err
			}
		} else if r.Status != store.StatusPending {
			return &store.DecisionError{Request: r, Reason: "decided"}
		}
		r.Status = status
		r.Note = note
		if status == store.StatusRejected {
			r.DecidedBy, r.DecidedAt = by, now
		}
		r.FinishedAt = now
		if err := putRequest(ctx, tx, r); err != nil {
			return err
		}
		return audit(ctx, tx, store.AuditEntry{At: now, Actor: by, Action: "promotion." + status, Subject: r.Subject(),
			Detail: map[string]string{"note": note}})
	})
	return r, err
}

// StartPromotion records Heroku's promotion id once the call returned.
func (db *DB) StartPromotion(id uint64, promotionID string) error {
	return db.update("record the promotion id", id, func(ctx context.Context, tx pgx.Tx, r *store.PromotionRequest) error {
		if r.Status != store.StatusPromoting {
			return &store.DecisionError{Request: *r, Reason: "not promoting"}
		}
		r.PromotionID = promotionID
		return audit(ctx, tx, store.AuditEntry{At: db.now(), Actor: "devy", Action: "promotion.started", Subject: r.Subject(),
			Detail: map[string]string{"promotion": promotionID}})
	})
}

// SetTargets records the latest known state of each production app.
func (db *DB) SetTargets(id uint64, targets []store.Target) error {
	return db.update("record the targets", id, func(_ context.Context, _ pgx.Tx, r *store.PromotionRequest) error {
		r.Targets = targets
		return nil
	})
}

// FinishPromotion records the outcome, releases the promotion's lock (giving
// the requester back a manual lock they held before), ends its lease and
// writes the audit entry that /deploy history reads — in one transaction.
func (db *DB) FinishPromotion(id uint64, status string, targets []store.Target, note string) (store.PromotionRequest, error) {
	var r store.PromotionRequest
	err := db.write("record the promotion's outcome", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		var raw *store.Lock
		var err error
		if r, raw, err = lockRequest(ctx, tx, id); err != nil {
			return err
		}
		if r.Status != store.StatusPromoting {
			return &store.DecisionError{Request: r, Reason: "not promoting"}
		}
		r.Status, r.Targets, r.Note, r.FinishedAt = status, targets, note, now
		if err := putRequest(ctx, tx, r); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE requests SET follower = NULL, lease_until = NULL WHERE id = $1`, id); err != nil {
			return err
		}
		if l := active(raw, now); l != nil && l.RequestID == r.ID {
			next := r.PrevLock
			if next != nil && !next.Active(now) {
				next = nil
			}
			if err := setLock(ctx, tx, r.Pipeline, next); err != nil {
				return err
			}
		}
		detail := map[string]string{
			"requested_by": r.RequestedBy, "approved_by": r.DecidedBy, "release": strconv.Itoa(r.ReleaseVersion),
			"sha": r.SHA, "base_sha": r.BaseSHA, "compare_url": r.CompareURL, "outcome": status, "note": note,
			"staging_app": r.StagingAppName,
		}
		return audit(ctx, tx, store.AuditEntry{At: now, Actor: "devy", Action: "promotion.finished", Subject: r.Subject(), Detail: detail})
	})
	return r, err
}

// Requests returns requests with one of the given statuses (all when none
// are given), newest first.
func (db *DB) Requests(statuses ...string) ([]store.PromotionRequest, error) {
	var out []store.PromotionRequest
	err := db.read("list requests", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT data FROM requests WHERE $1::text[] IS NULL OR status = ANY($1) ORDER BY id DESC`, nilIfEmpty(statuses))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[store.PromotionRequest])
		return err
	})
	return out, err
}

// OpenRequest returns the pipeline's pending (unexpired) or promoting
// request, or nil.
//
// Every /deploy status reads it, so it first reads without locking, and
// takes the pipeline's lock only when a pending request just expired and
// must be marked so.
func (db *DB) OpenRequest(pipeline string) (*store.PromotionRequest, error) {
	var r *store.PromotionRequest
	expired := false
	err := db.read("find the open request", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT data FROM requests WHERE pipeline = $1 AND status IN ('pending', 'promoting') ORDER BY id DESC`, pipeline)
		if err != nil {
			return err
		}
		rs, err := pgx.CollectRows(rows, pgx.RowTo[store.PromotionRequest])
		if err != nil {
			return fmt.Errorf("read open requests: %w", err)
		}
		now := db.now()
		for _, x := range rs {
			if x.Status == store.StatusPromoting || x.Open(now) {
				r = &x
				return nil
			}
			expired = true
		}
		return nil
	})
	if err != nil || !expired {
		return r, err
	}
	err = db.write("find the open request", func(ctx context.Context, tx pgx.Tx) error {
		if _, err := lockPipeline(ctx, tx, pipeline); err != nil {
			return err
		}
		var err error
		r, err = openRequest(ctx, tx, pipeline, db.now())
		return err
	})
	return r, err
}

// ClaimPromotion makes owner the follower of promoting request id until ttl
// from now, or renews owner's lease, in one conditional update: of several
// processes claiming at once, one wins. See store's lease rules.
func (db *DB) ClaimPromotion(id uint64, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl <= 0 {
		return false, fmt.Errorf("pg: a lease needs an owner and a duration, got %q %s", owner, ttl)
	}
	var ok bool
	err := db.read("claim the promotion", func(ctx context.Context, q querier) error {
		now := db.now()
		tag, err := q.Exec(ctx, `UPDATE requests SET follower = $2, lease_until = $3
			WHERE id = $1 AND status = 'promoting' AND (follower = $2 OR lease_until IS NULL OR lease_until <= $4)`,
			id, owner, now.Add(ttl), now)
		if err != nil {
			return err
		}
		if ok = tag.RowsAffected() == 1; ok {
			return nil
		}
		var exists bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests WHERE id = $1)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return store.ErrNotFound
		}
		return nil
	})
	return ok, err
}

// ReleasePromotion gives up owner's lease on request id, so that another
// process may take the promotion over at once.
func (db *DB) ReleasePromotion(id uint64, owner string) error {
	return db.read("release the promotion", func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, `UPDATE requests SET lease_until = $3 WHERE id = $1 AND follower = $2`, id, owner, db.now())
		return err
	})
}

// OrphanedPromotions returns the promoting requests nobody follows: lease
// expired or released, or never claimed and approved more than ttl ago.
// Oldest first.
func (db *DB) OrphanedPromotions(ttl time.Duration) ([]store.PromotionRequest, error) {
	var out []store.PromotionRequest
	err := db.read("find orphaned promotions", func(ctx context.Context, q querier) error {
		now := db.now()
		rows, err := q.Query(ctx, `SELECT data FROM requests WHERE status = 'promoting'
			AND (lease_until <= $1 OR (lease_until IS NULL AND (data->>'decided_at')::timestamptz <= $2)) ORDER BY id`,
			now, now.Add(-ttl))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[store.PromotionRequest])
		return err
	})
	return out, err
}
