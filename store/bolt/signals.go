package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/devy-chatops/devy/store"
)

// Signal copies the value out: bbolt's bytes are valid only inside the
// transaction, and the rules hand the JSON to the caller's function.
func (t *boltTx) Signal(key string) (json.RawMessage, error) {
	v := t.tx.Bucket(bucketSignals).Get([]byte(key))
	if v == nil {
		return nil, store.ErrNotFound
	}
	return append(json.RawMessage(nil), v...), nil
}

func (t *boltTx) PutSignal(key string, raw json.RawMessage) error {
	return t.tx.Bucket(bucketSignals).Put([]byte(key), raw)
}

// Signals walks the bucket from prefix on: bbolt keeps keys sorted
// bytewise.
func (t *boltTx) Signals(prefix string) ([]store.SignalRow, error) {
	var out []store.SignalRow
	c := t.tx.Bucket(bucketSignals).Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
		out = append(out, store.SignalRow{Key: string(k), Raw: append(json.RawMessage(nil), v...)})
	}
	return out, nil
}

// recordKey sorts a kind's records by time, then by signal key, so that a
// cursor reads them oldest first and a repeat lands on the same key.
func recordKey(at time.Time, key string) []byte {
	return append(nanos(at), key...)
}

// nanos is at as 8 big-endian bytes of Unix nanoseconds; records are never
// older than 1970, so earlier times (a zero "since") count as 1970.
func nanos(at time.Time) []byte {
	if at.Before(time.Unix(0, 0)) {
		return itob(0)
	}
	return itob(uint64(at.UnixNano()))
}

func (t *boltTx) AddRecord(r store.RecordRow) (bool, error) {
	b, err := t.tx.Bucket(bucketRecords).CreateBucketIfNotExists([]byte(r.Kind))
	if err != nil {
		return false, err
	}
	k := recordKey(r.At, r.Key)
	if b.Get(k) != nil {
		return false, nil
	}
	return true, putJSON(b, k, r)
}

func (t *boltTx) Records(kind string, from, to time.Time) ([]store.RecordRow, error) {
	b := t.tx.Bucket(bucketRecords).Bucket([]byte(kind))
	if b == nil {
		return nil, nil
	}
	var out []store.RecordRow
	c := b.Cursor()
	var end []byte
	if !to.IsZero() {
		end = nanos(to)
	}
	for k, v := c.Seek(nanos(from)); k != nil; k, v = c.Next() {
		if end != nil && bytes.Compare(k[:8], end) >= 0 {
			break
		}
		var r store.RecordRow
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decode %s record %x: %w", kind, k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (t *boltTx) TakeSlot(key string, at time.Time) (bool, error) {
	b := t.tx.Bucket(bucketSlots)
	if b.Get([]byte(key)) != nil {
		return false, nil
	}
	return true, b.Put([]byte(key), []byte(at.UTC().Format(time.RFC3339Nano)))
}
