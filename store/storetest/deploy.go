package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devy-chatops/devy/store"
)

var requestCases = []testCase{
	{"a new request is pending, numbered and audited", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		if r.ID != 1 || r.Status != store.StatusPending || !r.RequestedAt.Equal(e.clk.Now()) {
			t.Fatalf("created %+v", r)
		}
		got, err := e.db.Request(r.ID)
		if err != nil || got.SHA != "abc" || len(got.Targets) != 1 || got.Targets[0].AppName != "shop-prod" {
			t.Fatalf("read back %+v, %v", got, err)
		}
		if _, err := e.db.Request(99); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown request: %v, want ErrNotFound", err)
		}
		log, _ := e.db.AuditLog(0, "promotion.requested")
		if len(log) != 1 || log[0].Actor != "U1" || log[0].Subject != "request 1" || log[0].Detail["release"] != "7" {
			t.Fatalf("audit %+v", log)
		}
	}},
	{"second request refused while one is pending", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		_, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U2", ExpiresAt: e.clk.Now().Add(time.Hour)})
		var pe *store.PendingError
		if !errors.As(err, &pe) || pe.Request.ID != r.ID {
			t.Fatalf("got %v, want PendingError for %d", err, r.ID)
		}
		if _, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p2", RequestedBy: "U2", ExpiresAt: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("another pipeline's request: %v", err)
		}
	}},
	{"expired request cannot be approved and frees the pipeline", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		e.clk.Add(31 * time.Minute)
		if open, err := e.db.OpenRequest("p1"); err != nil || open != nil {
			t.Fatalf("open request after expiry = %+v, %v; want none", open, err)
		}
		_, err := e.db.Approve(r.ID, "U2")
		var de *store.DecisionError
		if !errors.As(err, &de) || de.Reason != "expired" {
			t.Fatalf("approve expired: %v", err)
		}
		if _, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U2", ExpiresAt: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("new request after expiry: %v", err)
		}
		old, _ := e.db.Request(r.ID)
		if old.Status != store.StatusExpired {
			t.Fatalf("old request status %s, want expired", old.Status)
		}
		if log, _ := e.db.AuditLog(0, "promotion.expired"); len(log) != 1 {
			t.Fatalf("expiry audited %d times, want once: %+v", len(log), log)
		}
		// However the expiry is noticed, its notice is recorded with it.
		effects, err := e.db.PendingEffects(0)
		var payload struct{ Request uint64 }
		if err == nil && len(effects) == 1 {
			err = json.Unmarshal(effects[0].Payload, &payload)
		}
		if err != nil || len(effects) != 1 || effects[0].Kind != store.EffectExpired || payload.Request != r.ID {
			t.Fatalf("effects after expiry = %+v, %v; want one %s of request %d", effects, err, store.EffectExpired, r.ID)
		}
	}},
	{"closing as expired records the expiry's notice with the given effects", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		if _, err := e.db.CloseRequest(r.ID, store.StatusExpired, "devy", "", store.Effect{Kind: "other"}); err != nil {
			t.Fatal(err)
		}
		effects, err := e.db.PendingEffects(0)
		if err != nil || len(effects) != 2 || effects[0].Kind != store.EffectExpired || effects[1].Kind != "other" {
			t.Fatalf("effects = %+v, %v; want the expiry's notice, then other", effects, err)
		}
	}},
	{"rejected request cannot be approved", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		if _, err := e.db.CloseRequest(r.ID, store.StatusRejected, "U3", ""); err != nil {
			t.Fatal(err)
		}
		_, err := e.db.Approve(r.ID, "U2")
		var de *store.DecisionError
		if !errors.As(err, &de) || de.Reason != "decided" || de.Request.DecidedBy != "U3" {
			t.Fatalf("approve rejected: %v", err)
		}
		if _, err := e.db.CloseRequest(r.ID, store.StatusCancelled, "U1", ""); !errors.As(err, &de) {
			t.Fatalf("cancel rejected: %v", err)
		}
	}},
	{"someone else's manual lock refuses approval", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p1", Holder: "U9", Reason: "db work", Until: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		_, err := e.db.Approve(r.ID, "U2")
		var de *store.DecisionError
		if !errors.As(err, &de) || de.Reason != "locked" || de.Lock.Holder != "U9" {
			t.Fatalf("approve while locked: %v", err)
		}
		got, _ := e.db.Request(r.ID)
		if got.Status != store.StatusPending {
			t.Fatalf("status %s after refused approval, want pending", got.Status)
		}
		var le *store.LockedError
		if _, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p2", RequestedBy: "U1", ExpiresAt: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p3", Holder: "U9", Until: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p3", RequestedBy: "U1", ExpiresAt: e.clk.Now().Add(time.Hour)}); !errors.As(err, &le) {
			t.Fatalf("request on a locked pipeline: %v, want LockedError", err)
		}
	}},
	{"finish releases the lock and gives back the requester's own", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p1", Holder: "U1", Reason: "mine", Until: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Approve(r.ID, "U2"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.ReleaseLock("p1", "U1", true); err == nil {
			t.Fatal("a promotion's lock was released by hand")
		}
		if err := e.db.SetMessage(r.ID, "C1", "1.2"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.StartPromotion(r.ID, "promo-1"); err != nil {
			t.Fatal(err)
		}
		targets := []store.Target{{AppID: "a1", AppName: "shop-prod", Status: "succeeded", ReleaseID: "r9"}}
		if err := e.db.SetTargets(r.ID, targets); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.db.Request(r.ID); got.Targets[0].Status != "succeeded" || got.MessageTS != "1.2" {
			t.Fatalf("after SetTargets and SetMessage: %+v", got)
		}
		done, err := e.db.FinishPromotion(r.ID, store.StatusSucceeded, targets, "")
		if err != nil || done.Status != store.StatusSucceeded || done.PromotionID != "promo-1" || done.Channel != "C1" {
			t.Fatalf("finish: %+v %v", done, err)
		}
		l, _ := e.db.Lock("p1")
		if l == nil || l.Holder != "U1" || l.RequestID != 0 || l.Reason != "mine" {
			t.Fatalf("lock after finish = %+v, want U1's manual lock back", l)
		}
		h, _ := e.db.AuditLog(0, "promotion.finished")
		if len(h) != 1 || h[0].Detail["approved_by"] != "U2" || h[0].Detail["outcome"] != "succeeded" {
			t.Fatalf("history entry = %+v", h)
		}
		var de *store.DecisionError
		if _, err := e.db.FinishPromotion(r.ID, store.StatusFailed, nil, ""); !errors.As(err, &de) {
			t.Fatalf("second finish: %v, want DecisionError", err)
		}
		if err := e.db.StartPromotion(r.ID, "promo-2"); !errors.As(err, &de) {
			t.Fatalf("start after finish: %v, want DecisionError", err)
		}
	}},
	{"finish without a lock to give back frees the pipeline", func(t *testing.T, e *env) {
		r := promoting(t, e)
		if open, err := e.db.OpenRequest("p1"); err != nil || open == nil || open.ID != r.ID {
			t.Fatalf("open request while promoting = %+v, %v", open, err)
		}
		if _, err := e.db.FinishPromotion(r.ID, store.StatusFailed, nil, "Heroku refused"); err != nil {
			t.Fatal(err)
		}
		if l, _ := e.db.Lock("p1"); l != nil {
			t.Fatalf("lock after finish = %+v", l)
		}
		if open, _ := e.db.OpenRequest("p1"); open != nil {
			t.Fatalf("open request after finish = %+v", open)
		}
		got, _ := e.db.Request(r.ID)
		if got.Note != "Heroku refused" || got.FinishedAt.IsZero() {
			t.Fatalf("finished request %+v", got)
		}
	}},
	{"requests are listed newest first, by status", func(t *testing.T, e *env) {
		a := newRequest(t, e, "U1")
		if _, err := e.db.CloseRequest(a.ID, store.StatusCancelled, "U1", ""); err != nil {
			t.Fatal(err)
		}
		b := promoting(t, e)
		all, err := e.db.Requests()
		if err != nil || len(all) != 2 || all[0].ID != b.ID || all[1].ID != a.ID {
			t.Fatalf("all requests %+v, %v", all, err)
		}
		ps, _ := e.db.Requests(store.StatusPromoting, store.StatusPending)
		if len(ps) != 1 || ps[0].ID != b.ID {
			t.Fatalf("promoting %+v", ps)
		}
	}},
}

