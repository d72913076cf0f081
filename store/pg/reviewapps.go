package pg

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

func getReviewApp(ctx context.Context, q querier, pr int, forUpdate bool) (store.ReviewApp, error) {
	t := &pgTx{ctx: ctx, q: q, forUpdate: forUpdate}
	return getRow[store.ReviewApp](t, `SELECT data FROM review_apps WHERE pr = $1`, pr, fmt.Sprintf("review app of PR #%d", pr))
}

func putReviewApp(ctx context.Context, tx pgx.Tx, r store.ReviewApp) error {
	_, err := tx.Exec(ctx, `INSERT INTO review_apps (pr, data) VALUES ($1, $2) ON CONFLICT (pr) DO UPDATE SET data = EXCLUDED.data`, r.PR, r)
	return err
}

// CreateReviewApp records a review app Heroku accepted, replacing any older
// record of the same pull request, and audits it in the same transaction.
func (db *DB) CreateReviewApp(r store.ReviewApp) (store.ReviewApp, error) {
	if r.PR <= 0 || r.ID == "" {
		return r, fmt.Errorf("pg: a review app needs a PR number and an id, got #%d %q", r.PR, r.ID)
	}
	err := db.write("record the review app", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if err := putReviewApp(ctx, tx, r); err != nil {
			return err
		}
		return (&pgTx{ctx: ctx, q: tx}).AppendAudit(store.AuditEntry{At: now, Actor: r.RequestedBy, Action: "reviewapp.created", Subject: r.Subject(),
			Detail: map[string]string{"review_app": r.ID, "branch": r.Branch, "sha": r.SHA, "channel": r.Channel}})
	})
	return r, err
}

// ReviewApp returns the record of a pull request's review app, or
// store.ErrNotFound.
func (db *DB) ReviewApp(pr int) (store.ReviewApp, error) {
	var r store.ReviewApp
	err := db.read("read the review app", func(ctx context.Context, q querier) (err error) {
		r, err = getReviewApp(ctx, q, pr, false)
		return err
	})
	return r, err
}

// ReviewAppsBuilding lists the review apps Devy was following that had not
// reached an end (pending or creating, and not given up on), by PR number.
func (db *DB) ReviewAppsBuilding() ([]store.ReviewApp, error) {
	var all []store.ReviewApp
	err := db.read("list building review apps", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT data FROM review_apps WHERE data->>'status' IN ($1, $2) ORDER BY pr`, store.ReviewPending, store.ReviewCreating)
		if err != nil {
			return err
		}
		all, err = pgx.CollectRows(rows, pgx.RowTo[store.ReviewApp])
		return err
	})
	var out []store.ReviewApp
	for _, r := range all {
		if r.GaveUpAt.IsZero() {
			out = append(out, r)
		}
	}
	return out, err
}

// UpdateReviewApp stores what Devy learnt about a review app. It returns
// store.ErrNotFound when the pull request's record is now of another review
// app, so that a stale follower never overwrites a newer one.
func (db *DB) UpdateReviewApp(r store.ReviewApp) (store.ReviewApp, error) {
	err := db.write("update the review app", func(ctx context.Context, tx pgx.Tx) error {
		cur, err := getReviewApp(ctx, tx, r.PR, true)
		if err != nil {
			return err
		}
		if cur.ID != r.ID {
			return store.ErrNotFound
		}
		r.CreatedAt, r.UpdatedAt = cur.CreatedAt, db.now()
		return putReviewApp(ctx, tx, r)
	})
	return r, err
}

// DeleteReviewApp records that by deleted review app id of pr, with the audit
// entry; a review app Devy did not create has no record, and its deletion
// is still audited.
func (db *DB) DeleteReviewApp(pr int, id, by string) (*store.ReviewApp, error) {
	var out *store.ReviewApp
	err := db.write("record the review app's deletion", func(ctx context.Context, tx pgx.Tx) error {
		now := db.now()
		r, err := getReviewApp(ctx, tx, pr, true)
		switch {
		case err == nil && r.ID == id:
			r.Status, r.DeletedBy, r.UpdatedAt = store.ReviewDeleted, by, now
			if err := putReviewApp(ctx, tx, r); err != nil {
				return err
			}
			out = &r
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		return (&pgTx{ctx: ctx, q: tx}).AppendAudit(store.AuditEntry{At: now, Actor: by, Action: "reviewapp.deleted", Subject: "PR #" + strconv.Itoa(pr),
			Detail: map[string]string{"review_app": id}})
	})
	return out, err
}

// SetPRThread remembers the thread of the notification Devy posted for a
// pull request.
func (db *DB) SetPRThread(pr int, channel, ts string) error {
	if pr <= 0 || channel == "" || ts == "" {
		return fmt.Errorf("pg: a PR thread needs a PR number, a channel and a ts, got #%d %q %q", pr, channel, ts)
	}
	return db.read("record the PR's thread", func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO pr_threads (pr, channel, ts) VALUES ($1, $2, $3)
			ON CONFLICT (pr) DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts`, pr, channel, ts)
		return err
	})
}

// PRThread returns the thread of a pull request's notification, or nil.
func (db *DB) PRThread(pr int) (*store.Thread, error) {
	var out *store.Thread
	err := db.read("read the PR's thread", func(ctx context.Context, q querier) error {
		var t store.Thread
		err := q.QueryRow(ctx, `SELECT channel, ts FROM pr_threads WHERE pr = $1`, pr).Scan(&t.Channel, &t.TS)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		out = &t
		return nil
	})
	return out, err
}
