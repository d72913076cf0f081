package store

import (
	"errors"
	"testing"
	"time"
)

func TestReviewAppLifecycleIsAudited(t *testing.T) {
	db, clk := open(t)
	if _, err := db.ReviewApp(7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before creation: %v, want ErrNotFound", err)
	}
	r, err := db.CreateReviewApp(ReviewApp{PR: 7, ID: "ra-1", Branch: "erin/dark-mode", SHA: "abc", RequestedBy: "U1", Channel: "C1",
		Messages: []MessageRef{{Channel: "C1", TS: "1.1"}}, Status: ReviewPending})
	if err != nil {
		t.Fatal(err)
	}
	if !r.CreatedAt.Equal(clk.now()) {
		t.Errorf("CreatedAt = %v, want the store's clock", r.CreatedAt)
	}

	clk.add(time.Minute)
	r.Status, r.WebURL = ReviewCreated, "https://shop-pr-7.herokuapp.com/"
	if _, err := db.UpdateReviewApp(r); err != nil {
		t.Fatal(err)
	}
	got, err := db.ReviewApp(7)
	if err != nil || got.Status != ReviewCreated || got.WebURL == "" || len(got.Messages) != 1 || !got.UpdatedAt.Equal(clk.now()) {
		t.Fatalf("after update: %+v, %v", got, err)
	}

	// A follower of an older review app must not overwrite a newer record.
	stale := r
	stale.ID, stale.Status = "ra-0", ReviewErrored
	if _, err := db.UpdateReviewApp(stale); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stale update: %v, want ErrNotFound", err)
	}

	deleted, err := db.DeleteReviewApp(7, "ra-1", "U2")
	if err != nil || deleted == nil || deleted.Status != ReviewDeleted || deleted.DeletedBy != "U2" {
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
}

func TestCreateReviewAppRefusesIncompleteRecords(t *testing.T) {
	db, _ := open(t)
	for _, r := range []ReviewApp{{PR: 0, ID: "x"}, {PR: 3}} {
		if _, err := db.CreateReviewApp(r); err == nil {
			t.Errorf("CreateReviewApp(%+v) succeeded", r)
		}
	}
	if log, _ := db.AuditLog(0); len(log) != 0 {
		t.Errorf("refused records were audited: %+v", log)
	}
}

func TestPRThread(t *testing.T) {
	db, _ := open(t)
	if th, err := db.PRThread(7); err != nil || th != nil {
		t.Fatalf("unknown thread = %+v, %v; want nil", th, err)
	}
	if err := db.SetPRThread(7, "C1", "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	th, err := db.PRThread(7)
	if err != nil || th == nil || *th != (Thread{Channel: "C1", TS: "1700000000.000100"}) {
		t.Fatalf("thread = %+v, %v", th, err)
	}
	if err := db.SetPRThread(7, "", "1.2"); err == nil {
		t.Error("a thread without a channel was stored")
	}
}
