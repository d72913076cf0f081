package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/devy-chatops/devy/store"
)

// boltTx is store.Tx on one bbolt transaction. bbolt has one writer at a
// time, so no record needs a lock of its own.
type boltTx struct {
	tx *bbolt.Tx
	db *DB
}

func (t *boltTx) Lock(pipeline string) (*store.Lock, error) {
	l, err := getJSON[store.Lock](t.tx.Bucket(bucketLocks), []byte(pipeline), "lock "+pipeline)
	if err == store.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

func (t *boltTx) PutLock(pipeline string, l *store.Lock) error {
	if l == nil {
		return t.tx.Bucket(bucketLocks).Delete([]byte(pipeline))
	}
	return putJSON(t.tx.Bucket(bucketLocks), []byte(pipeline), l)
}

func (t *boltTx) Request(id uint64) (store.PromotionRequest, error) {
	return getJSON[store.PromotionRequest](t.tx.Bucket(bucketRequests), itob(id), fmt.Sprintf("request %d", id))
}

// eachRequest calls fn with every request, newest first, until fn says stop.
func (t *boltTx) eachRequest(fn func(r store.PromotionRequest) (stop bool)) error {
	c := t.tx.Bucket(bucketRequests).Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var r store.PromotionRequest
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode request %d: %w", btoi(k), err)
		}
		if fn(r) {
			return nil
		}
	}
	return nil
}

func (t *boltTx) Requests(statuses ...string) ([]store.PromotionRequest, error) {
	var out []store.PromotionRequest
	err := t.eachRequest(func(r store.PromotionRequest) bool {
		if len(statuses) == 0 || contains(statuses, r.Status) {
			out = append(out, r)
		}
		return false
	})
	return out, err
}

func (t *boltTx) OpenRequests(pipeline string) ([]store.PromotionRequest, error) {
	var out []store.PromotionRequest
	err := t.eachRequest(func(r store.PromotionRequest) bool {
		if r.Pipeline == pipeline && (r.Status == store.StatusPending || r.Status == store.StatusPromoting) {
			out = append(out, r)
		}
		return false
	})
	return out, err
}

func (t *boltTx) NewRequest(r store.PromotionRequest) (store.PromotionRequest, error) {
	id, err := t.tx.Bucket(bucketRequests).NextSequence()
	if err != nil {
		return r, err
	}
	r.ID = id
	return r, t.PutRequest(r)
}

func (t *boltTx) PutRequest(r store.PromotionRequest) error {
	return putJSON(t.tx.Bucket(bucketRequests), itob(r.ID), r)
}

// Lease is the lease this process holds in memory. A request approved
// before this process opened the file was followed, if at all, by a process
// that is gone: its lease ended when the file was opened.
func (t *boltTx) Lease(r store.PromotionRequest) (store.Lease, error) {
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	if l, ok := t.db.leases[r.ID]; ok {
		return l, nil
	}
	if r.Decided() && r.DecidedAt.Before(t.db.opened) {
		return store.Lease{Until: t.db.opened}, nil
	}
	return store.Lease{}, nil
}

// PutLease changes the lease in memory at once: a rolled-back transaction
// does not undo it. The rules write a lease last, so only a failed commit
// (a disk error) leaves a lease behind, which is harmless: a lease only
// says who does the following, not what is recorded.
func (t *boltTx) PutLease(id uint64, l store.Lease) error {
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	if l == (store.Lease{}) {
		delete(t.db.leases, id)
	} else {
		t.db.leases[id] = l
	}
	return nil
}

func (t *boltTx) AppendAudit(e store.AuditEntry) error {
	b := t.tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	return putJSON(b, itob(seq), e)
}

func (t *boltTx) NewIncident(inc store.Incident) (store.Incident, error) {
	n, err := t.tx.Bucket(bucketIncidents).NextSequence()
	if err != nil {
		return inc, err
	}
	inc.Number = n
	return inc, t.PutIncident(inc)
}

func (t *boltTx) Incident(n uint64) (store.Incident, error) {
	return getJSON[store.Incident](t.tx.Bucket(bucketIncidents), itob(n), fmt.Sprintf("incident %d", n))
}

func (t *boltTx) PutIncident(inc store.Incident) error {
	return putJSON(t.tx.Bucket(bucketIncidents), itob(inc.Number), inc)
}

func (t *boltTx) Timeline(n uint64) ([]store.TimelineEntry, error) { return timeline(t.tx, n) }

func timeline(tx *bbolt.Tx, n uint64) ([]store.TimelineEntry, error) {
	var out []store.TimelineEntry
	b := tx.Bucket(bucketIncidentTimeline).Bucket(itob(n))
	if b == nil {
		return nil, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		var e store.TimelineEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode timeline entry %d of incident %d: %w", btoi(k), n, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func (t *boltTx) AppendTimeline(n uint64, e store.TimelineEntry) error {
	b, err := t.tx.Bucket(bucketIncidentTimeline).CreateBucketIfNotExists(itob(n))
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	return putJSON(b, itob(seq), e)
}

func (t *boltTx) PutIncidentChannel(channel string, n uint64) error {
	return t.tx.Bucket(bucketIncidentChannels).Put([]byte(channel), itob(n))
}

func (t *boltTx) AddDelivery(key string, at, staleBefore time.Time) (bool, error) {
	b := t.tx.Bucket(bucketWebhookDeliveries)
	if v := b.Get([]byte(key)); v != nil {
		seen, err := time.Parse(time.RFC3339Nano, string(v))
		if err == nil && !seen.Before(staleBefore) {
			return false, nil
		}
	}
	return true, b.Put([]byte(key), []byte(at.UTC().Format(time.RFC3339Nano)))
}

func (t *boltTx) DeleteDelivery(key string) error {
	return t.tx.Bucket(bucketWebhookDeliveries).Delete([]byte(key))
}

// DeleteDeliveriesBefore reads every key: a week of deliveries is a few
// thousand short ones.
func (t *boltTx) DeleteDeliveriesBefore(before time.Time) error {
	b := t.tx.Bucket(bucketWebhookDeliveries)
	var old [][]byte
	err := b.ForEach(func(k, v []byte) error {
		seen, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil || seen.Before(before) {
			old = append(old, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (t *boltTx) AddEffect(e store.Effect) (store.Effect, error) {
	id, err := t.tx.Bucket(bucketOutbox).NextSequence()
	if err != nil {
		return e, err
	}
	e.ID = id
	return e, t.PutEffect(e)
}

func (t *boltTx) Effect(id uint64) (store.Effect, error) {
	return getJSON[store.Effect](t.tx.Bucket(bucketOutbox), itob(id), fmt.Sprintf("effect %d", id))
}

func (t *boltTx) PutEffect(e store.Effect) error {
	return putJSON(t.tx.Bucket(bucketOutbox), itob(e.ID), e)
}

func (t *boltTx) DeleteEffect(id uint64) error { return t.tx.Bucket(bucketOutbox).Delete(itob(id)) }

func (t *boltTx) Effects(limit int) ([]store.Effect, error) {
	var out []store.Effect
	c := t.tx.Bucket(bucketOutbox).Cursor()
	for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
		var e store.Effect
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("decode effect %d: %w", btoi(k), err)
		}
		out = append(out, e)
	}
	return out, nil
}

var _ store.Tx = (*boltTx)(nil)
