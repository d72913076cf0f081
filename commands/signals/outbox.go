package signals

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// maxPostAttempts bounds how often a failing post is tried again before the
// signal is left in the store unshown (and logged).
const maxPostAttempts = 3

// postClaim is how long a replica's claim on a post keeps others from
// posting it: longer than one chat.postMessage with its retries takes.
const postClaim = 30 * time.Second

// enqueue hands a decision's Slack work to Flush and wakes Run.
func (s *Signals) enqueue(key string, o outcome) {
	if len(o.post) == 0 && len(o.dirty) == 0 {
		return
	}
	s.mu.Lock()
	for _, role := range o.post {
		if !s.queuedLocked(key, role) {
			s.queue[role] = append(s.queue[role], queued{key: key})
		}
	}
	for _, role := range o.dirty {
		s.dirty[msgRef{key, role}] = struct{}{}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Signals) queuedLocked(key, role string) bool {
	for _, q := range s.queue[role] {
		if q.key == key {
			return true
		}
	}
	return false
}

// resumeWithin bounds which waiting posts a restart takes up: a signal
// that waited longer is history, not news, and is left unshown.
const resumeWithin = 24 * time.Hour

// Resume queues the posts that were waiting when Devy last stopped: the
// queue lives in memory, the signals in the store, with no message yet. A
// post another process makes meanwhile is not made twice (postOne reads
// the signal first).
func (s *Signals) Resume(ctx context.Context) error {
	type waiting struct {
		key, role string
		at        time.Time
	}
	var found []waiting
	since := s.now().Add(-resumeWithin)
	for _, prefix := range keyPrefixes {
		sigs, err := s.store.Signals(ctx, prefix)
		if err != nil {
			return fmt.Errorf("list waiting %s* signals: %w", prefix, err)
		}
		for _, sig := range sigs {
			for _, p := range sig.Posts {
				if p.TS == "" && p.QueuedAt.After(since) {
					found = append(found, waiting{sig.Key, p.Role, p.QueuedAt})
				}
			}
		}
	}
	// Oldest first, as they came.
	sort.SliceStable(found, func(i, j int) bool { return found[i].at.Before(found[j].at) })
	for _, w := range found {
		s.enqueue(w.key, outcome{post: []string{w.role}})
	}
	if len(found) > 0 {
		s.log.Info().Int("posts", len(found)).Msg("posting signals that were waiting when Devy stopped")
	}
	return nil
}

// Run takes up the posts waiting since the last stop, then flushes
// whenever a delivery wakes it and every tick (for edits whose 5 seconds
// pass with no delivery), until ctx ends.
func (s *Signals) Run(ctx context.Context, tick time.Duration) {
	if err := s.Resume(ctx); err != nil {
		s.log.Error().Err(err).Msg("finding the signal posts waiting since the last stop failed; they stay unshown")
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
		s.Flush(ctx)
	}
}

// Flush does the Slack work that is due now: in each channel the oldest
// waiting post, if the channel's last post is a second old; then every edit
// whose message was last written 5 seconds ago or more, with the latest
// state. Work not yet due stays for a later Flush.
func (s *Signals) Flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	now := s.now()

	for _, role := range []string{RoleCritical, RoleDevy} {
		s.mu.Lock()
		var next queued
		due := len(s.queue[role]) > 0 && now.Sub(s.lastPost[role]) >= postEvery
		if due {
			next = s.queue[role][0]
			s.queue[role] = s.queue[role][1:]
			s.lastPost[role] = now // a failed post counts too: Slack is not hammered
		}
		s.mu.Unlock()
		if due {
			s.postOne(ctx, next, role, now)
		}
	}

	s.mu.Lock()
	var edits []msgRef
	for m := range s.dirty {
		if now.Sub(s.lastWrite[m]) >= updateEvery {
			edits = append(edits, m)
		}
	}
	s.mu.Unlock()
	sort.Slice(edits, func(i, j int) bool { // a stable order keeps tests and logs readable
		if edits[i].key != edits[j].key {
			return edits[i].key < edits[j].key
		}
		return edits[i].role < edits[j].role
	})
	for _, m := range edits {
		s.editOne(ctx, m, now)
	}
}