var lockCases = []testCase{
	{"manual lock expires", func(t *testing.T, e *env) {
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p2", Holder: "U1", Until: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p2", Holder: "U2", Until: e.clk.Now().Add(time.Hour)}); err == nil {
			t.Fatal("U2 took U1's active lock")
		}
		if l, err := e.db.Lock("p2"); err != nil || l == nil || l.Holder != "U1" || !l.Since.Equal(e.clk.Now()) {
			t.Fatalf("lock = %+v, %v", l, err)
		}
		e.clk.Add(61 * time.Minute)
		if l, _ := e.db.Lock("p2"); l != nil {
			t.Fatalf("lock still active after expiry: %+v", l)
		}
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p2", Holder: "U2", Until: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("U2 after expiry: %v", err)
		}
	}},
	{"only the holder or force releases a manual lock", func(t *testing.T, e *env) {
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p3", Holder: "U1", Until: e.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.AcquireLock(store.Lock{Pipeline: "p3", Holder: "U1", Reason: "renewed", Until: e.clk.Now().Add(2 * time.Hour)}); err != nil {
			t.Fatalf("the holder renewing: %v", err)
		}
		var le *store.LockedError
		if _, err := e.db.ReleaseLock("p3", "U2", false); !errors.As(err, &le) || le.Lock.Reason != "renewed" {
			t.Fatalf("U2 released U1's lock: %v", err)
		}
		if l, err := e.db.ReleaseLock("p3", "U2", true); err != nil || l.Holder != "U1" {
			t.Fatalf("admin release: %+v, %v", l, err)
		}
		if _, err := e.db.ReleaseLock("p3", "U1", false); !errors.Is(err, store.ErrNotLocked) {
			t.Fatalf("release of nothing: %v", err)
		}
		log, _ := e.db.AuditLog(0, "lock.acquired", "lock.released")
		if len(log) != 3 || log[0].Action != "lock.released" || log[0].Detail["holder"] != "U1" || log[0].Actor != "U2" {
			t.Fatalf("lock audit %+v", log)
		}
	}},
	{"an unknown pipeline is not locked", func(t *testing.T, e *env) {
		if l, err := e.db.Lock("nowhere"); err != nil || l != nil {
			t.Fatalf("lock = %+v, %v", l, err)
		}
	}},
}

