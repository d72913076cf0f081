package store

import (
	"errors"
	"fmt"
	"time"
)

// Leases say which Devy process follows a promotion, so that of several
// processes on one PostgreSQL only one polls Heroku and redraws the message,
// and another takes over when that one dies. Both stores follow the same
// rules:
//
//   - The process whose Approve won claims the request at once;
//     ClaimPromotion succeeds when nobody holds a live lease on it (or the
//     caller already does, which renews it).
//   - A promoting request is orphaned, and any process may claim it, when
//     its lease expired or was released, or when nobody ever claimed it and
//     it was approved more than ttl ago (its approver died in between).
//     A request approved a moment ago and not yet claimed is not orphaned:
//     it belongs to the process that approved it.
//
// Following is read-only (poll, redraw, record the outcome with
// FinishPromotion, which refuses a request that is no longer promoting), so a
// lease is about doing the work once, not about safety: the promotion itself
// is called only by the process whose Approve won.
//
// bbolt serves one process, so its leases live in memory: the file lock
// proves that promotions approved before this process opened the file have no
// live follower, so its Tx reports their leases as ended when the file was
// opened. PostgreSQL keeps them in the requests table.
// Lease says who follows a promotion, until when. The zero Lease: nobody
// ever claimed it.
type Lease struct {
	Owner string
	Until time.Time
}

// claimed reports whether anyone ever held the lease.
func (l Lease) claimed() bool { return l.Owner != "" || !l.Until.IsZero() }

// ClaimPromotion makes owner the follower of promoting request id until ttl
// from now, or renews owner's lease. It reports false when another owner
// holds a live lease or the request is no longer promoting. The request is
// held while it decides, so of several processes claiming at once one wins.
func (s Rules) ClaimPromotion(id uint64, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl <= 0 {
		return false, fmt.Errorf("store: a lease needs an owner and a duration, got %q %s", owner, ttl)
	}
	ok := false
	err := s.b.Update("claim the promotion", func(tx Tx) error {
		ok = false
		r, err := tx.Request(id)
		if err != nil {
			return err
		}
		if r.Status != StatusPromoting {
			return nil
		}
		now := s.now()
		l, err := tx.Lease(r)
		if err != nil {
			return err
		}
		if l.Owner != owner && now.Before(l.Until) {
			return nil
		}
		ok = true
		return tx.PutLease(id, Lease{Owner: owner, Until: now.Add(ttl)})
	})
	return ok, err
}

// ReleasePromotion gives up owner's lease on request id (Devy is stopping),
// so that another process may take the promotion over at once.
func (s Rules) ReleasePromotion(id uint64, owner string) error {
	return s.b.Update("release the promotion", func(tx Tx) error {
		r, err := tx.Request(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		l, err := tx.Lease(r)
		if err != nil || l.Owner != owner {
			return err
		}
		return tx.PutLease(id, Lease{Owner: owner, Until: s.now()})
	})
}

// OrphanedPromotions returns the promoting requests nobody follows (see the
// rules above), oldest first.
func (s Rules) OrphanedPromotions(ttl time.Duration) ([]PromotionRequest, error) {
	var out []PromotionRequest
	err := s.b.View("find orphaned promotions", func(tx Tx) error {
		out = nil
		rs, err := tx.Requests(StatusPromoting)
		if err != nil {
			return err
		}
		now := s.now()
		for i := len(rs) - 1; i >= 0; i-- {
			r := rs[i]
			l, err := tx.Lease(r)
			if err != nil {
				return err
			}
			if l.claimed() && now.Before(l.Until) {
				continue
			}
			if !l.claimed() && r.DecidedAt.After(now.Add(-ttl)) {
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
