package stats

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("load Europe/Berlin: %v", err)
	}
	return loc
}

// authored returns author dates the given spans before shipped.
func authored(shipped time.Time, before ...time.Duration) []time.Time {
	out := []time.Time{}
	for _, b := range before {
		out = append(out, shipped.Add(-b))
	}
	return out
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Period
		err  string
	}{
		{"default", nil, Month, ""},
		{"week", []string{"7d"}, Week, ""},
		{"upper case", []string{"30D"}, Month, ""},
		{"quarter", []string{"90d"}, Quarter, ""},
		{"years", []string{"5y"}, 0, "`/deploy stats` takes 7d, 30d or 90d (30d when left out), not `5y`."},
		{"two", []string{"7d", "30d"}, 0, "`/deploy stats` takes 7d, 30d or 90d (30d when left out), not `7d 30d`."},
		{"markup", []string{"<!channel>"}, 0, "`/deploy stats` takes 7d, 30d or 90d (30d when left out), not `&lt;!channel&gt;`."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePeriod(tt.args)
			if tt.err != "" {
				var ue *commands.UserError
				if !errors.As(err, &ue) || ue.Msg != tt.err {
					t.Fatalf("error = %v, want user error %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePeriod(%q) = %v, %v; want %v", tt.args, got, err, tt.want)
			}
		})
	}
}

