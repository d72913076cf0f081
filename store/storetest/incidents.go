package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/devy-chatops/devy/store"
)

func openIncident(t *testing.T, e *env, title string) store.Incident {
	t.Helper()
	inc, err := e.db.OpenIncident(store.Incident{Title: title, Severity: "SEV2", Commander: "U1", OpenedBy: "U1", OpenedIn: "C0CRIT"}, "SEV2 opened: "+title)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

var incidentCases = []testCase{
	{"one person at a time files a postmortem", func(t *testing.T, e *env) {
		db, c := e.db, e.clk
		inc := openIncident(t, e, "DB down")
		const stale = 2 * time.Minute
		if got, err := db.ClaimPostmortem(inc.Number, "U1", stale); err != nil || got.FilingBy != "U1" || !got.FilingAt.Equal(c.Now()) {
			t.Fatalf("first claim: %+v, %v", got, err)
		}
		if _, err := db.ClaimPostmortem(inc.Number, "U1", stale); !errors.Is(err, store.ErrPostmortemFiling) {
			t.Errorf("the same person's second claim (the form sent twice): %v, want ErrPostmortemFiling", err)
		}
		c.Add(time.Minute)
		if got, err := db.ClaimPostmortem(inc.Number, "U2", stale); !errors.Is(err, store.ErrPostmortemFiling) || got.FilingBy != "U1" {
			t.Errorf("a second person's claim while the first files: %+v, %v; want ErrPostmortemFiling naming U1", got, err)
		}
		c.Add(2 * time.Minute) // the first filer's process died mid-way
		if got, err := db.ClaimPostmortem(inc.Number, "U2", stale); err != nil || got.FilingBy != "U2" {
			t.Fatalf("a claim after a stale one: %+v, %v", got, err)
		}
		saved, err := db.SavePostmortem(inc.Number, store.Postmortem{WrittenBy: "U2", IssueURL: "https://github.test/9", IssueNumber: 9})
		if err != nil || saved.FilingBy != "" {
			t.Fatalf("saving the postmortem kept the claim: %+v, %v", saved, err)
		}
		if got, err := db.ClaimPostmortem(inc.Number, "U3", stale); !errors.Is(err, store.ErrPostmortemFiled) || got.Postmortem == nil || got.Postmortem.IssueURL == "" {
			t.Errorf("a claim on a filed postmortem: %+v, %v; want ErrPostmortemFiled with the filed one", got, err)
		}
	}},
	{"numbers are never reused, even after a restart", func(t *testing.T, e *env) {
		if a, b := openIncident(t, e, "a"), openIncident(t, e, "b"); a.Number != 1 || b.Number != 2 {
			t.Fatalf("numbers %d, %d; want 1, 2", a.Number, b.Number)
		}
		e.reopen(t)
		if c := openIncident(t, e, "c"); c.Number != 3 {
			t.Fatalf("after a restart the next number is %d, want 3", c.Number)
		}
		all, err := e.db.Incidents()
		if err != nil || len(all) != 3 || all[0].Number != 3 || all[2].Title != "a" {
			t.Fatalf("Incidents() = %+v, %v; want 3 newest first", all, err)
		}
	}},
	{"lifecycle is recorded", func(t *testing.T, e *env) {
		db, c := e.db, e.clk
		inc := openIncident(t, e, "DB down")
		if inc.Status != store.IncidentOpen || !inc.OpenedAt.Equal(c.Now()) || !inc.LastEntryAt.Equal(c.Now()) {
			t.Fatalf("opened = %+v", inc)
		}
		if _, err := db.SetIncidentChannel(inc.Number, "C9", "inc-1-db-down"); err != nil {
			t.Fatal(err)
		}
		got, err := db.IncidentByChannel("C9")
		if err != nil || got.Number != inc.Number || got.ChannelName != "inc-1-db-down" {
			t.Fatalf("IncidentByChannel = %+v, %v", got, err)
		}
		if _, err := db.IncidentByChannel("C0OTHER"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a channel of no incident: %v", err)
		}

		c.Add(5 * time.Minute)
		if _, _, err := db.AddTimelineEntry(inc.Number, store.TimelineEntry{Kind: store.EntryUpdate, Actor: "U2", Text: "restarted"}); err != nil {
			t.Fatal(err)
		}
		pin := store.TimelineEntry{Kind: store.EntryPin, Actor: "U3", Text: "look", Ref: "pin:1.2"}
		if _, added, err := db.AddTimelineEntry(inc.Number, pin); err != nil || !added {
			t.Fatalf("first pin: added %v, %v", added, err)
		}
		if _, added, err := db.AddTimelineEntry(inc.Number, pin); err != nil || added {
			t.Fatalf("second pin of the same message: added %v, %v", added, err)
		}
		if inc, err = db.SetIncidentSeverity(inc.Number, "SEV1", "U2", func(was store.Incident) string { return "severity was " + was.Severity }); err != nil || inc.Severity != "SEV1" {
			t.Fatalf("severity: %+v, %v", inc, err)
		}
		if inc, err = db.SetIncidentCommander(inc.Number, "U4", "U1", func(was store.Incident) string { return "commander was " + was.Commander }); err != nil || inc.Commander != "U4" {
			t.Fatalf("commander: %+v, %v", inc, err)
		}
		c.Add(time.Hour)
		if inc, err = db.ResolveIncident(inc.Number, "U4", "patched", "resolved, as the caller says"); err != nil || inc.Status != store.IncidentResolved || inc.ResolvedBy != "U4" {
			t.Fatalf("resolve: %+v, %v", inc, err)
		}
		if !inc.LastEntryAt.Equal(c.Now()) {
			t.Errorf("LastEntryAt = %s, want the resolution's time", inc.LastEntryAt)
		}
		for name, f := range map[string]func() error{
			"resolve twice": func() error { _, err := db.ResolveIncident(inc.Number, "U1", "", "x"); return err },
			"severity":      func() error { _, err := db.SetIncidentSeverity(inc.Number, "SEV3", "U1", say); return err },
			"commander":     func() error { _, err := db.SetIncidentCommander(inc.Number, "U1", "U1", say); return err },
		} {
			if err := f(); !errors.Is(err, store.ErrIncidentResolved) {
				t.Errorf("%s after resolution: %v, want ErrIncidentResolved", name, err)
			}
		}

		tl, err := db.Timeline(inc.Number)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for i, e := range tl {
			kinds = append(kinds, e.Kind)
			if e.Seq != uint64(i+1) {
				t.Errorf("entry %d has seq %d", i, e.Seq)
			}
		}
		want := []string{store.EntryOpened, store.EntryUpdate, store.EntryPin, store.EntrySeverity, store.EntryCommander, store.EntryResolved}
		if len(kinds) != len(want) {
			t.Fatalf("timeline kinds %v, want %v", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("timeline kinds %v, want %v", kinds, want)
			}
		}
		// The sentences are the caller's, made from the incident as it was.
		texts := []string{"SEV2 opened: DB down", "restarted", "look", "severity was SEV2", "commander was U1", "resolved, as the caller says"}
		for i := range texts {
			if tl[i].Text != texts[i] {
				t.Errorf("entry %d text %q, want %q", i, tl[i].Text, texts[i])
			}
		}
		if tl[2].Ref != "pin:1.2" {
			t.Errorf("entries: %+v", tl)
		}

		pm := store.Postmortem{WrittenBy: "U4", WhatHappened: "x", Whys: []string{"a", "b"}, IssueURL: "https://github.test/1", IssueNumber: 1,
			ActionIssues: []store.IssueLink{{Title: "fix", Number: 2, URL: "https://github.test/2"}}}
		if inc, err = db.SavePostmortem(inc.Number, pm); err != nil || inc.Postmortem == nil || inc.Postmortem.WrittenAt.IsZero() {
			t.Fatalf("postmortem: %+v, %v", inc.Postmortem, err)
		}
		if back, _ := db.Incident(inc.Number); back.Postmortem == nil || len(back.Postmortem.Whys) != 2 || back.Postmortem.ActionIssues[0].Number != 2 {
			t.Fatalf("postmortem read back: %+v", back.Postmortem)
		}
		unsent := func(i store.Incident) bool { return i.PostmortemNudgedAt.IsZero() }
		if inc, err = db.MarkNudged(inc.Number, store.NudgePostmortem, c.Now(), unsent); err != nil || !inc.PostmortemNudgedAt.Equal(c.Now()) {
			t.Fatalf("nudge: %+v, %v", inc, err)
		}
		// A second process that read the incident before the first marked
		// it checks again against the stored state, and is refused.
		if _, err := db.MarkNudged(inc.Number, store.NudgePostmortem, c.Now().Add(time.Second), unsent); !errors.Is(err, store.ErrNotDue) {
			t.Errorf("a reminder already recorded was recorded again: %v", err)
		}
		if back, _ := db.Incident(inc.Number); !back.PostmortemNudgedAt.Equal(c.Now()) {
			t.Errorf("refused reminder changed the incident: %v", back.PostmortemNudgedAt)
		}
		if _, err := db.MarkNudged(inc.Number, "shout", c.Now(), func(store.Incident) bool { return true }); err == nil {
			t.Errorf("an unknown nudge kind was accepted")
		}

		audit, _ := db.AuditLog(0)
		var actions []string
		for i := len(audit) - 1; i >= 0; i-- {
			if audit[i].Subject != "incident 1" {
				t.Errorf("audit subject %q", audit[i].Subject)
			}
			actions = append(actions, audit[i].Action)
		}
		wantActions := []string{"incident.opened", "incident.channel", "incident.update", "incident.pin", "incident.severity",
			"incident.commander", "incident.resolved", "incident.postmortem", "incident.nudged"}
		if len(actions) != len(wantActions) {
			t.Fatalf("audit %v, want %v", actions, wantActions)
		}
		for i := range wantActions {
			if actions[i] != wantActions[i] {
				t.Fatalf("audit %v, want %v", actions, wantActions)
			}
		}
	}},
	{"unknown incident", func(t *testing.T, e *env) {
		db := e.db
		if _, err := db.Incident(42); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Incident(42): %v", err)
		}
		if _, err := db.Timeline(42); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Timeline(42): %v", err)
		}
		if _, _, err := db.AddTimelineEntry(42, store.TimelineEntry{Kind: store.EntryUpdate}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddTimelineEntry(42): %v", err)
		}
		if _, err := db.ResolveIncident(42, "U1", "", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ResolveIncident(42): %v", err)
		}
		if _, err := db.SetIncidentChannel(42, "C1", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetIncidentChannel(42): %v", err)
		}
		if log, _ := db.AuditLog(0); len(log) != 0 {
			t.Errorf("refusals were audited: %+v", log)
		}
		if all, err := db.Incidents(); err != nil || len(all) != 0 {
			t.Errorf("Incidents() = %+v, %v", all, err)
		}
	}},
}

// say is wording for changes that are refused before it is used.
func say(store.Incident) string { return "never recorded" }
