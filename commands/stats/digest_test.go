package stats

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
)

func TestParseSchedule(t *testing.T) {
	bad := func(s string) string {
		return `DEVY_DIGEST: want a weekday and a 24-hour time such as "mon 09:00", or "off"; got "` + s + `"`
	}
	tests := []struct {
		in   string
		want Schedule
		err  string
	}{
		{in: "mon 09:00", want: Schedule{Weekday: time.Monday, Hour: 9}},
		{in: "  FRI   17:30 ", want: Schedule{Weekday: time.Friday, Hour: 17, Minute: 30}},
		{in: "Sunday 0:05", want: Schedule{Weekday: time.Sunday, Minute: 5}},
		{in: "off", want: Schedule{Off: true}},
		{in: "OFF", want: Schedule{Off: true}},
		{in: "", err: bad("")},
		{in: "mon", err: bad("mon")},
		{in: "mon 9", err: bad("mon 9")},
		{in: "mon 24:00", err: bad("mon 24:00")},
		{in: "mon 09:60", err: bad("mon 09:60")},
		{in: "mon 09:5", err: bad("mon 09:5")},
		{in: "funday 09:00", err: bad("funday 09:00")},
		{in: "mon 09:00 pm", err: bad("mon 09:00 pm")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSchedule(tt.in, time.UTC)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			tt.want.Location = time.UTC
			if err != nil || got != tt.want {
				t.Fatalf("ParseSchedule(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestScheduleSlotAndDue(t *testing.T) {
	loc := berlin(t)
	mon9, err := ParseSchedule("mon 09:00", loc)
	if err != nil {
		t.Fatal(err)
	}
	sun230, err := ParseSchedule("sun 02:30", loc)
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
	tests := []struct {
		name     string
		s        Schedule
		now      time.Time
		last     time.Time
		wantSlot time.Time
		wantDue  bool
		wantNext time.Time
	}{
		{"at the slot", mon9, at(2025, 6, 30, 9, 0), time.Time{}, at(2025, 6, 30, 9, 0), true, at(2025, 7, 7, 9, 0)},
		{"a minute before", mon9, at(2025, 6, 30, 8, 59), time.Time{}, at(2025, 6, 23, 9, 0), false, at(2025, 6, 30, 9, 0)},
		{"a day late still posts", mon9, at(2025, 7, 1, 9, 0), time.Time{}, at(2025, 6, 30, 9, 0), true, at(2025, 7, 7, 9, 0)},
		{"more than a day late skips", mon9, at(2025, 7, 1, 9, 1), time.Time{}, at(2025, 6, 30, 9, 0), false, at(2025, 7, 7, 9, 0)},
		{"already posted", mon9, at(2025, 6, 30, 10, 0), at(2025, 6, 30, 9, 0), at(2025, 6, 30, 9, 0), false, at(2025, 7, 7, 9, 0)},
		{"posted last week", mon9, at(2025, 6, 30, 10, 0), at(2025, 6, 23, 9, 0), at(2025, 6, 30, 9, 0), true, at(2025, 7, 7, 9, 0)},
		// Clocks go forward on 30 March 2025: 09:00 is 09:00 local on both sides.
		{"after spring forward", mon9, at(2025, 3, 31, 9, 0), time.Time{}, at(2025, 3, 31, 9, 0), true, at(2025, 4, 7, 9, 0)},
		{"spring forward, the week's slot", mon9, at(2025, 3, 30, 12, 0), time.Time{}, at(2025, 3, 24, 9, 0), false, at(2025, 3, 31, 9, 0)},
		// Clocks go back on 26 October 2025.
		{"after fall back", mon9, at(2025, 10, 27, 9, 30), time.Time{}, at(2025, 10, 27, 9, 0), true, at(2025, 11, 3, 9, 0)},
		// 02:30 does not exist on 30 March 2025 in Berlin: the slot moves on by the gap.
		{"a skipped time", sun230, at(2025, 3, 30, 4, 0), time.Time{}, time.Date(2025, 3, 30, 1, 30, 0, 0, time.UTC), true, at(2025, 4, 6, 2, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Slot(tt.now); !got.Equal(tt.wantSlot) {
				t.Errorf("Slot = %v, want %v", got, tt.wantSlot)
			}
			if slot, due := tt.s.Due(tt.last, tt.now); due != tt.wantDue || (due && !slot.Equal(tt.wantSlot)) {
				t.Errorf("Due = %v, %v; want %v, %v", slot, due, tt.wantSlot, tt.wantDue)
			}
			if got := tt.s.Next(tt.now); !got.Equal(tt.wantNext) {
				t.Errorf("Next = %v, want %v", got, tt.wantNext)
			}
		})
	}
	off, _ := ParseSchedule("off", loc)
	if _, due := off.Due(time.Time{}, at(2025, 6, 30, 9, 0)); due {
		t.Error("an off schedule is due")
	}
}

// slots is a SlotStore shared by replicas, as the store would be.
type slots struct {
	mu    sync.Mutex // guards taken
	taken map[string]bool
}

func (s *slots) TakeSlot(key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken[key] {
		return false, nil
	}
	s.taken[key] = true
	return true, nil
}

type digestSource struct {
	fakeSource
	items []ActionItem
}

func (d *digestSource) OpenActionItems(context.Context) ([]ActionItem, error) { return d.items, nil }

type lockedPoster struct {
	mu sync.Mutex // guards fakePoster
	fakePoster
}

func (l *lockedPoster) Post(ctx context.Context, channel, thread string, m commands.Message) (commands.Posted, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fakePoster.Post(ctx, channel, thread, m)
}

func TestDigestPostsOncePerSlotAcrossReplicas(t *testing.T) {
	sched, err := ParseSchedule("mon 09:00", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	store := &slots{taken: map[string]bool{}}
	poster := &lockedPoster{}
	src := &digestSource{}
	replicas := []*Digester{
		NewDigester(DigestDeps{Schedule: sched, Source: src, Poster: poster, Slots: store, Channel: "devy", SuspectWindow: time.Hour}),
		NewDigester(DigestDeps{Schedule: sched, Source: src, Poster: poster, Slots: store, Channel: "devy", SuspectWindow: time.Hour}),
	}
	ticks := []time.Time{
		time.Date(2025, 6, 30, 9, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 30, 9, 1, 0, 0, time.UTC),
		time.Date(2025, 6, 30, 15, 0, 0, 0, time.UTC),
	}
	var wg sync.WaitGroup
	for _, r := range replicas {
		for _, now := range ticks {
			wg.Go(func() {
				if _, err := r.Tick(t.Context(), now); err != nil {
					t.Errorf("Tick(%v): %v", now, err)
				}
			})
		}
	}
	wg.Wait()
	if len(poster.posts) != 1 || poster.posts[0].channel != "devy" {
		t.Fatalf("posted %d digests, want one in devy", len(poster.posts))
	}
	// Back more than a day after the next slot: that week is skipped.
	if posted, err := replicas[0].Tick(t.Context(), time.Date(2025, 7, 8, 9, 1, 0, 0, time.UTC)); posted || err != nil {
		t.Fatalf("late tick posted %v, %v; want skipped", posted, err)
	}
}

func TestDigestMessage(t *testing.T) {
	now := time.Date(2025, 6, 30, 9, 0, 0, 0, time.UTC)
	h := History{
		Promotions: []Promotion{
			{Number: 12, FinishedAt: now.Add(-2 * day), Outcome: Succeeded, Release: "shop-staging v42", CommitAuthorDates: authored(now.Add(-2*day), 2*time.Hour)},
			{Number: 13, FinishedAt: now.Add(-day), Outcome: Failed, Release: "shop-staging <v43>"},
			{Number: 11, FinishedAt: now.Add(-9 * day), Outcome: Succeeded},
		},
		Incidents: []Incident{
			{Number: 4, Title: "db down", OpenedAt: now.Add(-2*day + time.Hour), ResolvedAt: now.Add(-2*day + 2*time.Hour)},
			{Number: 5, Title: "slow & sad", OpenedAt: now.Add(-3 * time.Hour)},
		},
	}
	items := []ActionItem{{Incident: 4, Title: "Add an index", URL: "https://github.com/acme/shop/issues/9"}, {Incident: 3, Title: "Alert on <lag>"}}
	m := Digest(Compute(h, Week, now, time.UTC, 2*time.Hour), h, items)
	want := `# Weekly digest, 23 Jun – 30 Jun
• *Deployment frequency*: 1 promotion (1 a week) (high); the week before: 1 promotion (1 a week) (high)
• *Lead time for changes*: median 2h, p90 2h over 1 commit (elite); the week before: no commit data (no band)
• *Change-failure rate*: 100% — 1 of 1 promotion (low); the week before: 0% — 0 of 1 promotion (elite)
• *Time to restore*: median 1h over 1 resolved incident (high); the week before: no incidents resolved (no band)
*Promotions this week* (2)
• #12 shop-staging v42 — succeeded Sat 09:00
• #13 shop-staging &lt;v43&gt; — failed Sun 09:00
*Incidents* (2)
• #4 db down — resolved after 1h
• #5 slow &amp; sad — open since Mon 30 Jun 06:00
*Open postmortem action items* (2)
• <https://github.com/acme/shop/issues/9|Add an index> (incident #4)
• Alert on &lt;lag&gt; (incident #3)
  (Bands from DORA's 2023 Accelerate State of DevOps Report. ` + "`/deploy stats 30d`" + ` shows the last 30 days.)`
	if got := text(m); got != want {
		t.Errorf("digest:\n%s\nwant:\n%s", got, want)
	}
	if m.Text != "Weekly digest: 1 promotion, 2 incidents." {
		t.Errorf("text = %q", m.Text)
	}
}

func TestListCutsLongSections(t *testing.T) {
	var lines []string
	for range 40 {
		lines = append(lines, "• "+strings.Repeat("x", 300))
	}
	s := list("Promotions this week", lines, "none")
	if len(s.Text) > sectionMax || !strings.HasSuffix(s.Text, "…and 31 more.") {
		t.Errorf("section is %d characters ending %q", len(s.Text), s.Text[len(s.Text)-20:])
	}
}
