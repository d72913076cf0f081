package verify

import (
	"encoding/json"
	"fmt"
)

// Store is where the staging release messages are remembered: the store's
// small JSON documents shared with signals, under keys of their own.
type Store interface {
	Signal(key string) (json.RawMessage, bool, error)
	UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error)
}

// Releases remembers the staging release messages Devy posted: their
// buttons are matched to them and their threads get the reminder.
type Releases struct {
	store Store
}

// NewReleases remembers release messages in st.
func NewReleases(st Store) Releases { return Releases{store: st} }

// releaseKey is where a staging release's message is remembered.
func releaseKey(id string) string { return "deploy.release:" + id }

// latestKey holds the id of the newest staging release Devy posted.
const latestKey = "deploy.release.latest"

// Put remembers rel as the newest release.
func (rs Releases) Put(rel Release) error {
	_, err := rs.store.UpdateSignal(releaseKey(rel.ID), func(json.RawMessage) (json.RawMessage, error) { return json.Marshal(rel) })
	if err != nil {
		return err
	}
	_, err = rs.store.UpdateSignal(latestKey, func(json.RawMessage) (json.RawMessage, error) { return json.Marshal(rel.ID) })
	return err
}

// Get is release id's message; ok is false when Devy posted none.
func (rs Releases) Get(id string) (rel Release, ok bool, err error) {
	raw, ok, err := rs.store.Signal(releaseKey(id))
	if err != nil || !ok {
		return Release{}, false, err
	}
	if err := json.Unmarshal(raw, &rel); err != nil {
		return rel, false, fmt.Errorf("decode release message %s: %w", id, err)
	}
	return rel, true, nil
}

// Latest is the newest release's message; ok is false before the first.
func (rs Releases) Latest() (rel Release, ok bool, err error) {
	raw, ok, err := rs.store.Signal(latestKey)
	if err != nil || !ok {
		return Release{}, false, err
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return Release{}, false, fmt.Errorf("decode the newest release's id: %w", err)
	}
	return rs.Get(id)
}

// Posted records where release id's message landed.
func (rs Releases) Posted(id, channel, ts string) error {
	return rs.update(id, true, func(rel *Release) { rel.ID, rel.Channel, rel.TS = id, channel, ts })
}

// Reminded marks release id's authors reminded.
func (rs Releases) Reminded(id string) error {
	return rs.update(id, false, func(rel *Release) { rel.Reminded = true })
}

// update changes release id's message; unless create, it must exist.
func (rs Releases) update(id string, create bool, f func(*Release)) error {
	_, err := rs.store.UpdateSignal(releaseKey(id), func(raw json.RawMessage) (json.RawMessage, error) {
		var rel Release
		if raw != nil || !create {
			if err := json.Unmarshal(raw, &rel); err != nil {
				return nil, err
			}
		}
		f(&rel)
		return json.Marshal(rel)
	})
	return err
}
