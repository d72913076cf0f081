package bolt

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/devy-chatops/devy/store"
	bbolt "go.etcd.io/bbolt"
)

func prKey(pr int) []byte { return itob(uint64(pr)) }

func getReviewApp(tx *bbolt.Tx, pr int) (store.ReviewApp, error) {
	return getJSON[store.ReviewApp](tx.Bucket(bucketReviewApps), prKey(pr), fmt.Sprintf("review app of PR #%d", pr))
}

// CreateReviewApp records a review app Heroku accepted, replacing any older
// record of the same pull request, and audits it in the same transaction.
func (db *DB) CreateReviewApp(r store.ReviewApp) (store.ReviewApp, error) {
	if r.PR <= 0 || r.ID == "" {
		return r, fmt.Errorf("store: a review app needs a PR number and an id, got #%d %q", r.PR, r.ID)
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		now := db.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if err := putJSON(tx.Bucket(bucketReviewApps), prKey(r.PR), r); err != nil {
			return err
		}
		return (&boltTx{tx: tx, db: db}).AppendAudit(store.AuditEntry{At: now, Actor: r.RequestedBy, Action: "reviewapp.created", Subject: r.Subject(),
			Detail: map[string]string{"review_app": r.ID, "branch": r.Branch, "sha": r.SHA, "channel": r.Channel}})
	})
	return r, err
}

// store.ReviewApp returns the record of a pull request's review app, or
// ErrNotFound.
func (db *DB) ReviewApp(pr int) (store.ReviewApp, error) {
	var r store.ReviewApp
	err := db.bolt.View(func(tx *bbolt.Tx) (err error) {
		r, err = getReviewApp(tx, pr)
		return err
	})
	return r, err
}

// ReviewAppsBuilding lists the review apps Devy was following that had not
// reached an end (pending or creating, and not given up on), so that a
// restart picks them up again.
func (db *DB) ReviewAppsBuilding() ([]store.ReviewApp, error) {
	var out []store.ReviewApp
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketReviewApps).ForEach(func(k, v []byte) error {
			var r store.ReviewApp
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode review app %x: %w", k, err)
			}
			if (r.Status == store.ReviewPending || r.Status == store.ReviewCreating) && r.GaveUpAt.IsZero() {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// UpdateReviewApp stores what Devy learnt about a review app (status, URL,
// messages). It returns store.ErrNotFound when the pull request's record is now of
// another review app, so that a stale follower never overwrites a newer one.
func (db *DB) UpdateReviewApp(r store.ReviewApp) (store.ReviewApp, error) {
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		cur, err := getReviewApp(tx, r.PR)
		if err != nil {
			return err
		}
		if cur.ID != r.ID {
			return store.ErrNotFound
		}
		r.CreatedAt, r.UpdatedAt = cur.CreatedAt, db.now()
		return putJSON(tx.Bucket(bucketReviewApps), prKey(r.PR), r)
	})
	return r, err
}

// DeleteReviewApp records that by deleted review app id of pr, with the audit
// entry. A review app Devy did not create has no record; its deletion is
// still audited. The returned record is the updated one, when there is one.
func (db *DB) DeleteReviewApp(pr int, id, by string) (*store.ReviewApp, error) {
	var out *store.ReviewApp
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		now := db.now()
		r, err := getReviewApp(tx, pr)
		switch {
		case err == nil && r.ID == id:
			r.Status, r.DeletedBy, r.UpdatedAt = store.ReviewDeleted, by, now
			if err := putJSON(tx.Bucket(bucketReviewApps), prKey(pr), r); err != nil {
				return err
			}
			out = &r
		case err != nil && err != store.ErrNotFound:
			return err
		}
		return (&boltTx{tx: tx, db: db}).AppendAudit(store.AuditEntry{At: now, Actor: by, Action: "reviewapp.deleted", Subject: "PR #" + strconv.Itoa(pr),
			Detail: map[string]string{"review_app": id}})
	})
	return out, err
}

// SetPRThread remembers the thread of the notification Devy posted for a
// pull request, so that replies about the PR can go there.
func (db *DB) SetPRThread(pr int, channel, ts string) error {
	if pr <= 0 || channel == "" || ts == "" {
		return fmt.Errorf("store: a PR thread needs a PR number, a channel and a ts, got #%d %q %q", pr, channel, ts)
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx.Bucket(bucketPRThreads), prKey(pr), store.Thread{Channel: channel, TS: ts})
	})
}

// store.PRThread returns the thread of a pull request's notification, or nil when
// Devy posted none.
func (db *DB) PRThread(pr int) (*store.Thread, error) {
	var out *store.Thread
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketPRThreads).Get(prKey(pr))
		if v == nil {
			return nil
		}
		var t store.Thread
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("decode thread of PR #%d: %w", pr, err)
		}
		out = &t
		return nil
	})
	return out, err
}