const leaseTTL = time.Minute

var leaseCases = []testCase{
	{"the approver claims; others wait for the lease to expire", func(t *testing.T, e *env) {
		r := promoting(t, e)
		if orphans, _ := e.db.OrphanedPromotions(leaseTTL); len(orphans) != 0 {
			t.Fatalf("a request approved a moment ago is orphaned: %+v", orphans)
		}
		claim(t, e, r.ID, "A", true)
		claim(t, e, r.ID, "B", false)
		e.clk.Add(leaseTTL / 2)
		claim(t, e, r.ID, "A", true) // renewed
		e.clk.Add(leaseTTL / 2)
		claim(t, e, r.ID, "B", false)
		if orphans, _ := e.db.OrphanedPromotions(leaseTTL); len(orphans) != 0 {
			t.Fatalf("a request with a live lease is orphaned: %+v", orphans)
		}
		e.clk.Add(leaseTTL)
		orphans, err := e.db.OrphanedPromotions(leaseTTL)
		if err != nil || len(orphans) != 1 || orphans[0].ID != r.ID {
			t.Fatalf("after expiry orphans = %+v, %v", orphans, err)
		}
		claim(t, e, r.ID, "B", true)
		claim(t, e, r.ID, "A", false) // A's renewal tells it B took over
	}},
	{"a released lease is orphaned at once", func(t *testing.T, e *env) {
		r := promoting(t, e)
		claim(t, e, r.ID, "A", true)
		if err := e.db.ReleasePromotion(r.ID, "B"); err != nil {
			t.Fatal(err)
		}
		claim(t, e, r.ID, "B", false) // only the owner releases
		if err := e.db.ReleasePromotion(r.ID, "A"); err != nil {
			t.Fatal(err)
		}
		if orphans, _ := e.db.OrphanedPromotions(leaseTTL); len(orphans) != 1 {
			t.Fatalf("orphans after release = %+v", orphans)
		}
		claim(t, e, r.ID, "B", true)
	}},
	{"a request never claimed is orphaned a lease's length after approval", func(t *testing.T, e *env) {
		r := promoting(t, e)
		e.clk.Add(leaseTTL + time.Second)
		orphans, err := e.db.OrphanedPromotions(leaseTTL)
		if err != nil || len(orphans) != 1 || orphans[0].ID != r.ID {
			t.Fatalf("orphans = %+v, %v", orphans, err)
		}
	}},
	{"finished and pending requests cannot be claimed", func(t *testing.T, e *env) {
		r := promoting(t, e)
		claim(t, e, r.ID, "A", true)
		if _, err := e.db.FinishPromotion(r.ID, store.StatusSucceeded, nil, ""); err != nil {
			t.Fatal(err)
		}
		claim(t, e, r.ID, "A", false)
		p, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: e.clk.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		claim(t, e, p.ID, "A", false)
		e.clk.Add(2 * leaseTTL)
		if orphans, _ := e.db.OrphanedPromotions(leaseTTL); len(orphans) != 0 {
			t.Fatalf("orphans = %+v", orphans)
		}
		if _, err := e.db.ClaimPromotion(99, "A", leaseTTL); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim of an unknown request: %v", err)
		}
	}},
}

