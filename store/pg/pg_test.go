package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/pgtest"
	"github.com/devy-chatops/devy/store"
	"github.com/devy-chatops/devy/store/bolt"
	"github.com/devy-chatops/devy/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openURL(t *testing.T, url string, now func() time.Time) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := Open(ctx, url, WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// backend runs the contract on a fresh database per case.
func backend() storetest.Backend {
	var mu sync.Mutex // guards urls
	urls := map[storetest.Store]string{}
	return storetest.Backend{
		Open: func(t *testing.T, now func() time.Time) storetest.Store {
			url := pgtest.URL(t)
			db := openURL(t, url, now)
			mu.Lock()
			urls[db] = url
			mu.Unlock()
			return db
		},
		Reopen: func(t *testing.T, s storetest.Store) storetest.Store {
			mu.Lock()
			url := urls[s]
			mu.Unlock()
			s.Close()
			db := openURL(t, url, s.Now)
			mu.Lock()
			urls[db] = url
			mu.Unlock()
			return db
		},
	}
}

func TestContract(t *testing.T) { storetest.Run(t, backend()) }

// twoProcesses is two Devy processes on one database: two pools, one clock.
func twoProcesses(t *testing.T) (a, b *DB, clk *storetest.Clock) {
	url := pgtest.URL(t)
	clk = storetest.NewClock()
	return openURL(t, url, clk.Now), openURL(t, url, clk.Now), clk
}

func TestConcurrentApprovalsFromTwoProcesses(t *testing.T) {
	a, b, _ := twoProcesses(t)
	storetest.ConcurrentApprovals(t, a, func(i int, id uint64) error {
		db := a
		if i%2 == 1 {
			db = b
		}
		_, err := db.Approve(id, fmt.Sprintf("U%02d", i))
		return err
	})
}

// Slack's retry of an envelope may reach another process than the first
// delivery did: of every process claiming it, one handles it.
func TestDeliveryIsClaimedOnceAcrossProcesses(t *testing.T) {
	a, b, clk := twoProcesses(t)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() {
			first, err := db.ClaimDelivery("env:E1")
			if err != nil {
				t.Error(err)
			}
			if first {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of 20 concurrent claims from two processes won; want exactly 1", n)
	}
	claim := func(db *DB, key string, want bool) {
		t.Helper()
		if first, err := db.ClaimDelivery(key); err != nil || first != want {
			t.Fatalf("claim of %s: %v, %v; want %v", key, first, err, want)
		}
	}
	clk.Add(50 * time.Minute)
	claim(b, "env:E1", false) // a late retry is still known
	claim(b, "evt:Ev1", true) // another key is not
	// Past the memory, a later claim forgets the old ones.
	clk.Add(30 * time.Minute)
	claim(a, "env:E2", true)
	claim(b, "env:E1", true)
	if _, err := a.ClaimDelivery(""); err == nil {
		t.Fatal("a claim without a key was accepted")
	}
}

// Two replicas receive deliveries of one Sentry issue at once: their updates
// of the signal take turns, so none is lost, and one of them takes the
// week's digest slot.
func TestSignalUpdatesAndSlotsAcrossProcesses(t *testing.T) {
	a, b, _ := twoProcesses(t)
	var slots atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() {
			_, err := db.UpdateSignal("sentry:7", func(raw json.RawMessage) (json.RawMessage, error) {
				var c struct{ N int }
				if raw != nil {
					if err := json.Unmarshal(raw, &c); err != nil {
						return nil, err
					}
				}
				c.N++
				return json.Marshal(c)
			})
			if err != nil {
				t.Error(err)
			}
			took, err := db.TakeSlot("digest 2026-11-23T09:00:00Z")
			if err != nil {
				t.Error(err)
			}
			if took {
				slots.Add(1)
			}
		})
	}
	wg.Wait()
	raw, ok, err := b.Signal("sentry:7")
	var c struct{ N int }
	if err == nil && ok {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || !ok || c.N != 20 {
		t.Fatalf("signal after 20 updates from two processes: %s, %v, %v; want N=20", raw, ok, err)
	}
	if n := slots.Load(); n != 1 {
		t.Fatalf("%d of 20 racers from two processes took the slot; want 1", n)
	}
}

