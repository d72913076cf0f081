package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/internal/testclock"
	"github.com/devy-chatops/devy/store"
	"github.com/devy-chatops/devy/store/bolt"
)

// adapterT0 is when the adapters' hand-built histories start: a Monday.
var adapterT0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// openAdapterDB is a fresh bbolt store whose clock starts at adapterT0.
func openAdapterDB(t *testing.T) (*bolt.DB, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(adapterT0)
	db, err := bolt.Open(filepath.Join(t.TempDir(), "devy.db"), time.Second, bolt.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, clk
}

// promoted makes a request of pipeline, approves it and, after took, ends
// it with status, as /deploy promote and Heroku's answer would.
func promoted(t *testing.T, db *bolt.DB, clk *testclock.Clock, r store.PromotionRequest, took time.Duration, status string) store.PromotionRequest {
	t.Helper()
	r.RequestedBy = "U0ALICE"
	r.ExpiresAt = clk.Now().Add(time.Hour)
	r, err := db.CreateRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Approve(r.ID, "U0BOB"); err != nil {
		t.Fatal(err)
	}
	clk.Add(took)
	r, err = db.FinishPromotion(r.ID, status, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignalStoreKeepsSignals(t *testing.T) {
	db, clk := openAdapterDB(t)
	s := newSignalStore(db)
	ctx := context.Background()

	if sig, ok, err := s.Signal(ctx, "sentry:1"); ok || err != nil || sig.Key != "sentry:1" {
		t.Fatalf("a signal never stored: %+v, %v, %v; want Signal{Key} and false", sig, ok, err)
	}
	now := clk.Now()
	got, err := s.UpdateSignal(ctx, "sentry:1", func(sig *signals.Signal) error {
		sig.Source, sig.Title, sig.Status, sig.Created, sig.Updated = signals.SourceSentryIssue, "TypeError: <x> is undefined", signals.StatusFiring, now, now
		sig.Suspect = &signals.Suspect{Promotion: signals.Promotion{Number: 4, StagingApp: "shop-staging", Version: 42}, After: 10 * time.Minute}
		sig.Posts = []signals.Post{{Role: signals.RoleDevy, Severity: signals.SEV3, QueuedAt: now, Events: 1}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read, ok, err := s.Signal(ctx, "sentry:1")
	if err != nil || !ok {
		t.Fatalf("Signal after UpdateSignal: %v, %v", ok, err)
	}
	if !reflect.DeepEqual(read, got) || read.Key != "sentry:1" || read.Suspect == nil || read.Suspect.Version != 42 {
		t.Fatalf("read back %+v\nwant %+v", read, got)
	}

	// f's error comes back as it is and nothing is written.
	errStop := errors.New("nothing to change")
	_, err = s.UpdateSignal(ctx, "sentry:1", func(sig *signals.Signal) error {
		sig.Title = "changed"
		return fmt.Errorf("wrapped: %w", errStop)
	})
	if !errors.Is(err, errStop) || err.Error() != "wrapped: nothing to change" {
		t.Fatalf("UpdateSignal's error = %v; want f's", err)
	}
	if read, _, _ := s.Signal(ctx, "sentry:1"); read.Title != got.Title {
		t.Fatalf("a failed update changed the title to %q", read.Title)
	}

	// Deliveries folded into one message by 20 handlers at once all count.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := s.UpdateSignal(ctx, "sentry:1", func(sig *signals.Signal) error {
				sig.Posts[0].Events++
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if read, _, _ := s.Signal(ctx, "sentry:1"); read.Posts[0].Events != 21 {
		t.Fatalf("events = %d after 20 concurrent folds, want 21", read.Posts[0].Events)
	}
}

func TestSignalStoreClaimsDeliveriesOnce(t *testing.T) {
	db, clk := openAdapterDB(t)
	s := newSignalStore(db)
	ctx := context.Background()
	steps := []struct {
		key   string
		first bool
	}{
		{"sentry:req-1", true},
		{"sentry:req-1", false},
		{"alertmanager:g1", true},
		{"alertmanager:g1", false},
	}
	for _, st := range steps {
		if first, err := s.ClaimDelivery(ctx, st.key, clk.Now()); err != nil || first != st.first {
			t.Errorf("ClaimDelivery(%s) = %v, %v; want %v", st.key, first, err, st.first)
		}
	}
}

func TestSignalStoreKeepsRecordsOnce(t *testing.T) {
	db, _ := openAdapterDB(t)
	s := newSignalStore(db)
	ctx := context.Background()
	rec := func(kind, key, title string, at time.Time) signals.Record {
		return signals.Record{Kind: kind, Key: key, Title: title, At: at, Link: "https://sentry.test/" + key}
	}
	adds := []signals.Record{
		rec(signals.RecordException, "sentry:2", "later", adapterT0.Add(2*time.Hour)),
		rec(signals.RecordException, "sentry:1", "first", adapterT0.Add(time.Hour)),
		rec(signals.RecordException, "sentry:1", "first, redelivered", adapterT0.Add(time.Hour)),
		rec(signals.RecordCritical, "am:g1", "disk full", adapterT0.Add(time.Hour)),
		rec(signals.RecordException, "sentry:0", "too old", adapterT0.Add(-time.Hour)),
	}
	for _, r := range adds {
		if err := s.AddRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Records(ctx, signals.RecordException, adapterT0)
	if err != nil {
		t.Fatal(err)
	}
	want := []signals.Record{adds[1], adds[0]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("records = %+v\nwant %+v", got, want)
	}
}

func TestSignalPromotionsFindsTheLastSuccess(t *testing.T) {
	db, clk := openAdapterDB(t)
	authored := adapterT0.Add(-20 * time.Hour)
	// #1 (p1) and #2 (p2) are requested in that order but #2 finishes
	// first; #3 fails after both.
	r1, err := db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U0ALICE", ExpiresAt: clk.Now().Add(time.Hour),
		StagingAppName: "shop-staging", ReleaseVersion: 41, Commits: []store.CommitInfo{
			{SHA: "aaaaaaa1", AuthorLogin: "Ana", AuthorName: "Ana Lopez", AuthorEmail: "ana@example.com", AuthoredAt: authored, Message: "Fix the cart"},
			{SHA: "bbbbbbb2", AuthorName: "Bo", AuthorEmail: "bo@example.com", AuthoredAt: authored, Message: "Tidy up"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Approve(r1.ID, "U0BOB"); err != nil {
		t.Fatal(err)
	}
	r2 := promoted(t, db, clk, store.PromotionRequest{Pipeline: "p2", StagingAppName: "api-staging", ReleaseVersion: 7}, 10*time.Minute, store.StatusSucceeded)
	clk.Add(10 * time.Minute)
	if r1, err = db.FinishPromotion(r1.ID, store.StatusSucceeded, nil, ""); err != nil {
		t.Fatal(err)
	}
	r3 := promoted(t, db, clk, store.PromotionRequest{Pipeline: "p1", StagingAppName: "shop-staging", ReleaseVersion: 43}, 10*time.Minute, store.StatusFailed)

	// DEVY_USER_MAP's keys are lowercase logins.
	users := map[string]string{"ana": "U0ANA"}
	slackID := func(login string) string { return users[strings.ToLower(login)] }
	p := newSignalPromotions(db, slackID, func(sha string) string { return "https://github.test/o/r/commit/" + sha })
	cases := []struct {
		name   string
		at     time.Time
		want   uint64 // 0: none
		finish time.Time
	}{
		{"before any finished", adapterT0.Add(time.Minute), 0, time.Time{}},
		{"as the first to finish ends", r2.FinishedAt, r2.ID, r2.FinishedAt},
		{"between the two", r2.FinishedAt.Add(5 * time.Minute), r2.ID, r2.FinishedAt},
		{"after the earlier-numbered one finished", r1.FinishedAt, r1.ID, r1.FinishedAt},
		{"after a failed one", r3.FinishedAt.Add(time.Hour), r1.ID, r1.FinishedAt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := p.LastPromotion(context.Background(), c.at)
			if err != nil || ok != (c.want != 0) || got.Number != c.want || !got.FinishedAt.Equal(c.finish) {
				t.Fatalf("LastPromotion(%s) = #%d at %s, %v, %v; want #%d", c.at, got.Number, got.FinishedAt, ok, err, c.want)
			}
		})
	}

	want := signals.Promotion{Number: r1.ID, StagingApp: "shop-staging", Version: 41, Approver: "U0BOB", FinishedAt: r1.FinishedAt,
		Commits: []signals.Commit{
			// A login is named and mapped; without one, the git author name.
			{SHA: "aaaaaaa1", Message: "Fix the cart", Author: "Ana", SlackID: "U0ANA", URL: "https://github.test/o/r/commit/aaaaaaa1"},
			{SHA: "bbbbbbb2", Message: "Tidy up", Author: "Bo", URL: "https://github.test/o/r/commit/bbbbbbb2"},
		}}
	got, _, _ := p.LastPromotion(context.Background(), r3.FinishedAt)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("promotion = %+v\nwant %+v", got, want)
	}
}
