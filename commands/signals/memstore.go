package signals

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemStore is the Store for tests and the shell's sandbox: in memory, gone
// at exit. Signals are kept as JSON, as the real backends keep them, so a
// test sees what survives a round trip.
type MemStore struct {
	mu         sync.Mutex // guards deliveries, signals, records
	deliveries map[string]time.Time
	signals    map[string][]byte
	records    []Record
}

// NewMemStore makes an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{deliveries: map[string]time.Time{}, signals: map[string][]byte{}}
}

// ClaimDelivery implements Store.
func (m *MemStore) ClaimDelivery(_ context.Context, key string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.deliveries[key]; ok {
		return false, nil
	}
	m.deliveries[key] = now
	return true, nil
}

// Signal implements Store.
func (m *MemStore) Signal(_ context.Context, key string) (Signal, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.signalLocked(key)
}

func (m *MemStore) signalLocked(key string) (Signal, bool, error) {
	b, ok := m.signals[key]
	if !ok {
		return Signal{Key: key}, false, nil
	}
	var sig Signal
	if err := json.Unmarshal(b, &sig); err != nil {
		return Signal{}, false, fmt.Errorf("memstore: decode signal %s: %w", key, err)
	}
	return sig, true, nil
}

// UpdateSignal implements Store.
func (m *MemStore) UpdateSignal(_ context.Context, key string, f func(*Signal) error) (Signal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sig, _, err := m.signalLocked(key)
	if err != nil {
		return Signal{}, err
	}
	if err := f(&sig); err != nil {
		return Signal{}, err
	}
	sig.Key = key
	b, err := json.Marshal(sig)
	if err != nil {
		return Signal{}, fmt.Errorf("memstore: encode signal %s: %w", key, err)
	}
	m.signals[key] = b
	return sig, nil
}

// AddRecord implements Store.
func (m *MemStore) AddRecord(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, old := range m.records {
		if old.Kind == r.Kind && old.Key == r.Key && old.At.Equal(r.At) {
			return nil
		}
	}
	m.records = append(m.records, r)
	return nil
}

// Records implements Store.
func (m *MemStore) Records(_ context.Context, kind string, since time.Time) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, r := range m.records {
		if r.Kind == kind && !r.At.Before(since) {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// Signals implements Store.
func (m *MemStore) Signals(_ context.Context, prefix string) ([]Signal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.signals))
	for k := range m.signals {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]Signal, 0, len(keys))
	for _, k := range keys {
		sig, _, err := m.signalLocked(k)
		if err != nil {
			return nil, err
		}
		out = append(out, sig)
	}
	return out, nil
}