func (s *Signals) postOne(ctx context.Context, q queued, role string, now time.Time) {
	log := s.log.With().Str("signal", q.key).Str("role", role).Logger()
	// Claim the post first: another replica may have queued it too (a
	// restart takes up what waited), and only the claim's holder posts.
	claimed, busy := false, false
	sig, err := s.store.UpdateSignal(ctx, q.key, func(sig *Signal) error {
		claimed, busy = false, false
		p := sig.post(role)
		if p == nil || p.TS != "" {
			return errUnchanged // posted already (by another replica) or replaced
		}
		if p.PostingBy != "" && p.PostingBy != s.owner && now.Before(p.PostingUntil) {
			busy = true // another replica is posting it
			return errUnchanged
		}
		p.PostingBy, p.PostingUntil = s.owner, now.Add(postClaim)
		claimed = true
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		log.Error().Err(err).Msg("claiming a signal's post failed")
		return
	}
	if busy {
		// Look again later: the other replica posts it, or its claim
		// lapses (it stopped) and this one does.
		s.mu.Lock()
		s.queue[role] = append(s.queue[role], q)
		s.mu.Unlock()
		return
	}
	if !claimed {
		return
	}
	posted, err := s.poster.Post(ctx, s.channel(role), "", s.render(sig, role))
	if err != nil {
		q.attempts++
		if q.attempts >= maxPostAttempts {
			log.Error().Err(err).Msg("posting a signal failed; giving up")
			s.unclaim(ctx, q.key, role) // the next start tries again
			return
		}
		log.Warn().Err(err).Msg("posting a signal failed; trying again")
		s.mu.Lock()
		s.queue[role] = append([]queued{q}, s.queue[role]...)
		s.mu.Unlock()
		return
	}
	sig, err = s.store.UpdateSignal(ctx, q.key, func(sig *Signal) error {
		p := sig.post(role)
		if p == nil {
			return errUnchanged
		}
		p.ChannelID, p.TS, p.PostedAt = posted.Channel, posted.TS, now
		p.PostingBy, p.PostingUntil = "", time.Time{}
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		log.Error().Err(err).Msg("recording a posted signal failed")
	}
	m := msgRef{q.key, role}
	s.mu.Lock()
	s.lastWrite[m] = now
	delete(s.dirty, m) // the post shows the latest state
	// The other channel's message links this one now that it has an id.
	for _, other := range sig.Posts {
		if other.Role != role && other.TS != "" {
			s.dirty[msgRef{q.key, other.Role}] = struct{}{}
		}
	}
	s.mu.Unlock()
}

// unclaim gives up this desk's claim on a post it could not make.
func (s *Signals) unclaim(ctx context.Context, key, role string) {
	_, err := s.store.UpdateSignal(ctx, key, func(sig *Signal) error {
		p := sig.post(role)
		if p == nil || p.PostingBy != s.owner {
			return errUnchanged
		}
		p.PostingBy, p.PostingUntil = "", time.Time{}
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		s.log.Warn().Err(err).Str("signal", key).Msg("giving up the claim on a signal's post failed; it lapses by itself")
	}
}

func (s *Signals) editOne(ctx context.Context, m msgRef, now time.Time) {
	sig, ok, err := s.store.Signal(ctx, m.key)
	if err != nil || !ok {
		s.log.Error().Err(err).Str("signal", m.key).Msg("reading a signal to update failed")
		return
	}
	p := sig.post(m.role)
	if p == nil {
		s.mu.Lock()
		delete(s.dirty, m)
		s.mu.Unlock()
		return
	}
	if p.TS == "" {
		return // still waiting for its post, which will show the latest state
	}
	s.mu.Lock()
	delete(s.dirty, m)
	s.lastWrite[m] = now
	s.mu.Unlock()
	if err := s.poster.Update(ctx, p.ChannelID, p.TS, s.render(sig, m.role)); err != nil {
		s.log.Warn().Err(err).Str("signal", m.key).Str("role", m.role).Msg("updating a signal's message failed")
	}
}
