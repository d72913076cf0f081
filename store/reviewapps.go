package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Review app statuses as Heroku names them; Devy stores the last one it saw.
const (
	ReviewPending  = "pending"
	ReviewCreating = "creating"
	ReviewCreated  = "created"
	ReviewErrored  = "errored"
	ReviewDeleting = "deleting"
	ReviewDeleted  = "deleted"
)

// MessageRef is a message Devy posted and keeps up to date.
type MessageRef struct {
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts,omitempty"` // the thread it sits in, if any
}

// ReviewApp is what Devy remembers of a review app it was asked to create:
// the pull request it shows, who asked and where, and the messages that show
// its progress, so that any later step (the build ending, a status check,
// a deletion) can redraw them from this record alone.
type ReviewApp struct {
	PR          int    `json:"pr"`
	ID          string `json:"id"`       // Heroku's review app id
	Pipeline    string `json:"pipeline"` // pipeline id
	Branch      string `json:"branch"`
	SHA         string `json:"sha"`
	Title       string `json:"title"`
	PRURL       string `json:"pr_url"`
	AuthorLogin string `json:"author_login"`
	CI          string `json:"ci,omitempty"` // the CI state of the head commit, as shown

	RequestedBy string       `json:"requested_by"` // Slack user id
	Channel     string       `json:"channel"`      // where it was asked
	ThreadTS    string       `json:"thread_ts,omitempty"`
	Messages    []MessageRef `json:"messages,omitempty"`

	Status    string    `json:"status"`
	AppName   string    `json:"app_name,omitempty"`
	WebURL    string    `json:"web_url,omitempty"`
	Message   string    `json:"message,omitempty"`    // Heroku's error, when errored
	GaveUpAt  time.Time `json:"gave_up_at,omitempty"` // when Devy stopped following a build that took too long
	DeletedBy string    `json:"deleted_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Subject names the review app in the audit log.
func (r ReviewApp) Subject() string { return "PR #" + strconv.Itoa(r.PR) }

// Thread is a Slack thread: the channel and the ts of its first message.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

func prKey(pr int) []byte { return itob(uint64(pr)) }

func getReviewApp(tx *bolt.Tx, pr int) (ReviewApp, error) {
	return getJSON[ReviewApp](tx.Bucket(bucketReviewApps), prKey(pr), fmt.Sprintf("review app of PR #%d", pr))
}

// CreateReviewApp records a review app Heroku accepted, replacing any older
// record of the same pull request, and audits it in the same transaction.
func (db *DB) CreateReviewApp(r ReviewApp) (ReviewApp, error) {
	if r.PR <= 0 || r.ID == "" {
		return r, fmt.Errorf("store: a review app needs a PR number and an id, got #%d %q", r.PR, r.ID)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if err := putJSON(tx.Bucket(bucketReviewApps), prKey(r.PR), r); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: r.RequestedBy, Action: "reviewapp.created", Subject: r.Subject(),
			Detail: map[string]string{"review_app": r.ID, "branch": r.Branch, "sha": r.SHA, "channel": r.Channel}})
	})
	return r, err
}

// ReviewApp returns the record of a pull request's review app, or
// ErrNotFound.
func (db *DB) ReviewApp(pr int) (ReviewApp, error) {
	var r ReviewApp
	err := db.bolt.View(func(tx *bolt.Tx) (err error) {
		r, err = getReviewApp(tx, pr)
		return err
	})
	return r, err
}

// ReviewAppsBuilding lists the review apps Devy was following that had not
// reached an end (pending or creating, and not given up on), so that a
// restart picks them up again.
func (db *DB) ReviewAppsBuilding() ([]ReviewApp, error) {
	var out []ReviewApp
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReviewApps).ForEach(func(k, v []byte) error {
			var r ReviewApp
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode review app %x: %w", k, err)
			}
			if (r.Status == ReviewPending || r.Status == ReviewCreating) && r.GaveUpAt.IsZero() {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// UpdateReviewApp stores what Devy learnt about a review app (status, URL,
// messages). It returns ErrNotFound when the pull request's record is now of
// another review app, so that a stale follower never overwrites a newer one.
func (db *DB) UpdateReviewApp(r ReviewApp) (ReviewApp, error) {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		cur, err := getReviewApp(tx, r.PR)
		if err != nil {
			return err
		}
		if cur.ID != r.ID {
			return ErrNotFound
		}
		r.CreatedAt, r.UpdatedAt = cur.CreatedAt, db.now()
		return putJSON(tx.Bucket(bucketReviewApps), prKey(r.PR), r)
	})
	return r, err
}

// DeleteReviewApp records that by deleted review app id of pr, with the audit
// entry. A review app Devy did not create has no record; its deletion is
// still audited. The returned record is the updated one, when there is one.
func (db *DB) DeleteReviewApp(pr int, id, by string) (*ReviewApp, error) {
	var out *ReviewApp
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		r, err := getReviewApp(tx, pr)
		switch {
		case err == nil && r.ID == id:
			r.Status, r.DeletedBy, r.UpdatedAt = ReviewDeleted, by, now
			if err := putJSON(tx.Bucket(bucketReviewApps), prKey(pr), r); err != nil {
				return err
			}
			out = &r
		case err != nil && err != ErrNotFound:
			return err
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: by, Action: "reviewapp.deleted", Subject: "PR #" + strconv.Itoa(pr),
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
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketPRThreads), prKey(pr), Thread{Channel: channel, TS: ts})
	})
}

// PRThread returns the thread of a pull request's notification, or nil when
// Devy posted none.
func (db *DB) PRThread(pr int) (*Thread, error) {
	var out *Thread
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketPRThreads).Get(prKey(pr))
		if v == nil {
			return nil
		}
		var t Thread
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("decode thread of PR #%d: %w", pr, err)
		}
		out = &t
		return nil
	})
	return out, err
}
