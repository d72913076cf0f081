package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/devy-chatops/devy/store"
)

// A pending request expires on time, not at the next click: a timer per
// request closes it at its ExpiresAt, and the store records the expiry's
// notice (EffectExpired: the message loses its buttons, the requester hears
// of it in the thread) in the same transaction. At start, Resume expires
// what fell due while Devy was down and schedules the rest. Several
// processes may race to expire one request; the store lets one through.

// scheduleExpiry expires request r at its ExpiresAt, unless it was decided
// first or Devy stops.
func (d *Desk) scheduleExpiry(r store.PromotionRequest) {
	d.bg.Go(func(ctx context.Context) {
		for {
			t := time.NewTimer(r.ExpiresAt.Sub(d.store.Now()))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			cur, err := d.store.Request(r.ID)
			if err != nil {
				d.log.Warn().Err(err).Uint64("request", r.ID).Msg("reading a request to expire it failed; retrying in a minute")
				r.ExpiresAt = d.store.Now().Add(time.Minute)
				continue
			}
			if cur.Status != store.StatusPending {
				return // decided or expired another way
			}
			if d.store.Now().Before(cur.ExpiresAt) {
				r = cur // the timer ran ahead of the store's clock
				continue
			}
			d.expireDue(cur)
			return
		}
	})
}

// expireDue closes request r as expired and has its notice carried out.
func (d *Desk) expireDue(r store.PromotionRequest) {
	_, err := d.store.CloseRequest(r.ID, store.StatusExpired, "devy", "")
	var de *store.DecisionError
	switch {
	case errors.As(err, &de):
		return // decided meanwhile, or expired by another process
	case err != nil:
		d.log.Error().Err(err).Uint64("request", r.ID).Msg("expiring a request failed; the next click or start expires it")
		return
	}
	d.log.Info().Uint64("request", r.ID).Msg("request expired")
	d.outbox.Flush(d.bg, "an expiry's notice")
}

// scheduleExpiries schedules the expiry of every pending request; those
// already due expire at once.
func (d *Desk) scheduleExpiries() error {
	rs, err := d.store.Requests(store.StatusPending)
	if err != nil {
		return err
	}
	for _, r := range rs {
		d.scheduleExpiry(r)
	}
	return nil
}
