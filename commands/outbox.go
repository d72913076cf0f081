package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/store"
)

// OutboxStore is what the outbox needs of the store: effects recorded in
// the transaction of the outcome they follow from (see store.Effect).
type OutboxStore interface {
	Now() time.Time
	PendingEffects(limit int) ([]store.Effect, error)
	ClaimEffect(id uint64, owner string, ttl time.Duration) (store.Effect, bool, error)
	RetryEffect(id uint64, owner string, until time.Time) error
	EffectDone(id uint64) error
}

// EffectHandler carries out one effect. An error leaves it in the outbox to
// be tried again later.
type EffectHandler func(ctx context.Context, e store.Effect) error

// OutboxConfig tunes the outbox; zero values take the defaults.
type OutboxConfig struct {
	Owner       string        // this process's name in claims; default ProcessName()
	ClaimTTL    time.Duration // how long a claim keeps other processes off an effect being carried out
	Retry       time.Duration // first wait before an effect that failed is tried again; doubles up to MaxRetry
	MaxRetry    time.Duration
	MaxAttempts int           // after this many attempts an effect is dropped, with an error in the log
	Every       time.Duration // how often the outbox is looked at without a Kick (other processes' effects)
}

// Outbox carries out the side effects the store recorded with an outcome
// (reports in threads, timeline entries, notices): at start, after each
// write (Kick), when a retry is due and every so often, so that a crash
// between an outcome and its reports delays them but never loses them.
// Features register a handler per effect kind. The claims in the store let
// several processes share one outbox: each effect is carried out by one.
type Outbox struct {
	store OutboxStore
	cfg   OutboxConfig
	log   zerolog.Logger
	kick  chan struct{}

	mu       sync.Mutex               // guards handlers
	handlers map[string]EffectHandler // kind → handler
	// draining is held by the drain under way: claims keep processes
	// apart, not one process's drains, which share its name.
	draining sync.Mutex
}

// NewOutbox builds an outbox over st; Start runs it.
func NewOutbox(st OutboxStore, cfg OutboxConfig, log zerolog.Logger) *Outbox {
	if cfg.Owner == "" {
		cfg.Owner = ProcessName()
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = time.Minute
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 2 * time.Second
	}
	if cfg.MaxRetry < cfg.Retry {
		cfg.MaxRetry = 5 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	return &Outbox{store: st, cfg: cfg, log: log.With().Str("part", "outbox").Logger(), kick: make(chan struct{}, 1),
		handlers: map[string]EffectHandler{}}
}

// Handle makes h carry out the effects of kind. Call it before Start.
func (o *Outbox) Handle(kind string, h EffectHandler) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handlers[kind] = h
}

// Kick asks for a drain soon; it never blocks. A nil outbox ignores it.
func (o *Outbox) Kick() {
	if o == nil {
		return
	}
	select {
	case o.kick <- struct{}{}:
	default: // a drain is already asked for
	}
}

// Flush drains the outbox now as work bg can wait for (kind names it for
// people): a shell that quits after a promotion waits for its reports.
func (o *Outbox) Flush(bg *Background, kind string) {
	bg.Work(kind, func(ctx context.Context) { o.Drain(ctx) })
}

// Start drains the outbox now, then on every Kick, when a retry falls due
// and every cfg.Every, in the background until bg's context ends.
func (o *Outbox) Start(bg *Background) {
	bg.Go(func(ctx context.Context) {
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-o.kick:
			case <-t.C:
			}
			wait := o.cfg.Every
			if next := o.Drain(ctx); !next.IsZero() {
				wait = min(wait, max(next.Sub(o.store.Now()), 10*time.Millisecond))
			}
			t.Stop()
			t.Reset(wait)
		}
	})
}

// Drain carries out every pending effect that is due, oldest first, and
// returns when the next one that is not (zero if none).
func (o *Outbox) Drain(ctx context.Context) (next time.Time) {
	o.draining.Lock()
	defer o.draining.Unlock()
	effects, err := o.store.PendingEffects(0)
	if err != nil {
		o.log.Warn().Err(err).Msg("listing pending effects failed; will retry")
		return time.Time{}
	}
	for _, e := range effects {
		if ctx.Err() != nil {
			return time.Time{}
		}
		if due := o.run(ctx, e); !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next
}

// run carries out effect e if it is due; otherwise it returns when it is.
func (o *Outbox) run(ctx context.Context, e store.Effect) (notYet time.Time) {
	o.mu.Lock()
	h := o.handlers[e.Kind]
	o.mu.Unlock()
	if h == nil {
		return time.Time{} // another feature's: left for whoever handles it
	}
	now := o.store.Now()
	if now.Before(e.ClaimedUntil) {
		// Being carried out by another process, or waiting for its retry.
		return e.ClaimedUntil
	}
	log := o.log.With().Uint64("effect", e.ID).Str("kind", e.Kind).Logger()
	if e.Attempts >= o.cfg.MaxAttempts {
		log.Error().Int("attempts", e.Attempts).Msg("giving up on an effect that kept failing")
		o.done(e.ID, log)
		return time.Time{}
	}
	e, ok, err := o.store.ClaimEffect(e.ID, o.cfg.Owner, o.cfg.ClaimTTL)
	if err != nil {
		log.Warn().Err(err).Msg("claiming an effect failed; will retry")
		return now.Add(o.cfg.Retry)
	}
	if !ok {
		return time.Time{} // done already, or another process was quicker
	}
	// An effect under way is not cut off by a shutdown: a post Slack took
	// whose answer was lost would be posted again by the next start.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.ClaimTTL/2)
	err = safely(hctx, h, e)
	cancel()
	if err == nil {
		o.done(e.ID, log)
		return time.Time{}
	}
	if ctx.Err() != nil {
		// Stopping: hand it back, so that the next start carries it out at once.
		if rerr := o.store.RetryEffect(e.ID, o.cfg.Owner, now); rerr != nil {
			log.Warn().Err(rerr).Msg("handing back an effect at shutdown failed; its claim runs out by itself")
		}
		return time.Time{}
	}
	backoff := o.cfg.Retry << min(e.Attempts-1, 20)
	if backoff > o.cfg.MaxRetry || backoff <= 0 {
		backoff = o.cfg.MaxRetry
	}
	due := o.store.Now().Add(backoff)
	if rerr := o.store.RetryEffect(e.ID, o.cfg.Owner, due); rerr != nil {
		log.Warn().Err(rerr).Msg("scheduling an effect's retry failed; its claim runs out by itself")
		due = now.Add(o.cfg.ClaimTTL)
	}
	log.Warn().Err(err).Int("attempt", e.Attempts).Dur("retry_in", backoff).Msg("carrying out an effect failed; will retry")
	return due
}

func (o *Outbox) done(id uint64, log zerolog.Logger) {
	if err := o.store.EffectDone(id); err != nil {
		log.Warn().Err(err).Msg("marking an effect done failed; it may run again")
	}
}

// safely runs h, turning a panic into an error so that one bad effect does
// not stop the outbox.
func safely(ctx context.Context, h EffectHandler, e store.Effect) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("effect %d (%s) panicked: %v", e.ID, e.Kind, v)
		}
	}()
	return h(ctx, e)
}

// ProcessName names this process in claims and leases: which host and pid,
// and a random part so that a restarted process with a reused pid is
// someone else.
func ProcessName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
