package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Signals, records and digest slots are kept for commands/signals and
// commands/stats. The store does not read a signal's or a record's JSON:
// the command that writes it does.

// RecordRow is one kept record: something that happened at At (a new
// exception, a critical alert), of a kind, about the signal Key. A record is
// kept once per (Kind, Key, At).
type RecordRow struct {
	Kind    string          `json:"kind"`
	Key     string          `json:"key"`
	At      time.Time       `json:"at"`
	Payload json.RawMessage `json:"payload"`
}

// recordTime is at as both backends keep it: PostgreSQL's timestamptz holds
// microseconds, so bbolt keeps no more, and a record deduplicates alike in
// both.
func recordTime(at time.Time) time.Time { return at.UTC().Truncate(time.Microsecond) }

// Signal returns signal key's JSON as last stored; ok is false when there is
// none.
func (s Rules) Signal(key string) (raw json.RawMessage, ok bool, err error) {
	err = s.b.View("read signal "+key, func(tx Tx) error {
		raw, ok = nil, false
		r, err := tx.Signal(key)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		raw, ok = r, true
		return nil
	})
	return raw, ok, err
}

// SignalRow is one stored signal: its key and its JSON.
type SignalRow struct {
	Key string
	Raw json.RawMessage
}

// Signals returns the signals whose key starts with prefix, by key: a
// restarted Devy looks for the work they still wait for. The JSON store is
// shared by several owners (signals, GitHub deployments), each under keys
// of its own, so a prefix names whose they are; "" lists them all.
func (s Rules) Signals(prefix string) ([]SignalRow, error) {
	var out []SignalRow
	err := s.b.View("list signals "+prefix+"*", func(tx Tx) (err error) {
		out, err = tx.Signals(prefix)
		return err
	})
	return out, err
}

// UpdateSignal runs f on signal key's JSON (nil when there is none) inside
// one transaction that holds the signal, and stores what f returns: of two
// processes updating one key at once, the second's f sees the first's
// result. When f fails nothing is written and its error is returned as it
// is. f may run more than once when a transaction is retried.
func (s Rules) UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	if key == "" {
		return nil, errors.New("store: a signal needs a key")
	}
	var out json.RawMessage
	err := s.b.Update("update signal "+key, func(tx Tx) error {
		old, err := tx.Signal(key)
		if errors.Is(err, ErrNotFound) {
			old, err = nil, nil
		}
		if err != nil {
			return err
		}
		out, err = f(old)
		if err != nil {
			return &callerError{err}
		}
		if !json.Valid(out) {
			return fmt.Errorf("store: signal %s: not JSON", key)
		}
		return tx.PutSignal(key, out)
	})
	var ce *callerError
	if errors.As(err, &ce) {
		return nil, ce.err
	}
	return out, err
}

// callerError carries a caller's error through a backend untouched: a
// backend wraps the errors of its transactions with what it attempted. It
// does not unwrap, so that no backend takes the caller's error for one of
// its own (a lost connection, say).
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// AddRecord keeps a record of kind about key at at; one with the same kind,
// key and time is kept once. payload is the caller's JSON.
func (s Rules) AddRecord(kind, key string, at time.Time, payload json.RawMessage) error {
	if kind == "" || at.IsZero() {
		return fmt.Errorf("store: a record needs a kind and a time, got %q %s", kind, at)
	}
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	if !json.Valid(payload) {
		return fmt.Errorf("store: record %s %s: payload is not JSON", kind, key)
	}
	r := RecordRow{Kind: kind, Key: key, At: recordTime(at), Payload: payload}
	return s.b.Update("keep a "+kind+" record", func(tx Tx) error {
		_, err := tx.AddRecord(r)
		return err
	})
}

// Records returns the records of kind at or after since, oldest first.
func (s Rules) Records(kind string, since time.Time) ([]RecordRow, error) {
	return s.RecordsBetween(kind, since, time.Time{})
}

// RecordsBetween returns the records of kind in [from, to), oldest first;
// a zero to means no end.
func (s Rules) RecordsBetween(kind string, from, to time.Time) ([]RecordRow, error) {
	var out []RecordRow
	err := s.b.View("read "+kind+" records", func(tx Tx) error {
		var err error
		out, err = tx.Records(kind, from, to)
		return err
	})
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, err
}

// TakeSlot claims key (a digest's week, say) and reports whether this
// caller is the first to: of any number of callers, in any number of
// processes, exactly one gets true. A slot is never given back.
func (s Rules) TakeSlot(key string) (bool, error) {
	if key == "" {
		return false, errors.New("store: a slot needs a key")
	}
	took := false
	err := s.b.Update("take slot "+key, func(tx Tx) error {
		var err error
		took, err = tx.TakeSlot(key, s.now())
		return err
	})
	return took, err
}
