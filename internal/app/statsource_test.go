package app

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/commands/stats"
	"github.com/devy-chatops/devy/store"
)

func TestStatsSourcePromotions(t *testing.T) {
	db, clk := openAdapterDB(t)
	authored := adapterT0.Add(-30 * time.Hour)
	// Made before Devy kept commits: no lead time.
	old := promoted(t, db, clk, store.PromotionRequest{Pipeline: "p1", StagingAppName: "shop-staging", ReleaseVersion: 40,
		CompareURL: "https://github.test/o/r/compare/a...b", CommitCount: 3}, time.Hour, store.StatusSucceeded)
	withCommits := promoted(t, db, clk, store.PromotionRequest{Pipeline: "p1", StagingAppName: "shop-staging", ReleaseVersion: 41,
		CompareURL: "https://github.test/o/r/compare/b...c", CommitCount: 2, Commits: []store.CommitInfo{
			{SHA: "c1", AuthoredAt: authored, Message: "one"},
			{SHA: "c2", AuthoredAt: authored.Add(time.Hour), Message: "two"},
		}}, time.Hour, store.StatusFailed)
	// GitHub's compare found nothing new: no commit, and known so.
	nothingNew := promoted(t, db, clk, store.PromotionRequest{Pipeline: "p1", StagingAppName: "shop-staging", ReleaseVersion: 41,
		CompareURL: "https://github.test/o/r/compare/c...c"}, time.Hour, store.StatusSucceeded)
	// Rejected and cancelled requests never promoted anything.
	rejected, err := db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U0ALICE", ExpiresAt: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CloseRequest(rejected.ID, store.StatusRejected, "U0BOB", "not today"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	noGitHub := promoted(t, db, clk, store.PromotionRequest{Pipeline: "p1"}, time.Hour, store.StatusSucceeded)

	s := newStatsSource(db)
	type row struct {
		Number  uint64
		Outcome stats.Outcome
		Release string
		Dates   []time.Time
	}
	cases := []struct {
		name     string
		from, to time.Time
		want     []row
	}{
		{"everything", adapterT0, clk.Now().Add(time.Hour), []row{
			{noGitHub.ID, stats.Succeeded, "", nil},
			{nothingNew.ID, stats.Succeeded, "shop-staging v41", []time.Time{}},
			{withCommits.ID, stats.Failed, "shop-staging v41", []time.Time{authored, authored.Add(time.Hour)}},
			{old.ID, stats.Succeeded, "shop-staging v40", nil},
		}},
		// [from, to): a promotion finishing at to belongs to the next window.
		{"from the first's end to the third's", old.FinishedAt, nothingNew.FinishedAt, []row{
			{withCommits.ID, stats.Failed, "shop-staging v41", []time.Time{authored, authored.Add(time.Hour)}},
			{old.ID, stats.Succeeded, "shop-staging v40", nil},
		}},
		{"before any", adapterT0.Add(-time.Hour), adapterT0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := s.Promotions(context.Background(), c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			for _, p := range ps {
				got = append(got, row{p.Number, p.Outcome, p.Release, p.CommitAuthorDates})
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("promotions = %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestStatsSourceIncidentsAndAlerts(t *testing.T) {
	db, clk := openAdapterDB(t)
	open := func(title string, suspect uint64) store.Incident {
		t.Helper()
		inc, err := db.OpenIncident(store.Incident{Title: title, Severity: "SEV2", OpenedBy: "U0ALICE", SuspectPromotion: suspect}, "opened")
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	resolve := func(inc store.Incident) store.Incident {
		t.Helper()
		inc, err := db.ResolveIncident(inc.Number, "U0ALICE", "fixed", "resolved")
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	early := open("early", 0)
	clk.Add(time.Hour)
	early = resolve(early)
	clk.Add(24 * time.Hour)
	from := clk.Now()
	spanning := open("Checkout &lt;500&gt; &amp; retries", 3) // as Slack escapes what people type
	clk.Add(2 * time.Hour)
	spanning = resolve(spanning)
	clk.Add(time.Hour)
	stillOpen := open("still open", 0)
	clk.Add(time.Hour)
	to := clk.Now()
	clk.Add(time.Hour)
	open("after the window", 0)

	s := newStatsSource(db)
	got, err := s.Incidents(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []stats.Incident{
		{Number: stillOpen.Number, Title: "still open", OpenedAt: stillOpen.OpenedAt},
		{Number: spanning.Number, Title: "Checkout <500> & retries", OpenedAt: spanning.OpenedAt, ResolvedAt: spanning.ResolvedAt, SuspectPromotion: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("incidents = %+v\nwant %+v", got, want)
	}
	if got, _ := s.Incidents(context.Background(), early.OpenedAt, early.ResolvedAt); len(got) != 1 || got[0].Number != early.Number {
		t.Fatalf("incidents while the early one was open = %+v", got)
	}

	sig := newSignalStore(db)
	for _, r := range []signals.Record{
		{Kind: signals.RecordCritical, Key: "am:g1", Title: "disk full", At: from.Add(-time.Minute)},
		{Kind: signals.RecordCritical, Key: "am:g1", Title: "disk full", At: from},
		{Kind: signals.RecordException, Key: "sentry:1", Title: "TypeError", At: from.Add(time.Minute)},
		{Kind: signals.RecordCritical, Key: "sentry-metric:9", Title: "error rate", At: from.Add(time.Hour)},
		{Kind: signals.RecordCritical, Key: "am:g2", Title: "at the end", At: to},
	} {
		if err := sig.AddRecord(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	alerts, err := s.CriticalAlerts(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []stats.CriticalAlert{{At: from}, {At: from.Add(time.Hour)}}; !reflect.DeepEqual(alerts, want) {
		t.Fatalf("critical alerts = %+v\nwant %+v", alerts, want)
	}
}

func TestStatsSourceActionItemsAndSlots(t *testing.T) {
	db, clk := openAdapterDB(t)
	postmortem := func(title string, items []string, issues []store.IssueLink) store.Incident {
		t.Helper()
		inc, err := db.OpenIncident(store.Incident{Title: title, Severity: "SEV2", OpenedBy: "U0ALICE"}, "opened")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ResolveIncident(inc.Number, "U0ALICE", "fixed", "resolved"); err != nil {
			t.Fatal(err)
		}
		if inc, err = db.SavePostmortem(inc.Number, store.Postmortem{WrittenBy: "U0ALICE", ActionItems: items, ActionIssues: issues}); err != nil {
			t.Fatal(err)
		}
		return inc
	}
	postmortem("long ago", []string{"Old item"}, nil)
	clk.Add(91 * 24 * time.Hour)
	first := postmortem("first", []string{"Add an alert on queue depth", "Write the runbook"},
		[]store.IssueLink{{Title: "Write the runbook", Number: 12, URL: "https://github.test/o/r/issues/12"}})
	clk.Add(24 * time.Hour)
	if _, err := db.OpenIncident(store.Incident{Title: "no postmortem yet", Severity: "SEV3", OpenedBy: "U0ALICE"}, "opened"); err != nil {
		t.Fatal(err)
	}
	second := postmortem("second", []string{"Pin the <driver> version"}, nil)

	s := newStatsSource(db)
	items, err := s.OpenActionItems(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []stats.ActionItem{
		{Incident: first.Number, Title: "Add an alert on queue depth"},
		{Incident: first.Number, Title: "Write the runbook", URL: "https://github.test/o/r/issues/12"},
		{Incident: second.Number, Title: "Pin the <driver> version"},
	}
	if !reflect.DeepEqual(items, want) {
		t.Fatalf("action items = %+v\nwant %+v", items, want)
	}

	key := stats.SlotKey(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	for i, want := range []bool{true, false} {
		if took, err := s.TakeSlot(key); err != nil || took != want {
			t.Fatalf("TakeSlot #%d = %v, %v; want %v", i+1, took, err, want)
		}
	}
}

// The keys come out of the store's records as stats computes them: one
// succeeded promotion with commit data, one incident tied to it.
func TestStatsSourceFeedsTheKeys(t *testing.T) {
	db, clk := openAdapterDB(t)
	r := promoted(t, db, clk, store.PromotionRequest{Pipeline: "p1", StagingAppName: "shop-staging", ReleaseVersion: 41,
		CompareURL: "https://github.test/o/r/compare/a...b", CommitCount: 1,
		Commits: []store.CommitInfo{{SHA: "c1", AuthoredAt: adapterT0.Add(-2 * time.Hour), Message: "one"}}}, time.Hour, store.StatusSucceeded)
	clk.Add(3 * time.Hour)
	if _, err := db.OpenIncident(store.Incident{Title: "cart broken", Severity: "SEV1", OpenedBy: "U0ALICE", SuspectPromotion: r.ID}, "opened"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	now := clk.Now()
	h, err := stats.Load(context.Background(), newStatsSource(db), stats.WindowAt(stats.Week, now, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	k := stats.Compute(h, stats.Week, now, time.UTC, signals.DefaultSuspectWindow).Current
	if k.Promotions != 1 || k.Failures != 1 || k.Lead.WithData != 1 || k.Lead.Commits != 1 {
		t.Fatalf("keys = %+v; want 1 promotion, 1 failure, 1 commit with lead time", k)
	}
}