func TestComputeKeys(t *testing.T) {
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	window := 2 * time.Hour
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name          string
		h             History
		period        Period
		cur, prev     Keys // only the figures compared below
		curLeadNote   string
		wantCurLead   LeadTime
		wantFailures  [2]int
		wantRestored  [2]int
		wantRestore   [2]time.Duration
		wantOpenAtEnd [2]int
	}{
		{
			name:   "no data",
			period: Month,
			cur:    Keys{Frequency: Low},
			prev:   Keys{Frequency: Low},
		},
		{
			name:   "one promotion",
			period: Month,
			h: History{Promotions: []Promotion{
				{Number: 1, FinishedAt: ago(48 * time.Hour), Outcome: Succeeded, CommitAuthorDates: authored(ago(48*time.Hour), 5*time.Hour, 3*time.Hour)},
			}},
			cur:         Keys{Promotions: 1, Frequency: Medium, ChangeFailure: Elite},
			prev:        Keys{Frequency: Low},
			wantCurLead: LeadTime{Median: 4 * time.Hour, P90: 5 * time.Hour, Commits: 2, WithData: 1, Band: Elite},
		},
		{
			name:   "failed and cancelled promotions changed nothing",
			period: Week,
			h: History{Promotions: []Promotion{
				{Number: 1, FinishedAt: ago(time.Hour), Outcome: Failed},
				{Number: 2, FinishedAt: ago(2 * time.Hour), Outcome: Cancelled},
			}},
			cur:  Keys{Frequency: Low},
			prev: Keys{Frequency: Low},
		},
		{
			name:   "incident spanning two periods counts where it was resolved",
			period: Week,
			h: History{Incidents: []Incident{
				{Number: 7, OpenedAt: ago(7*day + 2*time.Hour), ResolvedAt: ago(7*day - 3*time.Hour)},
			}},
			cur:           Keys{Frequency: Low, Restore: High},
			prev:          Keys{Frequency: Low},
			wantRestored:  [2]int{1, 0},
			wantRestore:   [2]time.Duration{5 * time.Hour, 0},
			wantOpenAtEnd: [2]int{0, 1},
		},
		{
			name:   "open incident is not restored yet",
			period: Week,
			h: History{Incidents: []Incident{
				{Number: 8, OpenedAt: ago(3 * time.Hour)},
			}},
			cur:           Keys{Frequency: Low},
			prev:          Keys{Frequency: Low},
			wantOpenAtEnd: [2]int{1, 0},
		},
		{
			name:   "change failures: alert in window, incident after it, named suspect",
			period: Week,
			h: History{
				Promotions: []Promotion{
					{Number: 1, FinishedAt: ago(6 * day), Outcome: Succeeded},
					{Number: 2, FinishedAt: ago(5 * day), Outcome: Succeeded},
					{Number: 3, FinishedAt: ago(4 * day), Outcome: Succeeded},
					{Number: 4, FinishedAt: ago(3 * day), Outcome: Succeeded},
					{Number: 5, FinishedAt: ago(9 * day), Outcome: Succeeded},
				},
				Alerts: []CriticalAlert{{At: ago(6*day - window)}}, // #1, at the window's edge
				Incidents: []Incident{
					{Number: 1, OpenedAt: ago(5*day - window - time.Minute), ResolvedAt: ago(4 * day)}, // #2: too late
					{Number: 2, OpenedAt: ago(2 * day), ResolvedAt: ago(2*day - 30*time.Minute), SuspectPromotion: 3},
					{Number: 3, OpenedAt: ago(9*day - time.Hour), ResolvedAt: ago(8 * day)}, // #5, previous week
				},
			},
			cur:          Keys{Promotions: 4, Frequency: High, ChangeFailure: Low, Restore: High},
			prev:         Keys{Promotions: 1, Frequency: High, ChangeFailure: Low, Restore: High},
			curLeadNote:  "No lead time for these 4 promotions: they predate commit data.",
			wantCurLead:  LeadTime{Without: 4},
			wantFailures: [2]int{2, 1},
			wantRestored: [2]int{2, 1},
			// (1d - 2h 1m) and 30m: the mean of the two middle ones.
			wantRestore: [2]time.Duration{(22*time.Hour - time.Minute + 30*time.Minute) / 2, 23 * time.Hour},
		},
		{
			name:   "lead time from the promotions that have commit data",
			period: Month,
			h: History{Promotions: []Promotion{
				{Number: 1, FinishedAt: ago(20 * day), Outcome: Succeeded},
				{Number: 2, FinishedAt: ago(19 * day), Outcome: Succeeded},
				{Number: 3, FinishedAt: ago(3 * day), Outcome: Succeeded, CommitAuthorDates: authored(ago(3*day), 2*day)},
				{Number: 4, FinishedAt: ago(2 * day), Outcome: Succeeded, CommitAuthorDates: authored(ago(2*day), 3*day, -time.Hour)},
				{Number: 5, FinishedAt: ago(day), Outcome: Succeeded, CommitAuthorDates: []time.Time{}},
			}},
			cur:         Keys{Promotions: 5, Frequency: High, ChangeFailure: Elite},
			prev:        Keys{Frequency: Low},
			curLeadNote: "Lead time from 3 of 5 promotions; older ones predate commit data.",
			// 0 (authored after shipping), 2d, 3d.
			wantCurLead: LeadTime{Median: 2 * day, P90: 3 * day, Commits: 3, WithData: 3, Without: 2, Band: High},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute(tt.h, tt.period, now, time.UTC, window)
			for i, pair := range []struct {
				name      string
				got, want Keys
			}{{"current", r.Current, tt.cur}, {"previous", r.Previous, tt.prev}} {
				g, w := pair.got, pair.want
				if g.Promotions != w.Promotions || g.Frequency != w.Frequency || g.ChangeFailure != w.ChangeFailure || g.Restore != w.Restore {
					t.Errorf("%s: promotions %d %v, failure band %v, restore band %v; want %d %v, %v, %v", pair.name,
						g.Promotions, g.Frequency, g.ChangeFailure, g.Restore, w.Promotions, w.Frequency, w.ChangeFailure, w.Restore)
				}
				if g.Failures != tt.wantFailures[i] || g.Restored != tt.wantRestored[i] || g.RestoreTime != tt.wantRestore[i] || g.OpenAtEnd != tt.wantOpenAtEnd[i] {
					t.Errorf("%s: failures %d, restored %d in %v, open at end %d; want %d, %d in %v, %d", pair.name,
						g.Failures, g.Restored, g.RestoreTime, g.OpenAtEnd, tt.wantFailures[i], tt.wantRestored[i], tt.wantRestore[i], tt.wantOpenAtEnd[i])
				}
			}
			if r.Current.Lead != tt.wantCurLead {
				t.Errorf("current lead time = %+v, want %+v", r.Current.Lead, tt.wantCurLead)
			}
			if got := leadNote(r.Current); got != tt.curLeadNote {
				t.Errorf("lead note = %q, want %q", got, tt.curLeadNote)
			}
		})
	}
}

