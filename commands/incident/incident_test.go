package incident

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/internal/testclock"
	"github.com/devy-chatops/devy/store"
	"github.com/devy-chatops/devy/store/bolt"
)

func TestIncidentChannelName(t *testing.T) {
	long := strings.Repeat("database connection pool exhausted ", 5)
	tests := []struct {
		name    string
		n       uint64
		title   string
		attempt int
		want    string
	}{
		{"words", 42, "DB down", 0, "inc-42-db-down"},
		{"punctuation and spaces collapse", 1, "  Checkout: 500s on /cart!!  ", 0, "inc-1-checkout-500s-on-cart"},
		{"underscores stay", 3, "worker_queue stuck", 0, "inc-3-worker_queue-stuck"},
		{"accents fold", 4, "Résumé upload façade", 0, "inc-4-resume-upload-facade"},
		{"letters without a base letter fold too", 4, "Ærø Čeština Straße", 0, "inc-4-aero-cestina-strasse"},
		{"Slack markup becomes words", 5, "<@U123|dana> sees &lt;500&gt; on <https://x.test|the shop>", 0, "inc-5-dana-sees-500-on-the-shop"},
		{"no usable characters", 6, "🔥🔥", 0, "inc-6"},
		{"taken: a suffix", 7, "DB down", 1, "inc-7-db-down-2"},
		{"taken again", 7, "DB down", 4, "inc-7-db-down-5"},
		{"long titles are cut", 123, long, 0, ("inc-123-" + strings.ReplaceAll(strings.TrimSpace(long), " ", "-"))[:80]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := incidentChannelName(tc.n, tc.title, tc.attempt)
			if got != tc.want {
				t.Errorf("incidentChannelName(%d, %q, %d) = %q, want %q", tc.n, tc.title, tc.attempt, got, tc.want)
			}
			if len(got) > 80 || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" || strings.HasSuffix(got, "-") {
				t.Errorf("%q breaks Slack's channel name rules", got)
			}
		})
	}
	t.Run("a long title with a suffix still fits", func(t *testing.T) {
		got := incidentChannelName(99999, long, 9)
		if len(got) > 80 || !strings.HasSuffix(got, "-10") {
			t.Errorf("got %q (%d chars)", got, len(got))
		}
	})
}

