package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Lock is the production lock of a pipeline, held by a person (a manual lock,
// RequestID 0) or by a running promotion.
type Lock struct {
	Pipeline  string    `json:"pipeline"`
	Holder    string    `json:"holder"` // Slack user id
	Reason    string    `json:"reason,omitempty"`
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until,omitempty"` // zero: until the promotion ends
	RequestID uint64    `json:"request_id,omitempty"`
}

// Active reports whether the lock still holds at now.
func (l Lock) Active(now time.Time) bool { return l.Until.IsZero() || now.Before(l.Until) }

// LockedError says who holds the lock that refused an operation.
type LockedError struct{ Lock Lock }

func (e *LockedError) Error() string {
	return fmt.Sprintf("store: pipeline %s is locked by %s", e.Lock.Pipeline, e.Lock.Holder)
}

func getLock(tx *bolt.Tx, pipeline string, now time.Time) (*Lock, error) {
	v := tx.Bucket(bucketLocks).Get([]byte(pipeline))
	if v == nil {
		return nil, nil
	}
	var l Lock
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("decode lock %s: %w", pipeline, err)
	}
	if !l.Active(now) {
		return nil, nil
	}
	return &l, nil
}

// Lock returns the pipeline's active lock, or nil.
func (db *DB) Lock(pipeline string) (*Lock, error) {
	var l *Lock
	err := db.bolt.View(func(tx *bolt.Tx) (err error) {
		l, err = getLock(tx, pipeline, db.now())
		return err
	})
	return l, err
}

// AcquireLock takes a manual lock. A lock held by someone else (or by a
// running promotion) refuses with *LockedError; the holder may renew theirs.
func (db *DB) AcquireLock(l Lock) (Lock, error) {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		cur, err := getLock(tx, l.Pipeline, now)
		if err != nil {
			return err
		}
		if cur != nil && (cur.Holder != l.Holder || cur.RequestID != 0) {
			return &LockedError{*cur}
		}
		l.Since = now
		l.RequestID = 0
		if err := putJSON(tx.Bucket(bucketLocks), []byte(l.Pipeline), l); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: l.Holder, Action: "lock.acquired", Subject: "pipeline " + l.Pipeline,
			Detail: map[string]string{"reason": l.Reason, "until": l.Until.Format(time.RFC3339)}})
	})
	return l, err
}

// ErrNotLocked is returned by ReleaseLock when there is nothing to release.
var ErrNotLocked = errors.New("store: not locked")

// ReleaseLock lifts a manual lock. Only the holder may, unless force (an
// admin). A promotion's lock cannot be lifted by hand: it ends with the
// promotion.
func (db *DB) ReleaseLock(pipeline, by string, force bool) (Lock, error) {
	var released Lock
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		cur, err := getLock(tx, pipeline, now)
		if err != nil {
			return err
		}
		if cur == nil {
			return ErrNotLocked
		}
		if cur.RequestID != 0 || (cur.Holder != by && !force) {
			return &LockedError{*cur}
		}
		released = *cur
		if err := tx.Bucket(bucketLocks).Delete([]byte(pipeline)); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: by, Action: "lock.released", Subject: "pipeline " + pipeline,
			Detail: map[string]string{"holder": cur.Holder}})
	})
	return released, err
}

// Request statuses. pending → promoting → succeeded | failed | unknown;
// pending → rejected | cancelled | expired.
const (
	StatusPending   = "pending"
	StatusPromoting = "promoting"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusUnknown   = "unknown" // Devy lost track of a promotion and could not tell how it ended
	StatusRejected  = "rejected"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
)

// Target is one production app of a promotion.
type Target struct {
	AppID       string `json:"app_id"`
	AppName     string `json:"app_name"`
	FromVersion int    `json:"from_version"`
	FromSHA     string `json:"from_sha"`
	FromSlugID  string `json:"from_slug_id,omitempty"`
	Status      string `json:"status,omitempty"` // pending, succeeded, failed (Heroku's)
	Error       string `json:"error,omitempty"`
	ReleaseID   string `json:"release_id,omitempty"`
}

