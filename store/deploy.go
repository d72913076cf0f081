package store

import (
	"errors"
	"fmt"
	"strconv"
	"time"
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

// ErrNotLocked is returned by ReleaseLock when there is nothing to release.
var ErrNotLocked = errors.New("store: not locked")

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
	// Commits are the commits the promotion ships, as GitHub's compare
	// listed them when the request was made; nil on requests made before
	// Devy kept them.
	Commits []CommitInfo `json:"commits,omitempty"`
	// Override is an admin's approval despite unverified commits
	// (DEVY_REQUIRE_VERIFIED), with their reason.
	Override *Override `json:"override,omitempty"`

	DecidedBy   string    `json:"decided_by,omitempty"`
	DecidedAt   time.Time `json:"decided_at,omitempty"`
	PromotionID string    `json:"promotion_id,omitempty"`
	FinishedAt  time.Time `json:"finished_at,omitempty"`
	Note        string    `json:"note,omitempty"` // why it ended as it did, in words

	// PrevLock is the requester's own manual lock, put back when the
	// promotion ends.
	PrevLock *Lock `json:"prev_lock,omitempty"`
}

// CommitInfo is one commit a promotion ships: what the suspect line names
// and what lead time is measured from. Text is as GitHub gave it
// (untrusted).
type CommitInfo struct {
	SHA         string    `json:"sha"`
	AuthorLogin string    `json:"author_login,omitempty"` // GitHub login; empty when the e-mail matches no account
	AuthorName  string    `json:"author_name,omitempty"`  // the git author name
	AuthorEmail string    `json:"author_email,omitempty"`
	AuthoredAt  time.Time `json:"authored_at"` // the git author date
	Message     string    `json:"message"`     // the first line
	// SlackUser is the author's Slack user as Devy found it when the
	// request was made (DEVY_USER_MAP, else the e-mail); "" for none.
	SlackUser string `json:"slack_user,omitempty"`
}

// Subject names the request in the audit log.
func (r PromotionRequest) Subject() string { return "request " + strconv.FormatUint(r.ID, 10) }

// Open reports whether the request still waits for a decision at now.
func (r PromotionRequest) Open(now time.Time) bool {
	return r.Status == StatusPending && now.Before(r.ExpiresAt)
}

// Decided reports whether someone approved or rejected it.
func (r PromotionRequest) Decided() bool { return r.DecidedBy != "" }

// PendingError points at the request that is already waiting.
type PendingError struct{ Request PromotionRequest }

func (e *PendingError) Error() string {
	return fmt.Sprintf("store: request %d is already pending", e.Request.ID)
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

// active is l if it still holds at now, else nil.
func active(l *Lock, now time.Time) *Lock {
	if l == nil || !l.Active(now) {
		return nil
	}
	return l
}

// Lock returns the pipeline's active lock, or nil.
func (s Rules) Lock(pipeline string) (*Lock, error) {
	var l *Lock
	err := s.b.View("read the lock", func(tx Tx) (err error) {
		l, err = tx.Lock(pipeline)
		return err
	})
	return active(l, s.now()), err
}

// AcquireLock takes a manual lock. A lock held by someone else (or by a
// running promotion) refuses with *LockedError; the holder may renew theirs.
func (s Rules) AcquireLock(l Lock) (Lock, error) {
	err := s.b.Update("take the lock", func(tx Tx) error {
		now := s.now()
		raw, err := tx.Lock(l.Pipeline)
		if err != nil {
			return err
		}
		if cur := active(raw, now); cur != nil && (cur.Holder != l.Holder || cur.RequestID != 0) {
			return &LockedError{*cur}
		}
		l.Since = now
		l.RequestID = 0
		if err := tx.PutLock(l.Pipeline, &l); err != nil {
			return err
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: l.Holder, Action: "lock.acquired", Subject: "pipeline " + l.Pipeline,
			Detail: map[string]string{"reason": l.Reason, "until": l.Until.Format(time.RFC3339)}})
	})
	return l, err
}

// ReleaseLock lifts a manual lock. Only the holder may, unless force (an
// admin). A promotion's lock cannot be lifted by hand: it ends with the
// promotion.
func (s Rules) ReleaseLock(pipeline, by string, force bool) (Lock, error) {
	var released Lock
	err := s.b.Update("lift the lock", func(tx Tx) error {
		now := s.now()
		raw, err := tx.Lock(pipeline)
		if err != nil {
			return err
		}
		cur := active(raw, now)
		if cur == nil {
			return ErrNotLocked
		}
		if cur.RequestID != 0 || (cur.Holder != by && !force) {
			return &LockedError{*cur}
		}
		released = *cur
		if err := tx.PutLock(pipeline, nil); err != nil {
			return err
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: by, Action: "lock.released", Subject: "pipeline " + pipeline,
			Detail: map[string]string{"holder": cur.Holder}})
	})
	return released, err
}