func TestTitleSimilarity(t *testing.T) {
	tests := []struct {
		a, b   string
		repeat bool
	}{
		{"Database down", "database is down again", true},
		{"Checkout returns 500 errors", "checkout error 500", true},
		{"Payments failing", "Payments failing in EU", true},
		{"Database down", "Checkout slow", false},
		{"Search is slow", "Login is slow", false},
		{"the a of", "the a of", false}, // nothing meaningful in common
	}
	for _, tc := range tests {
		t.Run(tc.a+" / "+tc.b, func(t *testing.T) {
			s := titleSimilarity(tc.a, tc.b)
			if (s >= repeatThreshold) != tc.repeat {
				t.Errorf("similarity = %.2f; want a repeat: %v", s, tc.repeat)
			}
		})
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	all := []store.Incident{
		{Number: 3, Title: "Database down", OpenedAt: now.Add(-24 * time.Hour)},
		{Number: 2, Title: "Database is down", OpenedAt: now.Add(-100 * 24 * time.Hour)}, // too old
		{Number: 1, Title: "Checkout slow", OpenedAt: now.Add(-2 * time.Hour)},
	}
	if got, ok := similarIncident(all, "database down again", now.Add(-90*24*time.Hour)); !ok || got.Number != 3 {
		t.Errorf("similarIncident = #%d, %v; want #3", got.Number, ok)
	}
	if _, ok := similarIncident(all, "Emails bounce", now.Add(-90*24*time.Hour)); ok {
		t.Errorf("an unrelated title was called a repeat")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		20 * time.Second:                "less than a minute",
		45 * time.Minute:                "45 min",
		2 * time.Hour:                   "2h",
		2*time.Hour + 5*time.Minute:     "2h 5m",
		49 * time.Hour:                  "2 days 1h",
		24*time.Hour + 20*time.Minute:   "1 day",
		90*time.Minute + 29*time.Second: "1h 30m",
	} {
		if got := format.Span(d); got != want {
			t.Errorf("format.Span(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestParseOpenAndMentions(t *testing.T) {
	for _, tc := range []struct{ in, sev, title string }{
		{"db --SEV1 down", "SEV1", "db down"},
		{"db down —sev3", "SEV3", "db down"}, // an em dash, as some Slack clients write --
		{"db down –sev1", "SEV1", "db down"}, // an en dash
		{"Checkout — 500s", defaultSeverity, "Checkout — 500s"},
		{"git push --force broke prod", defaultSeverity, "git push --force broke prod"},
		{"-- a dash", defaultSeverity, "-- a dash"},
	} {
		sev, title, err := parseOpen(strings.Fields(tc.in))
		if err != nil || sev != tc.sev || title != tc.title {
			t.Errorf("parseOpen(%q) = %q, %q, %v; want %q, %q", tc.in, sev, title, err, tc.sev, tc.title)
		}
	}
	for _, in := range []string{"--sev4", "—SEV", "--severe"} {
		if _, _, err := parseOpen([]string{"db", in}); err == nil {
			t.Errorf("%s accepted as a severity", in)
		}
	}
	if got := rest("update 42 first line\nsecond  line", 2); got != "first line\nsecond  line" {
		t.Errorf("rest kept %q", got)
	}
}

func TestPostmortemMarkdown(t *testing.T) {
	opened := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	inc := store.Incident{Number: 7, Title: "Checkout &lt;500&gt;", Severity: "SEV1", Status: store.IncidentResolved, Commander: "U2",
		OpenedAt: opened, ResolvedAt: opened.Add(83 * time.Minute), ChannelName: "inc-7-checkout-500"}
	timeline := []store.TimelineEntry{
		{At: opened, Kind: store.EntryOpened, Text: "SEV1 opened by <@U1>: Checkout &lt;500&gt;"},
		{At: opened.Add(10 * time.Minute), Kind: store.EntryUpdate, Text: "see <https://status.test|status page>\nand <#C9|ops>"},
		{At: opened.Add(83 * time.Minute), Kind: store.EntryResolved, Text: "Resolved by <@U2|dana>"},
	}
	pm := store.Postmortem{
		WhatHappened: "Checkout failed.", Impact: "300 orders.", Whys: []string{"A", "B", "", "", ""},
		RootCause: "C", Categories: []string{"tools", "communication"}, ActionItems: []string{"Fix X", "Fix Y"},
		ActionIssues: []store.IssueLink{{Title: "Fix X", Number: 12, URL: "https://github.test/i/12"}},
	}
	md := postmortemMarkdown(inc, timeline, pm, opened.Add(2*time.Hour))
	for _, want := range []string{
		"# Postmortem: incident #7 — Checkout <500>\n",
		"blameless",
		"| Severity | SEV1 |",
		"| Resolved | 2026-11-25 13:23 UTC, after 1h 23m |",
		"| Commander | `@U2` |",
		"## Summary\n\nCheckout failed.\n",
		"## Impact\n\n300 orders.\n",
		"- `2026-11-25 12:00 UTC` **Opened** — SEV1 opened by `@U1`: Checkout <500>\n",
		"- `2026-11-25 12:10 UTC` **Update** — see [status page](https://status.test) and #ops\n",
		"**Resolved** — Resolved by `@dana`",
		"## 5 Whys\n\n1. **Why?** A\n2. **Why?** B\n\n",
		"## Root cause\n\nC\n",
		"## Categories\n\nTools, Communication\n",
		"## The fix\n\n_Not recorded._",
		"- [ ] Fix X — #12\n- [ ] Fix Y\n",
		"## What went well\n\n_Not written._\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	inc.Status = store.IncidentOpen
	if md := postmortemMarkdown(inc, nil, pm, opened.Add(time.Hour)); !strings.Contains(md, "**still open** when this was written") || !strings.Contains(md, "_No entries._") {
		t.Errorf("open incident's Markdown:\n%s", md)
	}
}

func TestValidateForms(t *testing.T) {
	tests := []struct {
		name     string
		validate func(commands.View) map[string]string
		values   map[string][]string
		want     []string // input ids with errors
	}{
		{"open: empty title", validateOpenForm, map[string][]string{"title": {"  "}, "severity": {"SEV2"}}, []string{"title"}},
		{"open: bad severity", validateOpenForm, map[string][]string{"title": {"x"}, "severity": {"SEV9"}}, []string{"severity"}},
		{"open: fine", validateOpenForm, map[string][]string{"title": {"x"}, "severity": {"SEV1"}}, nil},
		{"postmortem: empty", validatePostmortemForm, map[string][]string{}, []string{"categories", "impact", "root_cause", "what", "why1"}},
		{"postmortem: tampered category", validatePostmortemForm, map[string][]string{"what": {"a"}, "impact": {"b"}, "why1": {"c"}, "root_cause": {"d"}, "categories": {"people"}}, []string{"categories"}},
		{"postmortem: too many action items", validatePostmortemForm, map[string][]string{"what": {"a"}, "impact": {"b"}, "why1": {"c"}, "root_cause": {"d"}, "categories": {"tools"}, "actions": {strings.Repeat("x\n", 21)}}, []string{"actions"}},
		{"postmortem: fine", validatePostmortemForm, map[string][]string{"what": {"a"}, "impact": {"b"}, "why1": {"c"}, "root_cause": {"d"}, "categories": {"tools", "process"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.validate(commands.View{Values: tc.values})
			var got []string
			for id, msg := range errs {
				got = append(got, id)
				if !strings.HasSuffix(msg, ".") || strings.Count(msg, ". ") > 1 {
					t.Errorf("%s: %q is not one clear sentence", id, msg)
				}
			}
			if strings.Join(sorted(got), ",") != strings.Join(tc.want, ",") {
				t.Errorf("errors on %v, want %v", sorted(got), tc.want)
			}
		})
	}
	if got := actionItems("- a\n\n * b \n[ ] c\n"); strings.Join(got, "|") != "a|b|c" {
		t.Errorf("actionItems = %q", got)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestNudgeDue(t *testing.T) {
	cfg := Config{QuietAfter: 30 * time.Minute, PostmortemAfter: 48 * time.Hour}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	open := store.Incident{Status: store.IncidentOpen, OpenedAt: t0, LastEntryAt: t0}
	resolved := store.Incident{Status: store.IncidentResolved, OpenedAt: t0, LastEntryAt: t0.Add(time.Hour), ResolvedAt: t0.Add(time.Hour)}
	with := func(inc store.Incident, f func(*store.Incident)) store.Incident { f(&inc); return inc }
	tests := []struct {
		name string
		inc  store.Incident
		now  time.Time
		want string
	}{
		{"open and recently updated", open, t0.Add(29 * time.Minute), ""},
		{"open and quiet for 30 min", open, t0.Add(30 * time.Minute), store.NudgeQuiet},
		{"reminded, still quiet: once per quiet period", with(open, func(i *store.Incident) { i.QuietNudgedAt = t0.Add(30 * time.Minute) }), t0.Add(45 * time.Minute), ""},
		{"reminded, quiet for another period", with(open, func(i *store.Incident) { i.QuietNudgedAt = t0.Add(30 * time.Minute) }), t0.Add(60 * time.Minute), store.NudgeQuiet},
		{"an entry after the reminder restarts the clock", with(open, func(i *store.Incident) {
			i.QuietNudgedAt, i.LastEntryAt = t0.Add(30*time.Minute), t0.Add(50*time.Minute)
		}), t0.Add(70 * time.Minute), ""},
		{"resolved a day ago", resolved, t0.Add(25 * time.Hour), ""},
		{"resolved two days ago without postmortem", resolved, t0.Add(49 * time.Hour), store.NudgePostmortem},
		{"already reminded of the postmortem", with(resolved, func(i *store.Incident) { i.PostmortemNudgedAt = t0.Add(49 * time.Hour) }), t0.Add(100 * time.Hour), ""},
		{"postmortem written", with(resolved, func(i *store.Incident) { i.Postmortem = &store.Postmortem{} }), t0.Add(100 * time.Hour), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nudgeDue(tc.inc, tc.now, cfg); got != tc.want {
				t.Errorf("nudgeDue = %q, want %q", got, tc.want)
			}
		})
	}
}

// posts records what was posted where.
type posts struct {
	mu   sync.Mutex // guards msgs
	msgs []string
}

func (p *posts) Post(ctx context.Context, channel, threadTS string, m commands.Message) (commands.Posted, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, channel+": "+m.Text)
	return commands.Posted{Channel: channel, TS: fmt.Sprint(len(p.msgs))}, nil
}
func (p *posts) Update(ctx context.Context, channel, ts string, m commands.Message) error { return nil }
func (p *posts) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.msgs...)
}

// staleIncidents is a store whose list of incidents was read earlier.
type staleIncidents struct {
	*bolt.DB
	list []store.Incident
}

func (s staleIncidents) Incidents() ([]store.Incident, error) { return s.list, nil }

// TestNudgesFromStoredState runs the reminders against a real store with a
// fake clock, reopening the store in between as a restart would.
func TestNudgesFromStoredState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devy.db")
	clock := testclock.New(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	open := func() (*bolt.DB, *posts, *Desk) {
		db, err := bolt.Open(path, time.Second, bolt.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		p := &posts{}
		return db, p, New(Deps{Store: db, Poster: p, Log: zerolog.Nop()})
	}
	db, p, inc := open()
	a, _ := db.OpenIncident(store.Incident{Title: "A", Severity: "SEV2", Commander: "U1", OpenedBy: "U1"}, "opened")
	db.SetIncidentChannel(a.Number, "C1", "inc-1-a")
	b, _ := db.OpenIncident(store.Incident{Title: "B", Severity: "SEV2", Commander: "U2", OpenedBy: "U2"}, "opened")
	db.SetIncidentChannel(b.Number, "C2", "inc-2-b")

	clock.Add(20 * time.Minute)
	db.AddTimelineEntry(b.Number, store.TimelineEntry{Kind: store.EntryUpdate, Actor: "U2", Text: "x"})
	clock.Add(10 * time.Minute) // A quiet for 30 min, B for 10
	readBefore, _ := db.Incidents()
	if err := inc.Nudge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.all(); len(got) != 1 || !strings.HasPrefix(got[0], "C1: ⏰ <@U1>, incident #1 has had no timeline entry for 30 min") {
		t.Fatalf("posts = %q", got)
	}
	if err := inc.Nudge(context.Background()); err != nil || len(p.all()) != 1 {
		t.Fatalf("a second pass reminded again: %q", p.all())
	}
	// Another Devy process on the same store read the incidents just
	// before this one recorded the reminder: it must not send it again.
	otherPosts := &posts{}
	other := New(Deps{Store: staleIncidents{db, readBefore}, Poster: otherPosts, Log: zerolog.Nop()})
	if err := other.Nudge(context.Background()); err != nil || len(otherPosts.all()) != 0 {
		t.Fatalf("a second process reminded again: %q, %v", otherPosts.all(), err)
	}

	// Restart: the reminder already sent is remembered.
	db.Close()
	db, p, inc = open()
	defer db.Close()
	clock.Add(5 * time.Minute)
	inc.Nudge(context.Background())
	if got := p.all(); len(got) != 0 {
		t.Fatalf("after a restart: %q", got)
	}

	db.ResolveIncident(a.Number, "U1", "", "resolved")
	clock.Add(48 * time.Hour)
	inc.Nudge(context.Background())
	got := strings.Join(p.all(), "\n")
	if !strings.Contains(got, "C1: 📝 <@U1>, incident #1 was resolved 2 days ago and has no postmortem yet") {
		t.Errorf("no postmortem reminder:\n%s", got)
	}
	if !strings.Contains(got, "C2: ⏰ <@U2>, incident #2") {
		t.Errorf("no quiet reminder for the still open incident:\n%s", got)
	}
	n := len(p.all())
	clock.Add(time.Hour)
	inc.Nudge(context.Background())
	if strings.Count(strings.Join(p.all()[n:], "\n"), "postmortem") != 0 {
		t.Errorf("postmortem reminder repeated: %q", p.all()[n:])
	}
	entries, _ := db.AuditLog(0, "incident.nudged")
	if len(entries) < 3 {
		t.Errorf("%d reminders audited, want at least 3", len(entries))
	}
}

// A long incident's timeline is shown within Slack's 50 blocks a message,
// newest entries kept.
func TestShowKeepsALongTimelineWithinSlacksBlockLimit(t *testing.T) {
	db := commandstest.Store(t)
	inc, err := db.OpenIncident(store.Incident{Title: "Long", Severity: "SEV2", Commander: "U1", OpenedBy: "U1"}, "opened")
	if err != nil {
		t.Fatal(err)
	}
	for n := range 1500 {
		db.AddTimelineEntry(inc.Number, store.TimelineEntry{Kind: store.EntryUpdate, Actor: "U1", Text: fmt.Sprintf("update %d: %s", n, strings.Repeat("x", 80))})
	}
	r := commands.NewRouter()
	New(Deps{Store: db, Poster: &posts{}, Log: zerolog.Nop()}).Register(r)
	reply, err := r.Handle(t.Context(), commands.Request{Command: "incident", Text: "show 1", UserID: "U1", ChannelID: "C9"})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, b := range reply.Blocks {
		if s, ok := b.(commands.Section); ok {
			all.WriteString(s.Text)
		}
	}
	if n := len(reply.Blocks); n > 50 {
		t.Fatalf("%d blocks; Slack refuses more than 50", n)
	}
	if text := all.String(); !strings.Contains(text, "update 1499:") || !strings.Contains(text, "earlier entries are not shown") || strings.Contains(text, "update 0:") {
		t.Errorf("the timeline does not keep the newest entries and say the rest are elsewhere")
	}
}