func claim(t *testing.T, e *env, id uint64, owner string, want bool) {
	t.Helper()
	ok, err := e.db.ClaimPromotion(id, owner, leaseTTL)
	if err != nil || ok != want {
		t.Fatalf("ClaimPromotion(%d, %s) = %v, %v; want %v", id, owner, ok, err, want)
	}
}

// race runs f n times at once and returns how many returned nil; any other
// error than those ok accepts fails the test.
func race(t *testing.T, n int, f func(i int) error, ok func(error) bool) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f(i)
			switch {
			case err == nil:
				wins.Add(1)
			case !ok(err):
				t.Errorf("call %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}

// ConcurrentApprovals has 20 approvals of one request race, through approve
// (one store, or several handles on one database), and checks that exactly
// one got through, with one lock and one audit entry.
func ConcurrentApprovals(t *testing.T, db Store, approve func(i int, id uint64) error) {
	t.Helper()
	r, err := db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: db.Now().Add(30 * time.Minute), ReleaseID: "rel-1"})
	if err != nil {
		t.Fatal(err)
	}
	wins := race(t, 20, func(i int) error { return approve(i, r.ID) }, func(err error) bool {
		var de *store.DecisionError
		return errors.As(err, &de) && de.Reason == "decided"
	})
	if wins != 1 {
		t.Fatalf("%d approvals won, want exactly 1", wins)
	}
	got, _ := db.Request(r.ID)
	if got.Status != store.StatusPromoting || got.DecidedBy == "" {
		t.Fatalf("request after approvals: %+v", got)
	}
	l, _ := db.Lock("p1")
	if l == nil || l.RequestID != r.ID {
		t.Fatalf("lock after approval = %+v, want held by request %d", l, r.ID)
	}
	if entries, _ := db.AuditLog(0, "promotion.approved"); len(entries) != 1 || entries[0].Actor != got.DecidedBy {
		t.Fatalf("approval audit entries %+v, want 1 by %s", entries, got.DecidedBy)
	}
}

