package pg

import (
	"context"
	"crypto/rand"
	"errors"
	"time"
)

// deliveryMemory is how long a Slack delivery is remembered. Slack retries
// an unacknowledged envelope within minutes; an hour leaves a wide margin.
const deliveryMemory = time.Hour

// ClaimDelivery records that a process takes Slack delivery key (an
// envelope or event id) and reports whether none had before: of several
// processes claiming the same key, exactly one gets true. Now and then it
// also forgets deliveries older than deliveryMemory.
func (db *DB) ClaimDelivery(key string) (bool, error) {
	if key == "" {
		return false, errors.New("pg: a delivery needs a key")
	}
	// The claim carries a token of its own, and the statement returns the
	// token of whoever holds the key: a no-op update on conflict makes
	// RETURNING give the existing row. If the connection dies after the
	// insert committed, the retry in read finds its own token and still
	// knows it was first.
	claim := rand.Text()
	var first bool
	err := db.read("remember a Slack delivery", func(ctx context.Context, q querier) error {
		var owner string
		err := q.QueryRow(ctx, `INSERT INTO deliveries (key, at, claim) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING claim`, key, db.now(), claim).Scan(&owner)
		first = owner == claim
		return err
	})
	if err != nil {
		return false, err
	}
	db.forgetDeliveries()
	return first, nil
}

// forgetDeliveries deletes deliveries older than deliveryMemory, at most
// every ten minutes per process. A failure is left for the next time: the
// claim it follows has succeeded.
func (db *DB) forgetDeliveries() {
	now := db.now()
	last := db.forgotAt.Load()
	if now.UnixNano()-last < int64(10*time.Minute) || !db.forgotAt.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	err := db.read("forget old Slack deliveries", func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM deliveries WHERE at < $1`, now.Add(-deliveryMemory))
		return err
	})
	if err != nil {
		db.forgotAt.Store(last)
	}
}
