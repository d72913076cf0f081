// Package commandstest holds what the feature packages' unit tests share: a
// Poster that remembers messages, and a fresh store.
package commandstest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/store/bolt"
)

// Recorder is a Poster that remembers what was posted and updated; its
// zero value is ready.
type Recorder struct {
	mu      sync.Mutex // guards seq, msgs and updates
	seq     int
	msgs    map[string]commands.Message
	updates int
}

// Post records m under a new timestamp: "1", "2"…
func (r *Recorder) Post(ctx context.Context, channel, threadTS string, m commands.Message) (commands.Posted, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	ts := fmt.Sprint(r.seq)
	if r.msgs == nil {
		r.msgs = map[string]commands.Message{}
	}
	r.msgs[ts] = m
	return commands.Posted{Channel: channel, TS: ts}, nil
}

// Update replaces the message at ts.
func (r *Recorder) Update(ctx context.Context, channel, ts string, m commands.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msgs == nil {
		r.msgs = map[string]commands.Message{}
	}
	r.msgs[ts] = m
	r.updates++
	return nil
}

// Message is the message at ts as it stands.
func (r *Recorder) Message(ts string) commands.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs[ts]
}

// Updates counts the updates so far.
func (r *Recorder) Updates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updates
}

// Store is a fresh bbolt store, closed when the test ends.
func Store(t testing.TB) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "devy.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
