package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/store"
)

// signalDB is what the signal desk needs of Devy's store; store/bolt and
// store/pg both provide it. Its methods take no context: the store bounds
// each operation itself.
type signalDB interface {
	ClaimWebhookDelivery(key string) (bool, error)
	Signal(key string) (json.RawMessage, bool, error)
	UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error)
	Signals(prefix string) ([]store.SignalRow, error)
	AddRecord(kind, key string, at time.Time, payload json.RawMessage) error
	Records(kind string, since time.Time) ([]store.RecordRow, error)
}

// signalStore is signals.Store on Devy's store: signals and records are kept
// as the JSON of signals.Signal and signals.Record, which the store does not
// read; deliveries share the webhooks' delivery keys, namespaced by the desk
// ("sentry:…", "alertmanager:…").
type signalStore struct{ db signalDB }

func newSignalStore(db signalDB) signalStore { return signalStore{db: db} }

// ClaimDelivery remembers key for store.DeliveryMemory, on the store's
// clock: now is the desk's, which is the same one.
func (s signalStore) ClaimDelivery(_ context.Context, key string, _ time.Time) (bool, error) {
	return s.db.ClaimWebhookDelivery(key)
}

// Signal returns Signal{Key: key} and false when none is stored, as
// signals.MemStore does.
func (s signalStore) Signal(_ context.Context, key string) (signals.Signal, bool, error) {
	raw, ok, err := s.db.Signal(key)
	if err != nil || !ok {
		return signals.Signal{Key: key}, false, err
	}
	sig, err := decodeSignal(key, raw)
	if err != nil {
		return signals.Signal{}, false, err
	}
	return sig, true, nil
}

func decodeSignal(key string, raw json.RawMessage) (signals.Signal, error) {
	sig := signals.Signal{Key: key}
	if raw == nil {
		return sig, nil
	}
	if err := json.Unmarshal(raw, &sig); err != nil {
		return signals.Signal{}, fmt.Errorf("decode signal %s: %w", key, err)
	}
	return sig, nil
}

// UpdateSignal runs f inside the store's transaction on the signal; f's
// error comes back as it is, with nothing written.
func (s signalStore) UpdateSignal(_ context.Context, key string, f func(sig *signals.Signal) error) (signals.Signal, error) {
	var out signals.Signal
	_, err := s.db.UpdateSignal(key, func(raw json.RawMessage) (json.RawMessage, error) {
		sig, err := decodeSignal(key, raw)
		if err != nil {
			return nil, err
		}
		if err := f(&sig); err != nil {
			return nil, err
		}
		sig.Key = key
		b, err := json.Marshal(sig)
		if err != nil {
			return nil, fmt.Errorf("encode signal %s: %w", key, err)
		}
		out = sig
		return b, nil
	})
	if err != nil {
		return signals.Signal{}, err
	}
	return out, nil
}

// Signals returns the signals whose key starts with prefix, by key.
func (s signalStore) Signals(_ context.Context, prefix string) ([]signals.Signal, error) {
	rows, err := s.db.Signals(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]signals.Signal, 0, len(rows))
	for _, r := range rows {
		sig, err := decodeSignal(r.Key, r.Raw)
		if err != nil {
			return nil, err
		}
		out = append(out, sig)
	}
	return out, nil
}

// AddRecord keeps r once per kind, key and time.
func (s signalStore) AddRecord(_ context.Context, r signals.Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode %s record of %s: %w", r.Kind, r.Key, err)
	}
	return s.db.AddRecord(r.Kind, r.Key, r.At, b)
}

// Records returns the records of kind at or after since, oldest first.
func (s signalStore) Records(_ context.Context, kind string, since time.Time) ([]signals.Record, error) {
	rows, err := s.db.Records(kind, since)
	if err != nil {
		return nil, err
	}
	return decodeRecords(rows)
}

func decodeRecords(rows []store.RecordRow) ([]signals.Record, error) {
	out := make([]signals.Record, 0, len(rows))
	for _, row := range rows {
		var r signals.Record
		if err := json.Unmarshal(row.Payload, &r); err != nil {
			return nil, fmt.Errorf("decode %s record of %s at %s: %w", row.Kind, row.Key, row.At.Format(time.RFC3339), err)
		}
		out = append(out, r)
	}
	return out, nil
}

// requestDB is what reading past promotions needs of the store.
type requestDB interface {
	Requests(statuses ...string) ([]store.PromotionRequest, error)
}

// signalPromotions is signals.Promotions on Devy's promotion requests: every
// request promotes a pipeline's staging release to production.
type signalPromotions struct {
	db requestDB
	// slackID maps a GitHub login to a Slack user id (DEVY_USER_MAP); ""
	// when it knows none.
	slackID func(login string) string
	// commitURL links a commit on GitHub; nil when GitHub is not set up.
	commitURL func(sha string) string
}

func newSignalPromotions(db requestDB, slackID func(login string) string, commitURL func(sha string) string) signalPromotions {
	return signalPromotions{db: db, slackID: slackID, commitURL: commitURL}
}

// LastPromotion is the succeeded request that finished last at or before t.
// Requests are numbered in the order they were made, not finished, so every
// succeeded one is looked at.
func (p signalPromotions) LastPromotion(_ context.Context, t time.Time) (signals.Promotion, bool, error) {
	rs, err := p.db.Requests(store.StatusSucceeded)
	if err != nil {
		return signals.Promotion{}, false, fmt.Errorf("read succeeded promotions: %w", err)
	}
	var last *store.PromotionRequest
	for i := range rs {
		r := &rs[i]
		if r.FinishedAt.IsZero() || r.FinishedAt.After(t) {
			continue
		}
		if last == nil || cmp.Or(r.FinishedAt.Compare(last.FinishedAt), cmp.Compare(r.ID, last.ID)) > 0 {
			last = r
		}
	}
	if last == nil {
		return signals.Promotion{}, false, nil
	}
	return p.promotion(*last), true, nil
}

func (p signalPromotions) promotion(r store.PromotionRequest) signals.Promotion {
	out := signals.Promotion{
		Number: r.ID, StagingApp: r.StagingAppName, Version: r.ReleaseVersion,
		Approver: r.DecidedBy, FinishedAt: r.FinishedAt,
	}
	for _, c := range r.Commits {
		sc := signals.Commit{SHA: c.SHA, Message: c.Message, Author: cmp.Or(c.AuthorLogin, c.AuthorName)}
		if c.AuthorLogin != "" && p.slackID != nil {
			sc.SlackID = p.slackID(c.AuthorLogin)
		}
		if p.commitURL != nil && c.SHA != "" {
			sc.URL = p.commitURL(c.SHA)
		}
		out.Commits = append(out.Commits, sc)
	}
	return out
}

var (
	_ signals.Store      = signalStore{}
	_ signals.Promotions = signalPromotions{}
)
