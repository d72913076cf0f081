package bolt_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/devy-chatops/devy/store"
	"github.com/devy-chatops/devy/store/bolt"
	"github.com/devy-chatops/devy/store/storetest"
)

func openAt(t *testing.T, path string, now func() time.Time) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, time.Second, bolt.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// backend is the contract's backend for the bbolt store.
var backend = storetest.Backend{
	Open: func(t *testing.T, now func() time.Time) storetest.Store {
		return openAt(t, filepath.Join(t.TempDir(), "devy.db"), now)
	},
	Reopen: func(t *testing.T, s storetest.Store) storetest.Store {
		db := s.(*bolt.DB)
		path := db.Path() // bbolt forgets it on Close
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return openAt(t, path, db.Now)
	},
}

func TestContract(t *testing.T) { storetest.Run(t, backend) }

// One process owns a bbolt file, so a promotion its predecessor was
// following is orphaned as soon as the file is opened again, lease or not.
func TestRestartOrphansEveryPromotion(t *testing.T) {
	clk := storetest.NewClock()
	db := backend.Open(t, clk.Now)
	r, err := db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Approve(r.ID, "U2"); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ClaimPromotion(r.ID, "old", time.Hour); !ok || err != nil {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	clk.Add(time.Second)
	db = backend.Reopen(t, db)
	orphans, err := db.OrphanedPromotions(time.Hour)
	if err != nil || len(orphans) != 1 || orphans[0].ID != r.ID {
		t.Fatalf("orphans after a restart = %+v, %v", orphans, err)
	}
}

func TestExportIsCompleteAndOrdered(t *testing.T) {
	clk := storetest.NewClock()
	db := backend.Open(t, clk.Now).(*bolt.DB)
	r, _ := db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: clk.Now().Add(time.Hour)})
	if _, err := db.Approve(r.ID, "U2"); err != nil {
		t.Fatal(err)
	}
	inc, _ := db.OpenIncident(store.Incident{Title: "x", Severity: "SEV2", OpenedBy: "U1"}, "opened")
	if _, _, err := db.AddTimelineEntry(inc.Number, store.TimelineEntry{Kind: store.EntryUpdate, Text: "y"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetIncidentChannel(inc.Number, "C9", "inc-1"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPRThread(7, "C1", "1.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateReviewApp(store.ReviewApp{PR: 7, ID: "ra"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateSignal("sentry:1", func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{"n":1}`), nil }); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"exception", "critical"} {
		if err := db.AddRecord(kind, "k", clk.Now(), json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.TakeSlot("digest"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Verify(store.VerifyInput{Pipeline: "p1", User: "U1", Commits: []store.CommitOwner{{SHA: "a1", Owner: "U1"}, {SHA: "b2", Owner: "U1"}}}); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var seqs store.Sequences
	var lastAudit uint64
	err := db.Export(func(rec store.Record) error {
		switch {
		case rec.Sequences != nil:
			seqs = *rec.Sequences
			kinds = append(kinds, "seq")
		case rec.Audit != nil:
			if rec.Audit.Seq <= lastAudit {
				t.Errorf("audit out of order: %d after %d", rec.Audit.Seq, lastAudit)
			}
			lastAudit = rec.Audit.Seq
			if len(kinds) == 0 || kinds[len(kinds)-1] != "audit" {
				kinds = append(kinds, "audit")
			}
		case rec.Lock != nil:
			kinds = append(kinds, "lock")
		case rec.Request != nil:
			kinds = append(kinds, "request")
		case rec.ReviewApp != nil:
			kinds = append(kinds, "reviewapp")
		case rec.PRThread != nil:
			kinds = append(kinds, "prthread")
		case rec.Incident != nil:
			kinds = append(kinds, "incident")
		case rec.Entry != nil:
			kinds = append(kinds, "entry")
		case rec.Channel != nil:
			kinds = append(kinds, "channel")
		case rec.Signal != nil:
			kinds = append(kinds, "signal")
		case rec.Row != nil:
			kinds = append(kinds, "record:"+rec.Row.Kind)
		case rec.Slot != nil:
			kinds = append(kinds, "slot")
		case rec.Verified != nil:
			kinds = append(kinds, "verified:"+rec.Verified.SHA)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[seq audit lock request reviewapp prthread incident entry entry channel signal record:critical record:exception slot verified:a1 verified:b2]"
	if got := fmt.Sprint(kinds); got != want {
		t.Errorf("export order %s, want %s", got, want)
	}
	if seqs != (store.Sequences{Audit: 7, Requests: 1, Incidents: 1}) {
		t.Errorf("sequences %+v", seqs)
	}
}