var concurrencyCases = []testCase{
	{"20 concurrent approvals decide once", func(t *testing.T, e *env) {
		ConcurrentApprovals(t, e.db, func(i int, id uint64) error {
			_, err := e.db.Approve(id, fmt.Sprintf("U%02d", i))
			return err
		})
	}},
	{"approve and reject at once: one decision", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1")
		wins := race(t, 10, func(i int) error {
			if i%2 == 0 {
				_, err := e.db.Approve(r.ID, "U2")
				return err
			}
			_, err := e.db.CloseRequest(r.ID, store.StatusRejected, "U3", "")
			return err
		}, func(err error) bool { var de *store.DecisionError; return errors.As(err, &de) })
		if wins != 1 {
			t.Fatalf("%d decisions, want 1", wins)
		}
		if log, _ := e.db.AuditLog(0, "promotion.approved", "promotion.rejected"); len(log) != 1 {
			t.Fatalf("decision audit %+v", log)
		}
	}},
	{"concurrent requests: one is created", func(t *testing.T, e *env) {
		wins := race(t, 10, func(i int) error {
			_, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: fmt.Sprintf("U%02d", i), ExpiresAt: e.clk.Now().Add(time.Hour)})
			return err
		}, func(err error) bool { var pe *store.PendingError; return errors.As(err, &pe) })
		if rs, _ := e.db.Requests(); wins != 1 || len(rs) != 1 {
			t.Fatalf("%d created, %d stored; want 1", wins, len(rs))
		}
	}},
	{"concurrent locks: one holder", func(t *testing.T, e *env) {
		wins := race(t, 10, func(i int) error {
			_, err := e.db.AcquireLock(store.Lock{Pipeline: "p1", Holder: fmt.Sprintf("U%02d", i), Until: e.clk.Now().Add(time.Hour)})
			return err
		}, func(err error) bool { var le *store.LockedError; return errors.As(err, &le) })
		if wins != 1 {
			t.Fatalf("%d people hold the lock, want 1", wins)
		}
	}},
	{"concurrent finishes: one outcome", func(t *testing.T, e *env) {
		r := promoting(t, e)
		wins := race(t, 10, func(i int) error {
			_, err := e.db.FinishPromotion(r.ID, store.StatusSucceeded, nil, "")
			return err
		}, func(err error) bool { var de *store.DecisionError; return errors.As(err, &de) })
		if log, _ := e.db.AuditLog(0, "promotion.finished"); wins != 1 || len(log) != 1 {
			t.Fatalf("%d finishes, %d audited; want 1", wins, len(log))
		}
	}},
	{"concurrent claims: one follower", func(t *testing.T, e *env) {
		r := promoting(t, e)
		var won atomic.Int32
		race(t, 10, func(i int) error {
			ok, err := e.db.ClaimPromotion(r.ID, fmt.Sprintf("P%d", i), leaseTTL)
			if ok {
				won.Add(1)
			}
			return err
		}, func(error) bool { return false })
		if won.Load() != 1 {
			t.Fatalf("%d followers, want 1", won.Load())
		}
	}},
	{"concurrent incidents get distinct numbers", func(t *testing.T, e *env) {
		var mu sync.Mutex
		seen := map[uint64]bool{}
		race(t, 10, func(i int) error {
			inc, err := e.db.OpenIncident(store.Incident{Title: fmt.Sprintf("i%d", i), Severity: "SEV3", Commander: "U1", OpenedBy: "U1"}, "opened")
			mu.Lock()
			defer mu.Unlock()
			if seen[inc.Number] {
				return fmt.Errorf("number %d handed out twice", inc.Number)
			}
			seen[inc.Number] = true
			return err
		}, func(error) bool { return false })
		if all, _ := e.db.Incidents(); len(all) != 10 {
			t.Fatalf("%d incidents, want 10", len(all))
		}
	}},
	{"concurrent resolutions resolve once", func(t *testing.T, e *env) {
		inc := openIncident(t, e, "DB down")
		wins := race(t, 10, func(i int) error {
			_, err := e.db.ResolveIncident(inc.Number, fmt.Sprintf("U%02d", i), "", "resolved")
			return err
		}, func(err error) bool { return errors.Is(err, store.ErrIncidentResolved) })
		tl, _ := e.db.Timeline(inc.Number)
		if wins != 1 || len(tl) != 2 {
			t.Fatalf("%d resolutions, timeline %+v; want 1 and opened+resolved", wins, tl)
		}
	}},
	{"the same pin from many hands is one entry", func(t *testing.T, e *env) {
		inc := openIncident(t, e, "DB down")
		var added atomic.Int32
		race(t, 10, func(i int) error {
			_, ok, err := e.db.AddTimelineEntry(inc.Number, store.TimelineEntry{Kind: store.EntryPin, Actor: "U1", Text: "x", Ref: "pin:1.2"})
			if ok {
				added.Add(1)
			}
			return err
		}, func(error) bool { return false })
		if tl, _ := e.db.Timeline(inc.Number); added.Load() != 1 || len(tl) != 2 {
			t.Fatalf("added %d times, timeline %+v", added.Load(), tl)
		}
	}},
}