func TestLeaseAcrossProcesses(t *testing.T) {
	a, b, clk := twoProcesses(t)
	r, err := a.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = a.Approve(r.ID, "U2"); err != nil {
		t.Fatal(err)
	}
	claim := func(db *DB, owner string, want bool) {
		t.Helper()
		if ok, err := db.ClaimPromotion(r.ID, owner, time.Minute); err != nil || ok != want {
			t.Fatalf("%s claims: %v, %v; want %v", owner, ok, err, want)
		}
	}
	claim(a, "A", true)
	claim(b, "B", false)
	// B restarting finds nothing to take over while A's lease lives.
	if orphans, _ := b.OrphanedPromotions(time.Minute); len(orphans) != 0 {
		t.Fatalf("orphans while A follows: %+v", orphans)
	}
	clk.Add(2 * time.Minute) // A died and stopped renewing
	if orphans, _ := b.OrphanedPromotions(time.Minute); len(orphans) != 1 {
		t.Fatalf("orphans after A's lease expired: %+v", orphans)
	}
	claim(b, "B", true)
	claim(a, "A", false)
}

func TestSchemaIsMigratedOnceWhenProcessesStartTogether(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(context.Background(), url)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent opens: %v", err)
	}
	db := openURL(t, url, time.Now)
	if v, err := db.SchemaVersion(); err != nil || v != uint64(len(migrations())) {
		t.Fatalf("schema version = %d, %v; want %d", v, err, len(migrations()))
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	url := pgtest.URL(t)
	db := openURL(t, url, time.Now)
	if _, err := db.pool.Exec(context.Background(), `UPDATE schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), url); err == nil || !strings.Contains(err.Error(), "upgrade Devy") {
		t.Fatalf("got %v, want a refusal naming the upgrade", err)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	db := openURL(t, pgtest.URL(t), time.Now)
	if err := db.Audit(store.AuditEntry{Actor: "U1", Action: "x.y", Subject: "z"}); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`UPDATE audit SET actor = 'U2'`, `DELETE FROM audit`, `TRUNCATE audit`} {
		if _, err := db.pool.Exec(context.Background(), sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", sql, err)
		}
	}
	if log, _ := db.AuditLog(0); len(log) != 1 || log[0].Actor != "U1" {
		t.Fatalf("audit log changed: %+v", log)
	}
}

// With sslmode=require in the URL (as .ci/run and Heroku use), the
// connections really are encrypted.
func TestSSLModeRequire(t *testing.T) {
	url := pgtest.URL(t)
	if !strings.Contains(url, "sslmode=require") {
		t.Skipf("%s does not ask for TLS (sslmode=require); .ci/run tests it", pgtest.EnvURL)
	}
	db := openURL(t, url, time.Now)
	var ssl bool
	if err := db.pool.QueryRow(context.Background(), `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil || !ssl {
		t.Fatalf("connection encrypted = %v, %v", ssl, err)
	}
}

func TestUnreachableAtStartFailsFastNamingDATABASE_URL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, url := range []string{
		"postgres://devy:s3cret@" + closed + "/devy?sslmode=disable",                      // nothing listens
		"postgres://devy:s3cret@10.255.255.1:5432/devy?sslmode=require&connect_timeout=1", // packets vanish
	} {
		start := time.Now()
		_, err := Open(context.Background(), url)
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "DATABASE_URL: cannot reach PostgreSQL") {
			t.Errorf("Open(%s) = %v; want an error naming DATABASE_URL", url, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the password leaked into the error: %v", err)
		}
		if took > openTimeout+time.Second {
			t.Errorf("Open took %s to give up", took)
		}
	}
	if _, err := Open(context.Background(), "postgres://devy:s3cret@host:notaport/x"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("malformed URL: %v", err)
	}
}

