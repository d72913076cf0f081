package stats

import (
	"slices"
	"time"
)

// Report is the four keys for a period and the period before it.
type Report struct {
	Window
	SuspectWindow     time.Duration // DEVY_SUSPECT_WINDOW, for saying what a failure is
	Current, Previous Keys
	// Weeks is the current period's weekly series, oldest first: calendar
	// weeks from Monday 00:00 in the team's time zone, the first and last
	// cut to the period.
	Weeks []Keys
	// Span is how far back the current period's oldest record lies from its
	// end; a chart is only worth drawing over more than a week.
	Span time.Duration
}

// Keys are the four DORA keys over [From, To).
type Keys struct {
	From, To time.Time
	Days     int // calendar days the rates are over

	// Deployment frequency: production promotions that succeeded.
	Promotions int
	Frequency  Band

	// Lead time for changes, per commit, from its author date to the
	// promotion that shipped it.
	Lead LeadTime

	// Change failures: promotions followed within the suspect window by an
	// incident or a critical alert, or named as an incident's suspect.
	Failures      int
	ChangeFailure Band

	// Time to restore: incidents resolved in the period, from open to
	// resolved, wherever they began.
	Restored    int
	RestoreTime time.Duration // median
	Restore     Band
	OpenAtEnd   int // incidents still open when the period ended
}

// LeadTime summarises lead times. Promotions recorded before commit data
// existed have none; they are counted apart so that the reply can say so.
type LeadTime struct {
	Median, P90 time.Duration
	Commits     int // samples
	WithData    int // promotions that had commit data
	Without     int // promotions that predate commit data
	Band        Band
}

// ChangeFailureRate is Failures over Promotions, 0 without promotions.
func (k Keys) ChangeFailureRate() float64 {
	if k.Promotions == 0 {
		return 0
	}
	return float64(k.Failures) / float64(k.Promotions)
}

// PerDay is the average number of successful promotions per calendar day.
func (k Keys) PerDay() float64 {
	if k.Days == 0 {
		return 0
	}
	return float64(k.Promotions) / float64(k.Days)
}

// Empty reports whether the period holds nothing at all to show.
func (k Keys) Empty() bool { return k.Promotions == 0 && k.Restored == 0 && k.OpenAtEnd == 0 }

// Compute works out the keys of period p ending at now, with the previous
// period beside it. window is DEVY_SUSPECT_WINDOW.
func Compute(h History, p Period, now time.Time, loc *time.Location, window time.Duration) Report {
	w := WindowAt(p, now, loc)
	r := Report{
		Window:        w,
		SuspectWindow: window,
		Current:       keys(h, w.From, w.To, int(p), window),
		Previous:      keys(h, w.PrevFrom, w.From, int(p), window),
	}
	for start := mondayBefore(w.From); start.Before(w.To); start = start.AddDate(0, 0, 7) {
		from, to := later(start, w.From), earlier(start.AddDate(0, 0, 7), w.To)
		r.Weeks = append(r.Weeks, keys(h, from, to, calendarDays(from, to), window))
	}
	oldest := w.To
	for _, pr := range h.Promotions {
		if in(pr.FinishedAt, w.From, w.To) && pr.FinishedAt.Before(oldest) {
			oldest = pr.FinishedAt
		}
	}
	for _, inc := range h.Incidents {
		touches := inc.OpenedAt.Before(w.To) && (inc.ResolvedAt.IsZero() || !inc.ResolvedAt.Before(w.From))
		if t := later(inc.OpenedAt, w.From); touches && t.Before(oldest) {
			oldest = t
		}
	}
	r.Span = w.To.Sub(oldest)
	return r
}

func keys(h History, from, to time.Time, days int, window time.Duration) Keys {
	k := Keys{From: from, To: to, Days: days}
	var leads []time.Duration
	for _, p := range h.Promotions {
		if p.Outcome != Succeeded || !in(p.FinishedAt, from, to) {
			continue
		}
		k.Promotions++
		if p.CommitAuthorDates == nil {
			k.Lead.Without++
		} else {
			k.Lead.WithData++
			for _, authored := range p.CommitAuthorDates {
				// An author's clock can run ahead of the promotion; a
				// commit cannot ship before it was written.
				leads = append(leads, max(p.FinishedAt.Sub(authored), 0))
			}
		}
		if failed(p, h, window) {
			k.Failures++
		}
	}
	k.Frequency = frequencyBand(k.Promotions, days)
	k.Lead.Commits = len(leads)
	k.Lead.Median, k.Lead.P90 = median(leads), p90(leads)
	k.Lead.Band = leadTimeBand(k.Lead.Median, len(leads))
	k.ChangeFailure = changeFailureBand(k.Failures, k.Promotions)

	var restores []time.Duration
	for _, inc := range h.Incidents {
		if !inc.ResolvedAt.IsZero() && in(inc.ResolvedAt, from, to) {
			restores = append(restores, max(inc.ResolvedAt.Sub(inc.OpenedAt), 0))
		}
		if inc.Open(to) {
			k.OpenAtEnd++
		}
	}
	k.Restored = len(restores)
	k.RestoreTime = median(restores)
	k.Restore = restoreBand(k.RestoreTime, len(restores))
	return k
}

// failed reports whether a promotion was followed within window by an
// incident or a critical alert, or named by an incident as its suspect.
func failed(p Promotion, h History, window time.Duration) bool {
	end := p.FinishedAt.Add(window)
	for _, inc := range h.Incidents {
		if inc.SuspectPromotion != 0 && inc.SuspectPromotion == p.Number {
			return true
		}
		if !inc.OpenedAt.Before(p.FinishedAt) && !inc.OpenedAt.After(end) {
			return true
		}
	}
	for _, a := range h.Alerts {
		if !a.At.Before(p.FinishedAt) && !a.At.After(end) {
			return true
		}
	}
	return false
}

// median is the middle sample, or the mean of the two middle ones.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1] + (s[n/2]-s[n/2-1])/2
}

// p90 is the 90th percentile by nearest rank: the smallest sample that at
// least 90% of samples do not exceed. It is always a real lead time, and
// with fewer than ten samples it is the largest.
func p90(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := (9*len(s) + 9) / 10 // ceil(0.9 n)
	return s[rank-1]
}

func in(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// mondayBefore is 00:00 on the Monday of t's week, in t's location.
func mondayBefore(t time.Time) time.Time {
	y, m, d := t.Date()
	back := (int(t.Weekday()) + 6) % 7 // days since Monday
	return time.Date(y, m, d-back, 0, 0, 0, 0, t.Location())
}

// calendarDays counts the calendar days [from, to) touches, at least one,
// so that a partial week's rate is over the days it covers.
func calendarDays(from, to time.Time) int {
	fy, fm, fd := from.Date()
	ty, tm, td := to.Date()
	a := time.Date(fy, fm, fd, 0, 0, 0, 0, time.UTC)
	b := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	n := int(b.Sub(a) / day)
	if to.After(time.Date(ty, tm, td, 0, 0, 0, 0, to.Location())) {
		n++
	}
	return max(n, 1)
}
