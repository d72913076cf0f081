package pg

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

// Signal reads signal key's JSON. Inside Update it first makes sure the row
// exists (data NULL until PutSignal, and gone again if the transaction rolls
// back) and then locks it, so that two processes updating one signal, even a
// new one, take turns: the second's INSERT waits for the first's, and its
// SELECT … FOR UPDATE then reads what the first committed.
func (t *pgTx) Signal(key string) (json.RawMessage, error) {
	if t.forUpdate {
		if err := t.exec("hold signal "+key, `INSERT INTO signals (key) VALUES ($1) ON CONFLICT DO NOTHING`, key); err != nil {
			return nil, err
		}
	}
	var data []byte
	err := t.q.QueryRow(t.ctx, `SELECT data FROM signals WHERE key = $1`+t.lock(), key).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && data == nil) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read signal %s: %w", key, err)
	}
	return json.RawMessage(data), nil
}

func (t *pgTx) PutSignal(key string, raw json.RawMessage) error {
	return t.exec("write signal "+key, `INSERT INTO signals (key, data) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data`, key, []byte(raw))
}

// Signals matches the prefix with starts_with, which needs no escaping of
// LIKE's wildcards, and orders keys bytewise (COLLATE "C"), as bbolt does.
// Rows whose data is NULL are another transaction's first store, not yet
// committed.
func (t *pgTx) Signals(prefix string) ([]store.SignalRow, error) {
	rows, err := t.q.Query(t.ctx, `SELECT key, data FROM signals
		WHERE starts_with(key, $1) AND data IS NOT NULL ORDER BY key COLLATE "C"`, prefix)
	if err != nil {
		return nil, fmt.Errorf("list signals %s*: %w", prefix, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SignalRow, error) {
		var r store.SignalRow
		var data []byte
		err := row.Scan(&r.Key, &data)
		r.Raw = data
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list signals %s*: %w", prefix, err)
	}
	return out, nil
}

func (t *pgTx) AddRecord(r store.RecordRow) (bool, error) {
	tag, err := t.q.Exec(t.ctx, `INSERT INTO records (kind, key, at, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, r.Kind, r.Key, r.At, []byte(r.Payload))
	if err != nil {
		return false, fmt.Errorf("keep a %s record of %s: %w", r.Kind, r.Key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Records orders keys bytewise (COLLATE "C"), as bbolt does.
func (t *pgTx) Records(kind string, from, to time.Time) ([]store.RecordRow, error) {
	var end any
	if !to.IsZero() {
		end = to
	}
	rows, err := t.q.Query(t.ctx, `SELECT kind, key, at, payload FROM records
		WHERE kind = $1 AND at >= $2 AND ($3::timestamptz IS NULL OR at < $3)
		ORDER BY at, key COLLATE "C"`, kind, from, end)
	if err != nil {
		return nil, fmt.Errorf("read %s records: %w", kind, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.RecordRow, error) {
		var r store.RecordRow
		var payload []byte
		err := row.Scan(&r.Kind, &r.Key, &r.At, &payload)
		r.Payload = payload
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s records: %w", kind, err)
	}
	return out, nil
}

// TakeSlot inserts the key in one statement: of two transactions taking
// one slot at once, the second waits for the first and then finds it taken.
func (t *pgTx) TakeSlot(key string, at time.Time) (bool, error) {
	tag, err := t.q.Exec(t.ctx, `INSERT INTO slots (key, at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, key, at)
	if err != nil {
		return false, fmt.Errorf("take slot %s: %w", key, err)
	}
	return tag.RowsAffected() == 1, nil
}
