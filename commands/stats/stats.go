// Package stats turns Devy's records into the four DORA keys: deployment
// frequency, lead time for changes, change-failure rate and time to restore.
// It answers `/deploy stats [7d|30d|90d]`, draws the weekly series as a
// chart, and builds the weekly digest. It reads records through Source and
// knows nothing of the store that keeps them.
//
// Bands (elite, high, medium, low) follow the performance-cluster table of
// the 2023 Accelerate State of DevOps Report (DORA, Google Cloud, "How do you
// compare?"):
//
//	        deployment frequency          lead time         change failure  recovery time
//	elite   on demand (many a day)        < one day         5%              < one hour
//	high    once a day .. once a week     one day .. week   10%             < one day
//	medium  once a week .. once a month   week .. month     15%             one day .. week
//	low     (the 2023 low cluster overlaps medium on frequency and lead time,
//	        with 64% failures and one to six months to recover)
//
// Devy reads each row as a threshold and calls anything slower than medium
// low; see band.go for the exact comparisons at the boundaries.
package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// Outcome is how a production promotion ended.
type Outcome string

// Outcomes a promotion can end with. Only Succeeded promotions changed
// production, so only they count as deployments.
const (
	Succeeded Outcome = "succeeded"
	Failed    Outcome = "failed"
	Cancelled Outcome = "cancelled"
)

// Promotion is one production promotion that finished.
type Promotion struct {
	Number     uint64 // the promotion request's number, as people see it (#12)
	FinishedAt time.Time
	Outcome    Outcome
	Release    string // what shipped, as people know it ("shop-staging v42"); untrusted text
	// CommitAuthorDates are the author dates of the commits the promotion
	// shipped. Nil means the record predates commit data and has no lead
	// time; an empty, non-nil slice means it shipped no new commit.
	CommitAuthorDates []time.Time
}

// Incident is one incident, open or resolved.
type Incident struct {
	Number     uint64
	Title      string // untrusted text
	OpenedAt   time.Time
	ResolvedAt time.Time // zero while open
	// SuspectPromotion is the promotion the incident was tied to, if any
	// (0: none). It counts that promotion as a change failure even when the
	// incident was opened after DEVY_SUSPECT_WINDOW.
	SuspectPromotion uint64
}

// Open reports whether the incident was still open at t.
func (i Incident) Open(t time.Time) bool {
	return i.OpenedAt.Before(t) && (i.ResolvedAt.IsZero() || !i.ResolvedAt.Before(t))
}

// CriticalAlert is a critical signal (a Sentry event alert, a critical
// metric alert, an Alertmanager alert) that points at what shipped before it.
type CriticalAlert struct {
	At time.Time
}

// Source reads the records the keys are computed from. Each method returns
// what touches [from, to); the store implements it.
type Source interface {
	// Promotions returns production promotions that finished in [from, to),
	// whatever their outcome.
	Promotions(ctx context.Context, from, to time.Time) ([]Promotion, error)
	// Incidents returns incidents opened before to that were open at from or
	// later: resolved at or after from, or still open.
	Incidents(ctx context.Context, from, to time.Time) ([]Incident, error)
	// CriticalAlerts returns critical alerts raised in [from, to).
	CriticalAlerts(ctx context.Context, from, to time.Time) ([]CriticalAlert, error)
}

// History is the records of a stretch of time, as Source returned them.
type History struct {
	Promotions []Promotion
	Incidents  []Incident
	Alerts     []CriticalAlert
}

// Period is how many calendar days the keys look back over.
type Period int

// The periods /deploy stats offers.
const (
	Week    Period = 7
	Month   Period = 30
	Quarter Period = 90
)

func (p Period) String() string { return fmt.Sprintf("%dd", int(p)) }

// ParsePeriod reads the argument of /deploy stats; none means 30 days.
func ParsePeriod(args []string) (Period, error) {
	if len(args) == 0 {
		return Month, nil
	}
	if len(args) == 1 {
		for _, p := range [...]Period{Week, Month, Quarter} {
			if strings.EqualFold(args[0], p.String()) {
				return p, nil
			}
		}
	}
	return 0, commands.Userf("`/deploy stats` takes 7d, 30d or 90d (30d when left out), not `%s`.", escape(strings.Join(args, " ")))
}

// Window is the current period and the one of the same length before it,
// both counted in calendar days in the team's time zone: 30 days before
// 09:00 is 09:00 on that date, whatever daylight saving did in between.
type Window struct {
	Period   Period
	PrevFrom time.Time // start of the previous period
	From     time.Time // start of the current period, end of the previous
	To       time.Time // now
}

// WindowAt is the window of period p ending at now, in loc.
func WindowAt(p Period, now time.Time, loc *time.Location) Window {
	now = now.In(loc)
	return Window{
		Period:   p,
		PrevFrom: now.AddDate(0, 0, -2*int(p)),
		From:     now.AddDate(0, 0, -int(p)),
		To:       now,
	}
}

// Load reads what the window's keys need: everything since the previous
// period began. A promotion's failure signals come after it, so nothing
// older is needed.
func Load(ctx context.Context, src Source, w Window) (History, error) {
	var h History
	var err error
	if h.Promotions, err = src.Promotions(ctx, w.PrevFrom, w.To); err != nil {
		return History{}, fmt.Errorf("stats: read promotions since %s: %w", w.PrevFrom.Format(time.RFC3339), err)
	}
	if h.Incidents, err = src.Incidents(ctx, w.PrevFrom, w.To); err != nil {
		return History{}, fmt.Errorf("stats: read incidents since %s: %w", w.PrevFrom.Format(time.RFC3339), err)
	}
	if h.Alerts, err = src.CriticalAlerts(ctx, w.PrevFrom, w.To); err != nil {
		return History{}, fmt.Errorf("stats: read critical alerts since %s: %w", w.PrevFrom.Format(time.RFC3339), err)
	}
	return h, nil
}

// escape makes outside text safe inside mrkdwn: Slack reads &, < and > as
// markup, so an unescaped "<!channel>" in a title would ping everyone.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
