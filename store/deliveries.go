package store

import (
	"errors"
	"time"
)

// DeliveryMemory is how long a webhook delivery is remembered: GitHub and
// Heroku redeliver within days, never after a week.
const DeliveryMemory = 7 * 24 * time.Hour

// ClaimWebhookDelivery records that webhook delivery key (for example the
// delivery id, or a hash of the event and its body) is being handled, and
// reports whether it is the first to: of several claims of one key, from
// any number of processes, exactly one gets true until the key is
// forgotten, DeliveryMemory after it was claimed or by ForgetWebhookDelivery.
// Keys older than DeliveryMemory are deleted on the way.
func (s Rules) ClaimWebhookDelivery(key string) (bool, error) {
	if key == "" {
		return false, errors.New("store: a delivery needs a key")
	}
	first := false
	err := s.b.Update("remember a webhook delivery", func(tx Tx) error {
		now := s.now()
		stale := now.Add(-DeliveryMemory)
		var err error
		if first, err = tx.AddDelivery(key, now, stale); err != nil {
			return err
		}
		return tx.DeleteDeliveriesBefore(stale)
	})
	return first, err
}

// ForgetWebhookDelivery forgets key, so that a delivery whose handling
// failed is handled again when it is redelivered.
func (s Rules) ForgetWebhookDelivery(key string) error {
	return s.b.Update("forget a webhook delivery", func(tx Tx) error { return tx.DeleteDelivery(key) })
}