// openRequest finds the pipeline's pending or promoting request; pending
// ones that have expired are marked so on the way. The caller holds the
// pipeline (tx.Lock).
func openRequest(tx Tx, pipeline string, now time.Time) (*PromotionRequest, error) {
	rs, err := tx.OpenRequests(pipeline)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Status == StatusPromoting || r.Open(now) {
			return &r, nil
		}
		r.Status, r.FinishedAt = StatusExpired, now
		if err := tx.PutRequest(r); err != nil {
			return nil, err
		}
		if err := enqueue(tx, now, []Effect{ExpiryEffect(r.ID)}); err != nil {
			return nil, err
		}
		if err := tx.AppendAudit(AuditEntry{At: now, Actor: "devy", Action: "promotion.expired", Subject: r.Subject()}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// EffectExpired is the effect recorded with every expiry of a request, in
// the transaction that marks it: on time, at a click, or when a new request
// or a status read finds it overdue. Whichever way it is noticed, whoever
// drains the outbox redraws the request and tells the requester. Its
// payload is {"request": id}.
const EffectExpired = "deploy.expired"

// ExpiryEffect is the EffectExpired of request id.
func ExpiryEffect(id uint64) Effect {
	return Effect{Kind: EffectExpired, Payload: []byte(`{"request":` + strconv.FormatUint(id, 10) + `}`)}
}

// CreateRequest stores a new pending request and gives it an id. It refuses
// with *PendingError while another request of the pipeline is open, and with
// *LockedError while someone other than the requester holds the lock.
func (s Rules) CreateRequest(r PromotionRequest) (PromotionRequest, error) {
	err := s.b.Update("create the request", func(tx Tx) error {
		now := s.now()
		raw, err := tx.Lock(r.Pipeline)
		if err != nil {
			return err
		}
		if cur, err := openRequest(tx, r.Pipeline, now); err != nil {
			return err
		} else if cur != nil {
			return &PendingError{*cur}
		}
		if l := active(raw, now); l != nil && (l.Holder != r.RequestedBy || l.RequestID != 0) {
			return &LockedError{*l}
		}
		r.Status = StatusPending
		if r.RequestedAt.IsZero() {
			r.RequestedAt = now
		}
		if r, err = tx.NewRequest(r); err != nil {
			return err
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: r.RequestedBy, Action: "promotion.requested", Subject: r.Subject(),
			Detail: map[string]string{"release": itoa(r.ReleaseVersion), "sha": r.SHA, "base_sha": r.BaseSHA, "ci": r.CIState, "skip_ci": r.SkipCIReason}})
	})
	return r, err
}

// Request reads one request.
func (s Rules) Request(id uint64) (PromotionRequest, error) {
	var r PromotionRequest
	err := s.b.View("read the request", func(tx Tx) (err error) {
		r, err = tx.Request(id)
		return err
	})
	return r, err
}

// Requests returns requests with one of the given statuses (all when none
// are given), newest first.
func (s Rules) Requests(statuses ...string) ([]PromotionRequest, error) {
	var out []PromotionRequest
	err := s.b.View("list requests", func(tx Tx) (err error) {
		out, err = tx.Requests(statuses...)
		return err
	})
	return out, err
}

// OpenRequest returns the pipeline's pending (unexpired) or promoting
// request, or nil.
//
// Every /deploy status reads it, so it first only reads, and writes (taking
// the pipeline) only when a pending request just expired and must be marked
// so.
func (s Rules) OpenRequest(pipeline string) (*PromotionRequest, error) {
	var r *PromotionRequest
	expired := false
	err := s.b.View("find the open request", func(tx Tx) error {
		rs, err := tx.OpenRequests(pipeline)
		if err != nil {
			return err
		}
		now := s.now()
		r, expired = nil, false
		for _, x := range rs {
			if x.Status == StatusPromoting || x.Open(now) {
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
	err = s.b.Update("find the open request", func(tx Tx) error {
		if _, err := tx.Lock(pipeline); err != nil {
			return err
		}
		var err error
		r, err = openRequest(tx, pipeline, s.now())
		return err
	})
	return r, err
}

// change reads request id in an Update, lets ch alter it and writes it back.
func (s Rules) change(op string, id uint64, ch func(tx Tx, r *PromotionRequest, now time.Time) error) (PromotionRequest, error) {
	var r PromotionRequest
	err := s.b.Update(op, func(tx Tx) error {
		var err error
		if r, err = tx.Request(id); err != nil {
			return err
		}
		if err := ch(tx, &r, s.now()); err != nil {
			return err
		}
		return tx.PutRequest(r)
	})
	return r, err
}

// SetMessage records where the request's message was posted.
func (s Rules) SetMessage(id uint64, channel, ts string) error {
	_, err := s.change("record the request's message", id, func(_ Tx, r *PromotionRequest, _ time.Time) error {
		r.Channel, r.MessageTS = channel, ts
		return nil
	})
	return err
}

// SetTargets records the latest known state of each production app.
func (s Rules) SetTargets(id uint64, targets []Target) error {
	_, err := s.change("record the targets", id, func(_ Tx, r *PromotionRequest, _ time.Time) error {
		r.Targets = targets
		return nil
	})
	return err
}

// Approve moves a pending request to promoting and takes the production lock
// for it, in one transaction with the pipeline held: of any number of
// concurrent approvals, from any number of processes, exactly one gets
// through; the others get a *DecisionError showing who decided.
func (s Rules) Approve(id uint64, approver string) (PromotionRequest, error) {
	return s.change("approve the request", id, func(tx Tx, r *PromotionRequest, now time.Time) error {
		if err := r.Decidable(now); err != nil {
			return err
		}
		raw, err := tx.Lock(r.Pipeline)
		if err != nil {
			return err
		}
		l := active(raw, now)
		if l != nil && (l.RequestID != 0 || l.Holder != r.RequestedBy) {
			return &DecisionError{Request: *r, Reason: "locked", Lock: l}
		}
		r.PrevLock = l
		r.Status = StatusPromoting
		r.DecidedBy, r.DecidedAt = approver, now
		lock := Lock{Pipeline: r.Pipeline, Holder: r.RequestedBy, Reason: "promotion of " + r.Subject(), Since: now, RequestID: r.ID}
		if err := tx.PutLock(r.Pipeline, &lock); err != nil {
			return err
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: approver, Action: "promotion.approved", Subject: r.Subject(),
			Detail: map[string]string{"release": itoa(r.ReleaseVersion), "sha": r.SHA}})
	})
}

// CloseRequest ends a pending request without promoting: status is rejected
// or cancelled (by is who did it) or expired. effects (the notices of the
// decision, see Effect) are enqueued in the same transaction; an expiry
// always enqueues its EffectExpired too.
func (s Rules) CloseRequest(id uint64, status, by, note string, effects ...Effect) (PromotionRequest, error) {
	return s.change("close the request", id, func(tx Tx, r *PromotionRequest, now time.Time) error {
		if status != StatusExpired {
			if err := r.Decidable(now); err != nil {
				return err
			}
		} else if r.Status != StatusPending {
			return &DecisionError{Request: *r, Reason: "decided"}
		}
		r.Status = status
		r.Note = note
		if status == StatusRejected {
			r.DecidedBy, r.DecidedAt = by, now
		}
		r.FinishedAt = now
		if status == StatusExpired {
			effects = append([]Effect{ExpiryEffect(r.ID)}, effects...)
		}
		if err := enqueue(tx, now, effects); err != nil {
			return err
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: by, Action: "promotion." + status, Subject: r.Subject(),
			Detail: map[string]string{"note": note}})
	})
}

// StartPromotion records Heroku's promotion id once the call returned; until
// then a promoting request without an id means "the call may or may not have
// reached Heroku".
func (s Rules) StartPromotion(id uint64, promotionID string) error {
	_, err := s.change("record the promotion id", id, func(tx Tx, r *PromotionRequest, now time.Time) error {
		if r.Status != StatusPromoting {
			return &DecisionError{Request: *r, Reason: "not promoting"}
		}
		r.PromotionID = promotionID
		return tx.AppendAudit(AuditEntry{At: now, Actor: "devy", Action: "promotion.started", Subject: r.Subject(),
			Detail: map[string]string{"promotion": promotionID}})
	})
	return err
}

// FinishPromotion records the outcome, releases the promotion's lock (giving
// the requester back a manual lock they held before), ends its lease, writes
// the audit entry that /deploy history reads and enqueues effects (the
// reports of the outcome, see Effect) — all in one transaction, so that a
// crash right after it still has the reports to send.
func (s Rules) FinishPromotion(id uint64, status string, targets []Target, note string, effects ...Effect) (PromotionRequest, error) {
	return s.change("record the promotion's outcome", id, func(tx Tx, r *PromotionRequest, now time.Time) error {
		if r.Status != StatusPromoting {
			return &DecisionError{Request: *r, Reason: "not promoting"}
		}
		r.Status, r.Targets, r.Note, r.FinishedAt = status, targets, note, now
		raw, err := tx.Lock(r.Pipeline)
		if err != nil {
			return err
		}
		if l := active(raw, now); l != nil && l.RequestID == r.ID {
			if err := tx.PutLock(r.Pipeline, active(r.PrevLock, now)); err != nil {
				return err
			}
		}
		if err := tx.PutLease(r.ID, Lease{}); err != nil {
			return err
		}
		if err := enqueue(tx, now, effects); err != nil {
			return err
		}
		detail := map[string]string{
			"requested_by": r.RequestedBy, "approved_by": r.DecidedBy, "release": itoa(r.ReleaseVersion),
			"sha": r.SHA, "base_sha": r.BaseSHA, "compare_url": r.CompareURL, "outcome": status, "note": note,
			"staging_app": r.StagingAppName,
		}
		return tx.AppendAudit(AuditEntry{At: now, Actor: "devy", Action: "promotion.finished", Subject: r.Subject(), Detail: detail})
	})
}