var auditCases = []testCase{
	{"newest first, filtered, limited, kept across a restart", func(t *testing.T, e *env) {
		for i, a := range []string{"x.one", "x.two", "x.one", "x.three"} {
			if err := e.db.Audit(store.AuditEntry{Actor: "U1", Action: a, Subject: fmt.Sprint(i), Detail: map[string]string{"i": fmt.Sprint(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		e.reopen(t)
		all, err := e.db.AuditLog(0)
		if err != nil || len(all) != 4 || all[0].Action != "x.three" || all[3].Subject != "0" || !all[0].At.Equal(e.clk.Now()) {
			t.Fatalf("all = %+v, %v", all, err)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Seq >= all[i-1].Seq {
				t.Fatalf("audit not newest first by seq: %+v", all)
			}
		}
		ones, _ := e.db.AuditLog(0, "x.one")
		if len(ones) != 2 || ones[0].Detail["i"] != "2" {
			t.Fatalf("filtered %+v", ones)
		}
		if two, _ := e.db.AuditLog(2); len(two) != 2 || two[1].Action != "x.one" {
			t.Fatalf("limited %+v", two)
		}
		if none, _ := e.db.AuditLog(0, "x.none"); len(none) != 0 {
			t.Fatalf("no match: %+v", none)
		}
		if plain, _ := e.db.AuditLog(1, "x.three"); plain[0].Detail["i"] != "3" {
			t.Fatalf("detail %+v", plain)
		}
	}},
	{"an entry without detail reads back without one", func(t *testing.T, e *env) {
		at := e.clk.Now().Add(-time.Hour)
		if err := e.db.Audit(store.AuditEntry{At: at, Actor: "devy", Action: "x.bare", Subject: "s"}); err != nil {
			t.Fatal(err)
		}
		log, _ := e.db.AuditLog(0)
		if len(log) != 1 || log[0].Detail != nil || !log[0].At.Equal(at) {
			t.Fatalf("bare entry %+v", log)
		}
	}},
	{"counts", func(t *testing.T, e *env) {
		promoting(t, e)
		inc := openIncident(t, e, "x")
		if _, err := e.db.SetIncidentChannel(inc.Number, "C9", "inc-1"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.SetPRThread(7, "C1", "1.1"); err != nil {
			t.Fatal(err)
		}
		c, err := e.db.Counts()
		want := store.Counts{Audit: 4, Locks: 1, Requests: 1, PRThreads: 1, Incidents: 1, TimelineEntries: 1, IncidentChannels: 1}
		if err != nil || c != want {
			t.Fatalf("counts = %+v, %v; want %+v", c, err, want)
		}
	}},
}
