package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/devy-chatops/devy/store"
)

var reviewAppCases = []testCase{
	{"lifecycle is audited", func(t *testing.T, e *env) {
		db, clk := e.db, e.clk
		if _, err := db.ReviewApp(7); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("before creation: %v, want ErrNotFound", err)
		}
		r, err := db.CreateReviewApp(store.ReviewApp{PR: 7, ID: "ra-1", Branch: "erin/dark-mode", SHA: "abc", RequestedBy: "U1", Channel: "C1",
			Messages: []store.MessageRef{{Channel: "C1", TS: "1.1"}}, Status: store.ReviewPending})
		if err != nil {
			t.Fatal(err)
		}
		if !r.CreatedAt.Equal(clk.Now()) {
			t.Errorf("CreatedAt = %v, want the store's clock", r.CreatedAt)
		}

		clk.Add(time.Minute)
		r.Status, r.WebURL = store.ReviewCreated, "https://shop-pr-7.herokuapp.com/"
		if _, err := db.UpdateReviewApp(r); err != nil {
			t.Fatal(err)
		}
		got, err := db.ReviewApp(7)
		if err != nil || got.Status != store.ReviewCreated || got.WebURL == "" || len(got.Messages) != 1 || !got.UpdatedAt.Equal(clk.Now()) || !got.CreatedAt.Equal(r.CreatedAt) {
			t.Fatalf("after update: %+v, %v", got, err)
		}

		// A follower of an older review app must not overwrite a newer record.
		stale := r
		stale.ID, stale.Status = "ra-0", store.ReviewErrored
		if _, err := db.UpdateReviewApp(stale); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("stale update: %v, want ErrNotFound", err)
		}
		if _, err := db.UpdateReviewApp(store.ReviewApp{PR: 99, ID: "ra-9"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of an unknown PR: %v, want ErrNotFound", err)
		}

		deleted, err := db.DeleteReviewApp(7, "ra-1", "U2")
		if err != nil || deleted == nil || deleted.Status != store.ReviewDeleted || deleted.DeletedBy != "U2" {
			t.Fatalf("delete: %+v, %v", deleted, err)
		}
		// Deleting a review app Devy never made is still audited.
		if none, err := db.DeleteReviewApp(8, "ra-9", "U3"); err != nil || none != nil {
			t.Fatalf("delete unrecorded: %+v, %v", none, err)
		}

		log, err := db.AuditLog(0, "reviewapp.created", "reviewapp.deleted")
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ action, actor, subject, id string }{
			{"reviewapp.deleted", "U3", "PR #8", "ra-9"},
			{"reviewapp.deleted", "U2", "PR #7", "ra-1"},
			{"reviewapp.created", "U1", "PR #7", "ra-1"},
		}
		if len(log) != len(want) {
			t.Fatalf("audit = %+v, want %d entries", log, len(want))
		}
		for i, w := range want {
			e := log[i]
			if e.Action != w.action || e.Actor != w.actor || e.Subject != w.subject || e.Detail["review_app"] != w.id {
				t.Errorf("audit[%d] = %+v, want %+v", i, e, w)
			}
		}
	}},
	{"a newer review app replaces the PR's record", func(t *testing.T, e *env) {
		for _, id := range []string{"ra-1", "ra-2"} {
			if _, err := e.db.CreateReviewApp(store.ReviewApp{PR: 7, ID: id, Status: store.ReviewPending}); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := e.db.ReviewApp(7); got.ID != "ra-2" {
			t.Fatalf("record = %+v, want ra-2", got)
		}
	}},
	{"building review apps are listed", func(t *testing.T, e *env) {
		apps := []store.ReviewApp{
			{PR: 1, ID: "a", Status: store.ReviewPending},
			{PR: 2, ID: "b", Status: store.ReviewCreating},
			{PR: 3, ID: "c", Status: store.ReviewCreated},
			{PR: 4, ID: "d", Status: store.ReviewCreating, GaveUpAt: e.clk.Now()},
		}
		for _, r := range apps {
			if _, err := e.db.CreateReviewApp(r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := e.db.ReviewAppsBuilding()
		if err != nil || len(got) != 2 || got[0].PR != 1 || got[1].PR != 2 {
			t.Fatalf("building = %+v, %v; want PRs 1 and 2", got, err)
		}
	}},
	{"incomplete records are refused", func(t *testing.T, e *env) {
		for _, r := range []store.ReviewApp{{PR: 0, ID: "x"}, {PR: 3}} {
			if _, err := e.db.CreateReviewApp(r); err == nil {
				t.Errorf("CreateReviewApp(%+v) succeeded", r)
			}
		}
		if log, _ := e.db.AuditLog(0); len(log) != 0 {
			t.Errorf("refused records were audited: %+v", log)
		}
	}},
	{"PR threads", func(t *testing.T, e *env) {
		if th, err := e.db.PRThread(7); err != nil || th != nil {
			t.Fatalf("unknown thread = %+v, %v; want nil", th, err)
		}
		if err := e.db.SetPRThread(7, "C1", "1700000000.000100"); err != nil {
			t.Fatal(err)
		}
		th, err := e.db.PRThread(7)
		if err != nil || th == nil || *th != (store.Thread{Channel: "C1", TS: "1700000000.000100"}) {
			t.Fatalf("thread = %+v, %v", th, err)
		}
		if err := e.db.SetPRThread(7, "C2", "1.5"); err != nil {
			t.Fatal(err)
		}
		if th, _ := e.db.PRThread(7); th.TS != "1.5" {
			t.Fatalf("replaced thread = %+v", th)
		}
		if err := e.db.SetPRThread(7, "", "1.2"); err == nil {
			t.Error("a thread without a channel was stored")
		}
	}},
}
