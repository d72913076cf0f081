package store

import (
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
// live follower.
type lease struct {
	owner string
	until time.Time
}

// ClaimPromotion makes owner the follower of promoting request id until ttl
// from now, or renews owner's lease. It reports false when another owner holds
// a live lease or the request is no longer promoting.
func (db *DB) ClaimPromotion(id uint64, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl <= 0 {
		return false, fmt.Errorf("store: a lease needs an owner and a duration, got %q %s", owner, ttl)
	}
	// db.mu is held across the read so that FinishPromotion, which drops the
	// lease after its commit, cannot interleave and leave a stale one.
	db.mu.Lock()
	defer db.mu.Unlock()
	r, err := db.Request(id)
	if err != nil {
		return false, err
	}
	if r.Status != StatusPromoting {
		return false, nil
	}
	now := db.now()
	if l, ok := db.leases[id]; ok && l.owner != owner && now.Before(l.until) {
		return false, nil
	}
	db.leases[id] = lease{owner: owner, until: now.Add(ttl)}
	return true, nil
}

// ReleasePromotion gives up owner's lease on request id (Devy is stopping),
// so that another process may take the promotion over at once.
func (db *DB) ReleasePromotion(id uint64, owner string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if l, ok := db.leases[id]; ok && l.owner == owner {
		db.leases[id] = lease{owner: owner, until: db.now()}
	}
	return nil
}

// OrphanedPromotions returns the promoting requests nobody follows (see the
// rules above), oldest first.
func (db *DB) OrphanedPromotions(ttl time.Duration) ([]PromotionRequest, error) {
	rs, err := db.Requests(StatusPromoting)
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	now := db.now()
	var out []PromotionRequest
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		l, claimed := db.leases[r.ID]
		switch {
		case claimed && !now.Before(l.until):
		case !claimed && (r.DecidedAt.Before(db.opened) || !r.DecidedAt.After(now.Add(-ttl))):
		default:
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// dropLease forgets the lease of a promotion that ended.
func (db *DB) dropLease(id uint64) {
	db.mu.Lock()
	defer db.mu.Unlock()
	delete(db.leases, id)
}