// The previous period starts where the current one does, at the same wall
// clock time whatever daylight saving did in between, and weeks start on
// Monday at midnight local time.
func TestComputeAcrossDaylightSaving(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name      string
		now       time.Time
		wantHours float64 // length of the current week
		inside    time.Time
		outside   time.Time
	}{
		{
			// Clocks go forward on Sunday 30 March 2025.
			name:      "spring",
			now:       time.Date(2025, 3, 31, 9, 0, 0, 0, loc),
			wantHours: 167,
			inside:    time.Date(2025, 3, 24, 9, 0, 0, 0, loc),
			outside:   time.Date(2025, 3, 24, 8, 59, 0, 0, loc),
		},
		{
			// Clocks go back on Sunday 26 October 2025.
			name:      "autumn",
			now:       time.Date(2025, 10, 27, 9, 0, 0, 0, loc),
			wantHours: 169,
			inside:    time.Date(2025, 10, 20, 9, 0, 0, 0, loc),
			outside:   time.Date(2025, 10, 20, 8, 59, 0, 0, loc),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := History{Promotions: []Promotion{
				{Number: 1, FinishedAt: tt.inside.UTC(), Outcome: Succeeded},
				{Number: 2, FinishedAt: tt.outside.UTC(), Outcome: Succeeded},
			}}
			r := Compute(h, Week, tt.now.UTC(), loc, time.Hour)
			if got := r.To.Sub(r.From).Hours(); got != tt.wantHours {
				t.Errorf("current week lasts %vh, want %vh", got, tt.wantHours)
			}
			if r.Current.Promotions != 1 || r.Previous.Promotions != 1 {
				t.Errorf("promotions now/before = %d/%d, want 1/1", r.Current.Promotions, r.Previous.Promotions)
			}
			if len(r.Weeks) != 2 {
				t.Fatalf("weeks = %d, want 2", len(r.Weeks))
			}
			second := r.Weeks[1].From
			if second.Weekday() != time.Monday || second.Hour() != 0 || second.Minute() != 0 || !second.Equal(tt.now.Add(-9*time.Hour)) {
				t.Errorf("second week starts %v, want Monday 00:00 local", second)
			}
			if got := r.Weeks[0].Promotions + r.Weeks[1].Promotions; got != 1 {
				t.Errorf("weekly series holds %d promotions, want 1", got)
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	hours := func(hs ...int) []time.Duration {
		var out []time.Duration
		for _, h := range hs {
			out = append(out, time.Duration(h)*time.Hour)
		}
		return out
	}
	tests := []struct {
		name        string
		in          []time.Duration
		median, p90 time.Duration
	}{
		{"none", nil, 0, 0},
		{"one", hours(7), 7 * time.Hour, 7 * time.Hour},
		{"two", hours(1, 4), 150 * time.Minute, 4 * time.Hour},
		{"five: p90 is the largest", hours(5, 1, 3, 2, 40), 3 * time.Hour, 40 * time.Hour},
		{"nine: p90 is the largest", hours(1, 2, 3, 4, 5, 6, 7, 8, 90), 5 * time.Hour, 90 * time.Hour},
		{"ten: p90 is the ninth", hours(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 330 * time.Minute, 9 * time.Hour},
		{"eleven: p90 is the tenth", hours(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 6 * time.Hour, 10 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.median {
				t.Errorf("median = %v, want %v", got, tt.median)
			}
			if got := p90(tt.in); got != tt.p90 {
				t.Errorf("p90 = %v, want %v", got, tt.p90)
			}
		})
	}
}

func TestBandsAtBoundaries(t *testing.T) {
	tests := []struct {
		name string
		got  Band
		want Band
	}{
		{"frequency: one a day is elite", frequencyBand(30, 30), Elite},
		{"frequency: just under one a day", frequencyBand(29, 30), High},
		{"frequency: once in 7 days is high", frequencyBand(1, 7), High},
		{"frequency: none in 7 days", frequencyBand(0, 7), Low},
		{"frequency: 13 in 90 days is once a week", frequencyBand(13, 90), High},
		{"frequency: 12 in 90 days", frequencyBand(12, 90), Medium},
		{"frequency: once in 30 days is medium", frequencyBand(1, 30), Medium},
		{"frequency: 3 in 90 days", frequencyBand(3, 90), Medium},
		{"frequency: 2 in 90 days", frequencyBand(2, 90), Low},
		{"lead: no samples", leadTimeBand(0, 0), NoBand},
		{"lead: just under a day", leadTimeBand(day-time.Second, 1), Elite},
		{"lead: a day", leadTimeBand(day, 1), High},
		{"lead: a week", leadTimeBand(week, 1), Medium},
		{"lead: a month", leadTimeBand(month, 1), Low},
		{"failure: no promotions", changeFailureBand(0, 0), NoBand},
		{"failure: 5%", changeFailureBand(1, 20), Elite},
		{"failure: 10%", changeFailureBand(2, 20), High},
		{"failure: 15%", changeFailureBand(3, 20), Medium},
		{"failure: 20%", changeFailureBand(4, 20), Low},
		{"failure: 1 of 1", changeFailureBand(1, 1), Low},
		{"restore: none resolved", restoreBand(0, 0), NoBand},
		{"restore: 59 minutes", restoreBand(59*time.Minute, 1), Elite},
		{"restore: an hour", restoreBand(time.Hour, 1), High},
		{"restore: a day", restoreBand(day, 1), Medium},
		{"restore: a week", restoreBand(week, 1), Low},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("band = %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{20 * time.Second, "under a minute"},
		{12 * time.Minute, "12m"},
		{5*time.Hour + 10*time.Minute, "5h 10m"},
		{3 * time.Hour, "3h"},
		{2*day + 4*time.Hour + 59*time.Minute, "2d 4h"},
		{9 * day, "9d"},
	}
	for _, tt := range tests {
		if got := duration(tt.in); got != tt.want {
			t.Errorf("duration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := strings.Join([]string{percent(1, 3), percent(1, 4), percent(0, 4)}, " "); got != "33.3% 25% 0%" {
		t.Errorf("percents = %q", got)
	}
}
