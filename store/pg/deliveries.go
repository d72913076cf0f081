package pg

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
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
	// The claim carries a token of its own: if the connection dies after
	// the insert committed, the retry in read finds its own row and still
	// knows it was first.
	claim := rand.Text()
	var first bool
	err := db.read("remember a Slack delivery", func(ctx context.Context, q querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO deliveries (key, at, claim) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
			key, db.now(), claim); err != nil {
			return err
		}
		var owner string
		err := q.QueryRow(ctx, `SELECT claim FROM deliveries WHERE key = $1`, key).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return errors.New("the delivery was forgotten as it was claimed") // only a clock far off could do this
		}
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