// PromotionRequest is a /deploy promote waiting for, or past, its decision.
// It pins the staging release that was shown to the reviewer.
type PromotionRequest struct {
	ID          uint64    `json:"id"`
	Pipeline    string    `json:"pipeline"` // pipeline id
	Status      string    `json:"status"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	ExpiresAt   time.Time `json:"expires_at"`

	Channel   string `json:"channel"`
	MessageTS string `json:"message_ts,omitempty"`

	StagingAppID   string   `json:"staging_app_id"`
	StagingAppName string   `json:"staging_app_name"`
	ReleaseID      string   `json:"release_id"`
	ReleaseVersion int      `json:"release_version"`
	SlugID         string   `json:"slug_id"`
	SHA            string   `json:"sha"`
	BaseSHA        string   `json:"base_sha"`
	Targets        []Target `json:"targets"`
	CommitCount    int      `json:"commit_count"`
	Authors        []string `json:"authors,omitempty"` // GitHub logins in the range
	CompareURL     string   `json:"compare_url,omitempty"`
	CIState        string   `json:"ci_state"`
	CIURL          string   `json:"ci_url,omitempty"`
	SkipCIReason   string   `json:"skip_ci_reason,omitempty"`
	// Diff is the reviewed diff as it was shown (commits, files, risks), kept
	// so the message can be redrawn as the promotion progresses, even after a
	// restart.
	Diff []string `json:"diff,omitempty"`

	DecidedBy   string    `json:"decided_by,omitempty"`
	DecidedAt   time.Time `json:"decided_at,omitempty"`
	PromotionID string    `json:"promotion_id,omitempty"`
	FinishedAt  time.Time `json:"finished_at,omitempty"`
	Note        string    `json:"note,omitempty"` // why it ended as it did, in words

	// PrevLock is the requester's own manual lock, put back when the
	// promotion ends.
	PrevLock *Lock `json:"prev_lock,omitempty"`
}

// Subject names the request in the audit log.
func (r PromotionRequest) Subject() string { return "request " + strconv.FormatUint(r.ID, 10) }

// Open reports whether the request still waits for a decision at now.
func (r PromotionRequest) Open(now time.Time) bool {
	return r.Status == StatusPending && now.Before(r.ExpiresAt)
}

// Decided reports whether someone approved or rejected it.
func (r PromotionRequest) Decided() bool { return r.DecidedBy != "" }

func getRequest(tx *bolt.Tx, id uint64) (PromotionRequest, error) {
	return getJSON[PromotionRequest](tx.Bucket(bucketRequests), itob(id), fmt.Sprintf("request %d", id))
}

// PendingError points at the request that is already waiting.
type PendingError struct{ Request PromotionRequest }

func (e *PendingError) Error() string {
	return fmt.Sprintf("store: request %d is already pending", e.Request.ID)
}

// openRequest finds the pipeline's pending or promoting request; pending ones
// that have expired are marked so on the way.
func openRequest(tx *bolt.Tx, pipeline string, now time.Time) (*PromotionRequest, error) {
	b := tx.Bucket(bucketRequests)
	c := b.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var r PromotionRequest
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decode request %d: %w", btoi(k), err)
		}
		if r.Pipeline != pipeline {
			continue
		}
		switch {
		case r.Status == StatusPromoting:
			return &r, nil
		case r.Status == StatusPending && r.Open(now):
			return &r, nil
		case r.Status == StatusPending:
			r.Status = StatusExpired
			if err := putJSON(b, k, r); err != nil {
				return nil, err
			}
			if err := appendAudit(tx, AuditEntry{At: now, Actor: "devy", Action: "promotion.expired", Subject: r.Subject()}); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

// CreateRequest stores a new pending request and gives it an id. It refuses
// with *PendingError while another request of the pipeline is open, and with
// *LockedError while someone other than the requester holds the lock.
func (db *DB) CreateRequest(r PromotionRequest) (PromotionRequest, error) {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		if cur, err := openRequest(tx, r.Pipeline, now); err != nil {
			return err
		} else if cur != nil {
			return &PendingError{*cur}
		}
		if l, err := getLock(tx, r.Pipeline, now); err != nil {
			return err
		} else if l != nil && (l.Holder != r.RequestedBy || l.RequestID != 0) {
			return &LockedError{*l}
		}
		b := tx.Bucket(bucketRequests)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		r.ID = id
		r.Status = StatusPending
		if r.RequestedAt.IsZero() {
			r.RequestedAt = now
		}
		if err := putJSON(b, itob(id), r); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: r.RequestedBy, Action: "promotion.requested", Subject: r.Subject(),
			Detail: map[string]string{"release": strconv.Itoa(r.ReleaseVersion), "sha": r.SHA, "base_sha": r.BaseSHA, "ci": r.CIState, "skip_ci": r.SkipCIReason}})
	})
	return r, err
}

// Request reads one request.
func (db *DB) Request(id uint64) (PromotionRequest, error) {
	var r PromotionRequest
	err := db.bolt.View(func(tx *bolt.Tx) (err error) {
		r, err = getRequest(tx, id)
		return err
	})
	return r, err
}

// SetMessage records where the request's message was posted.
func (db *DB) SetMessage(id uint64, channel, ts string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		r, err := getRequest(tx, id)
		if err != nil {
			return err
		}
		r.Channel, r.MessageTS = channel, ts
		return putJSON(tx.Bucket(bucketRequests), itob(id), r)
	})
}

// DecisionError says why a decision was refused, with the request as it is.
type DecisionError struct {
	Request PromotionRequest
	Reason  string // "decided", "expired", "locked"
	Lock    *Lock
}

func (e *DecisionError) Error() string {
	return fmt.Sprintf("store: request %d cannot be decided: %s", e.Request.ID, e.Reason)
}

// Approve moves a pending request to promoting and takes the production lock
// for it, in one transaction: of any number of concurrent approvals exactly
// one gets through; the others get a *DecisionError showing who decided.
func (db *DB) Approve(id uint64, approver string) (PromotionRequest, error) {
	var r PromotionRequest
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		var err error
		if r, err = getRequest(tx, id); err != nil {
			return err
		}
		if err := r.Decidable(now); err != nil {
			return err
		}
		l, err := getLock(tx, r.Pipeline, now)
		if err != nil {
			return err
		}
		if l != nil && (l.RequestID != 0 || l.Holder != r.RequestedBy) {
			return &DecisionError{Request: r, Reason: "locked", Lock: l}
		}
		r.PrevLock = l
		r.Status = StatusPromoting
		r.DecidedBy, r.DecidedAt = approver, now
		lock := Lock{Pipeline: r.Pipeline, Holder: r.RequestedBy, Reason: "promotion of " + r.Subject(), Since: now, RequestID: r.ID}
		if err := putJSON(tx.Bucket(bucketLocks), []byte(r.Pipeline), lock); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketRequests), itob(id), r); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: approver, Action: "promotion.approved", Subject: r.Subject(),
			Detail: map[string]string{"release": strconv.Itoa(r.ReleaseVersion), "sha": r.SHA}})
	})
	return r, err
}

// Decidable returns a *DecisionError when the request can no longer be
// approved or rejected at now (expired, or decided already), nil otherwise.
func (r PromotionRequest) Decidable(now time.Time) error {
	switch {
	case r.Status == StatusPending && !now.Before(r.ExpiresAt):
		return &DecisionError{Request: r, Reason: "expired"}
	case r.Status == StatusExpired:
		return &DecisionError{Request: r, Reason: "expired"}
	case r.Status != StatusPending:
		return &DecisionError{Request: r, Reason: "decided"}
	}
	return nil
}

// CloseRequest ends a pending request without promoting: status is rejected or
// cancelled (by is who did it) or expired.
func (db *DB) CloseRequest(id uint64, status, by, note string) (PromotionRequest, error) {
	var r PromotionRequest
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		var err error
		if r, err = getRequest(tx, id); err != nil {
			return err
		}
		if status != StatusExpired {
			if err := r.Decidable(now); err != nil {
				return err
			}
		} else if r.Status != StatusPending {
			return &DecisionError{Request: r, Reason: "decided"}
		}
		r.Status = status
		r.Note = note
		if status == StatusRejected {
			r.DecidedBy, r.DecidedAt = by, now
		}
		r.FinishedAt = now
		if err := putJSON(tx.Bucket(bucketRequests), itob(id), r); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: by, Action: "promotion." + status, Subject: r.Subject(),
			Detail: map[string]string{"note": note}})
	})
	return r, err
}

// StartPromotion records Heroku's promotion id once the call returned; until
// then a promoting request without an id means "the call may or may not have
// reached Heroku".
func (db *DB) StartPromotion(id uint64, promotionID string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		r, err := getRequest(tx, id)
		if err != nil {
			return err
		}
		if r.Status != StatusPromoting {
			return &DecisionError{Request: r, Reason: "not promoting"}
		}
		r.PromotionID = promotionID
		if err := putJSON(tx.Bucket(bucketRequests), itob(id), r); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{At: db.now(), Actor: "devy", Action: "promotion.started", Subject: r.Subject(),
			Detail: map[string]string{"promotion": promotionID}})
	})
}

// SetTargets records the latest known state of each production app.
func (db *DB) SetTargets(id uint64, targets []Target) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		r, err := getRequest(tx, id)
		if err != nil {
			return err
		}
		r.Targets = targets
		return putJSON(tx.Bucket(bucketRequests), itob(id), r)
	})
}

// FinishPromotion records the outcome, releases the promotion's lock (giving
// the requester back a manual lock they held before) and writes the audit
// entry that /deploy history reads — all in one transaction.
func (db *DB) FinishPromotion(id uint64, status string, targets []Target, note string) (PromotionRequest, error) {
	var r PromotionRequest
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		now := db.now()
		var err error
		if r, err = getRequest(tx, id); err != nil {
			return err
		}
		if r.Status != StatusPromoting {
			return &DecisionError{Request: r, Reason: "not promoting"}
		}
		r.Status, r.Targets, r.Note, r.FinishedAt = status, targets, note, now
		if err := putJSON(tx.Bucket(bucketRequests), itob(id), r); err != nil {
			return err
		}
		locks := tx.Bucket(bucketLocks)
		if l, err := getLock(tx, r.Pipeline, now); err != nil {
			return err
		} else if l != nil && l.RequestID == r.ID {
			if r.PrevLock != nil && r.PrevLock.Active(now) {
				err = putJSON(locks, []byte(r.Pipeline), r.PrevLock)
			} else {
				err = locks.Delete([]byte(r.Pipeline))
			}
			if err != nil {
				return err
			}
		}
		detail := map[string]string{
			"requested_by": r.RequestedBy, "approved_by": r.DecidedBy, "release": strconv.Itoa(r.ReleaseVersion),
			"sha": r.SHA, "base_sha": r.BaseSHA, "compare_url": r.CompareURL, "outcome": status, "note": note,
			"staging_app": r.StagingAppName,
		}
		return appendAudit(tx, AuditEntry{At: now, Actor: "devy", Action: "promotion.finished", Subject: r.Subject(), Detail: detail})
	})
	if err == nil {
		db.dropLease(id)
	}
	return r, err
}

// Requests returns requests with one of the given statuses, newest first.
func (db *DB) Requests(statuses ...string) ([]PromotionRequest, error) {
	var out []PromotionRequest
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRequests).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r PromotionRequest
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode request %d: %w", btoi(k), err)
			}
			if len(statuses) == 0 || contains(statuses, r.Status) {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// OpenRequest returns the pipeline's pending (unexpired) or promoting request, or nil.
//
// It is read by every /deploy status, so it reads without bbolt's single
// writer lock, and writes only when a pending request just expired and must
// be marked so.
func (db *DB) OpenRequest(pipeline string) (*PromotionRequest, error) {
	var r *PromotionRequest
	expired := false
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRequests).Cursor()
		now := db.now()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var x PromotionRequest
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("decode request %d: %w", btoi(k), err)
			}
			if x.Pipeline != pipeline {
				continue
			}
			switch {
			case x.Status == StatusPromoting || x.Open(now):
				r = &x
				return nil
			case x.Status == StatusPending:
				expired = true
			}
		}
		return nil
	})
	if err != nil || !expired {
		return r, err
	}
	err = db.bolt.Update(func(tx *bolt.Tx) (err error) {
		r, err = openRequest(tx, pipeline, db.now())
		return err
	})
	return r, err
}
