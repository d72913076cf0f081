package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Effect is a side effect still to carry out (a report posted in a thread,
// a timeline entry, a GitHub deployment status): recorded in the
// transaction of the outcome it follows from, so that a crash after the
// outcome does not lose it, and deleted once done. The store does not read
// Kind or Payload; whoever drains the outbox does.
type Effect struct {
	ID        uint64          `json:"id"`
	Kind      string          `json:"kind"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	// Attempts counts the claims: how often someone set out to carry it
	// out.
	Attempts int `json:"attempts,omitempty"`
	// Owner carries it out until ClaimedUntil; after that anyone may
	// claim it again.
	Owner        string    `json:"owner,omitempty"`
	ClaimedUntil time.Time `json:"claimed_until,omitempty"`
}

// enqueue adds effects to the outbox inside tx.
func enqueue(tx Tx, now time.Time, effects []Effect) error {
	for _, e := range effects {
		if e.Kind == "" {
			return errors.New("store: an effect needs a kind")
		}
		e.ID, e.CreatedAt, e.Attempts, e.Owner, e.ClaimedUntil = 0, now, 0, "", time.Time{}
		if _, err := tx.AddEffect(e); err != nil {
			return fmt.Errorf("enqueue effect %s: %w", e.Kind, err)
		}
	}
	return nil
}

// Enqueue adds effects that follow from no decision of the store's.
func (s Rules) Enqueue(effects ...Effect) error {
	return s.b.Update("enqueue effects", func(tx Tx) error { return enqueue(tx, s.now(), effects) })
}

// PendingEffects lists the effects not yet done, oldest first, at most
// limit of them (all when limit <= 0), claimed ones included.
func (s Rules) PendingEffects(limit int) ([]Effect, error) {
	var out []Effect
	err := s.b.View("list pending effects", func(tx Tx) (err error) {
		out, err = tx.Effects(limit)
		return err
	})
	return out, err
}

// ClaimEffect makes owner the one carrying out effect id for ttl and counts
// the attempt. It reports false when another owner's claim is still live or
// the effect is done already: of several processes draining the outbox, one
// carries out each effect; if it dies, the claim runs out and another does.
func (s Rules) ClaimEffect(id uint64, owner string, ttl time.Duration) (Effect, bool, error) {
	if owner == "" || ttl <= 0 {
		return Effect{}, false, fmt.Errorf("store: a claim needs an owner and a duration, got %q %s", owner, ttl)
	}
	var e Effect
	ok := false
	err := s.b.Update("claim an effect", func(tx Tx) error {
		ok = false
		var err error
		e, err = tx.Effect(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		now := s.now()
		if e.Owner != owner && now.Before(e.ClaimedUntil) {
			return nil
		}
		e.Owner, e.ClaimedUntil = owner, now.Add(ttl)
		e.Attempts++
		ok = true
		return tx.PutEffect(e)
	})
	return e, ok, err
}

// EffectDone removes effect id from the outbox; one already removed is no
// error.
func (s Rules) EffectDone(id uint64) error {
	return s.b.Update("mark an effect done", func(tx Tx) error { return tx.DeleteEffect(id) })
}

// RetryEffect ends owner's claim on effect id at until: after a failed
// attempt, the claim becomes the wait before the next one (anyone may
// claim it from until on, owner included); until now hands it back at once.
// It is no error if the effect is done or owner no longer holds it.
func (s Rules) RetryEffect(id uint64, owner string, until time.Time) error {
	return s.b.Update("schedule an effect's retry", func(tx Tx) error {
		e, err := tx.Effect(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if e.Owner != owner {
			return nil
		}
		e.ClaimedUntil = until
		return tx.PutEffect(e)
	})
}