func TestLostMidRunIsUnavailableWritesNothingAndRecovers(t *testing.T) {
	proxy, url := pgtest.NewProxy(t, pgtest.URL(t))
	clk := storetest.NewClock()
	db := openURL(t, url, clk.Now)
	r, err := db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	// A break nobody noticed (no operation during it) costs nothing.
	proxy.Cut()
	proxy.Restore()
	if _, err := db.Request(r.ID); err != nil {
		t.Fatalf("read after a short break: %v", err)
	}
	proxy.Cut()
	proxy.Restore()
	if err := db.SetMessage(r.ID, "C1", "1.1"); err != nil {
		t.Fatalf("write after a short break: %v", err)
	}

	proxy.Cut()
	start := time.Now()
	for name, f := range map[string]func() error{
		"approve": func() error { _, err := db.Approve(r.ID, "U2"); return err },
		"read":    func() error { _, err := db.Request(r.ID); return err },
		"audit":   func() error { return db.Audit(store.AuditEntry{Actor: "U1", Action: "x.y", Subject: "z"}) },
		"incident": func() error {
			_, err := db.OpenIncident(store.Incident{Title: "x", OpenedBy: "U1"}, "opened")
			return err
		},
		"ping": db.Ping,
	} {
		if err := f(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while the database is gone: %v, want store.ErrUnavailable", name, err)
		}
	}
	if took := time.Since(start); took > 2*opTimeout {
		t.Errorf("failing took %s", took)
	}

	proxy.Restore()
	got, err := db.Request(r.ID) // the pool reconnects by itself
	if err != nil || got.Status != store.StatusPending {
		t.Fatalf("after the database came back: %+v, %v; want the request still pending", got, err)
	}
	if log, _ := db.AuditLog(0); len(log) != 1 || log[0].Action != "promotion.requested" || got.MessageTS != "1.1" {
		t.Fatalf("audit after the outage %+v: nothing may have been half-written", log)
	}
	if all, _ := db.Incidents(); len(all) != 0 {
		t.Fatalf("incidents after the outage %+v", all)
	}
	if _, err := db.Approve(r.ID, "U2"); err != nil {
		t.Fatalf("approve after recovery: %v", err)
	}
}

func TestImportCopiesEverything(t *testing.T) {
	clk := storetest.NewClock()
	src, err := bolt.Open(filepath.Join(t.TempDir(), "devy.db"), time.Second, bolt.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A finished promotion, a promoting one, a pending one on another
	// pipeline, a manual lock, review apps, threads, incidents.
	for i := 0; i < 2; i++ {
		r, err := src.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: clk.Now().Add(time.Hour), SHA: fmt.Sprint("sha", i)})
		must(err)
		_, err = src.Approve(r.ID, "U2")
		must(err)
		if i == 0 {
			_, err = src.FinishPromotion(r.ID, store.StatusSucceeded, nil, "")
			must(err)
		}
	}
	_, err = src.CreateRequest(store.PromotionRequest{Pipeline: "p2", RequestedBy: "U3", ExpiresAt: clk.Now().Add(time.Hour)})
	must(err)
	_, err = src.AcquireLock(store.Lock{Pipeline: "p3", Holder: "U4", Reason: "migrating", Until: clk.Now().Add(time.Hour)})
	must(err)
	_, err = src.CreateReviewApp(store.ReviewApp{PR: 7, ID: "ra-7", Status: store.ReviewCreating})
	must(err)
	must(src.SetPRThread(7, "C1", "1.1"))
	for i := 0; i < 3; i++ {
		inc, err := src.OpenIncident(store.Incident{Title: fmt.Sprint("inc", i), Severity: "SEV2", OpenedBy: "U1"}, "opened")
		must(err)
		_, _, err = src.AddTimelineEntry(inc.Number, store.TimelineEntry{Kind: store.EntryPin, Actor: "U1", Text: "pin", Ref: fmt.Sprint("pin:", i)})
		must(err)
		_, err = src.SetIncidentChannel(inc.Number, fmt.Sprint("C9", i), "inc")
		must(err)
	}
	// Signals, their records and a taken digest slot.
	_, err = src.UpdateSignal("sentry:1", func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{"title":"TypeError"}`), nil })
	must(err)
	must(src.AddRecord("critical", "am:g1", clk.Now(), json.RawMessage(`{"title":"disk full"}`)))
	must(src.AddRecord("exception", "sentry:1", clk.Now().Add(time.Second), json.RawMessage(`{"title":"TypeError"}`)))
	_, err = src.TakeSlot("digest 2026-11-23T09:00:00Z")
	must(err)
	_, err = src.Verify(store.VerifyInput{Pipeline: "p1", User: "U1", Vouch: true, Commits: []store.CommitOwner{{SHA: "a1", Owner: "U1"}, {SHA: "b2"}}})
	must(err)
	clk.Add(time.Minute)

	db := openURL(t, pgtest.URL(t), clk.Now)
	counts, err := db.Import(context.Background(), src)
	must(err)
	want, _ := src.Counts()
	if counts != want || want.Requests != 3 || want.Incidents != 3 || want.TimelineEntries != 6 || want.Locks != 2 ||
		want.Signals != 1 || want.Records != 2 || want.Slots != 1 || want.Verifications != 2 {
		t.Fatalf("imported %+v, bbolt has %+v", counts, want)
	}
	if raw, ok, err := db.Signal("sentry:1"); err != nil || !ok || !strings.Contains(string(raw), "TypeError") {
		t.Errorf("signal after import: %s, %v, %v", raw, ok, err)
	}
	if rows, err := db.Records("critical", time.Time{}); err != nil || len(rows) != 1 || rows[0].Key != "am:g1" {
		t.Errorf("critical records after import: %+v, %v", rows, err)
	}
	if vs, err := db.Verifications("p1", []string{"a1", "b2"}); err != nil || len(vs) != 2 || !vs["b2"].Vouched || vs["a1"].By != "U1" {
		t.Errorf("verifications after import: %+v, %v", vs, err)
	}
	if took, err := db.TakeSlot("digest 2026-11-23T09:00:00Z"); took || err != nil {
		t.Errorf("a slot taken in bbolt is free after import: %v, %v", took, err)
	}

	// The same audit log, in the same order.
	a, _ := src.AuditLog(0)
	b, _ := db.AuditLog(0)
	if len(a) != len(b) {
		t.Fatalf("audit: %d entries copied of %d", len(b), len(a))
	}
	for i := range a {
		if a[i].Seq != b[i].Seq || a[i].Action != b[i].Action || a[i].Subject != b[i].Subject || !a[i].At.Equal(b[i].At) || fmt.Sprint(a[i].Detail) != fmt.Sprint(b[i].Detail) {
			t.Fatalf("audit[%d]: bbolt %+v, pg %+v", i, a[i], b[i])
		}
	}
	for _, pipeline := range []string{"p1", "p3"} {
		la, _ := src.Lock(pipeline)
		lb, _ := db.Lock(pipeline)
		if la == nil || lb == nil || *la != *lb {
			t.Errorf("lock of %s: bbolt %+v, pg %+v", pipeline, la, lb)
		}
	}
	if tl, _ := db.Timeline(2); len(tl) != 2 || tl[1].Ref != "pin:1" {
		t.Errorf("timeline of incident 2: %+v", tl)
	}
	if inc, err := db.IncidentByChannel("C92"); err != nil || inc.Number != 3 {
		t.Errorf("incident of C92: %+v, %v", inc, err)
	}
	if ra, _ := db.ReviewApp(7); ra.ID != "ra-7" {
		t.Errorf("review app %+v", ra)
	}
	if th, _ := db.PRThread(7); th == nil || th.TS != "1.1" {
		t.Errorf("thread %+v", th)
	}
	// Numbers continue past the copied ones; the pipelines' state holds.
	if inc, err := db.OpenIncident(store.Incident{Title: "next", OpenedBy: "U1"}, "opened"); err != nil || inc.Number != 4 {
		t.Errorf("next incident: %d, %v; want 4", inc.Number, err)
	}
	var pe *store.PendingError
	if _, err := db.CreateRequest(store.PromotionRequest{Pipeline: "p2", RequestedBy: "U5", ExpiresAt: clk.Now().Add(time.Hour)}); !errors.As(err, &pe) || pe.Request.ID != 3 {
		t.Errorf("a second request on p2: %v, want PendingError for 3", err)
	}
	next, err := db.CreateRequest(store.PromotionRequest{Pipeline: "p4", RequestedBy: "U5", ExpiresAt: clk.Now().Add(time.Hour)})
	if err != nil || next.ID != 4 {
		t.Errorf("next request: %d, %v; want 4", next.ID, err)
	}
	if err := db.Audit(store.AuditEntry{Actor: "U1", Action: "x.after", Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	if log, _ := db.AuditLog(1); log[0].Seq <= a[0].Seq {
		t.Errorf("audit seq after import %d, want past %d", log[0].Seq, a[0].Seq)
	}
	// The promotion that was running when bbolt stopped is picked up.
	if orphans, _ := db.OrphanedPromotions(time.Minute); len(orphans) != 1 || orphans[0].ID != 2 {
		t.Errorf("orphans after import: %+v", orphans)
	}

	// A second import would mix two histories: refused, nothing written.
	before, _ := db.Counts()
	if _, err := db.Import(context.Background(), src); err == nil || !strings.Contains(err.Error(), "already holds Devy data") {
		t.Fatalf("second import: %v", err)
	}
	if after, _ := db.Counts(); after != before {
		t.Fatalf("a refused import changed the counts: %+v → %+v", before, after)
	}
}
