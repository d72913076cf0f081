package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/commands/stats"
	"github.com/devy-chatops/devy/store"
)

// statsDB is what the DORA keys and the weekly digest need of Devy's
// store; store/bolt and store/pg both provide it.
type statsDB interface {
	Now() time.Time
	Requests(statuses ...string) ([]store.PromotionRequest, error)
	Incidents() ([]store.Incident, error)
	RecordsBetween(kind string, from, to time.Time) ([]store.RecordRow, error)
	TakeSlot(key string) (bool, error)
}

// actionItemMemory is how far back the digest looks for postmortems whose
// action items it lists: Devy does not follow the items' GitHub issues, so
// it shows those of recent postmortems rather than every item ever filed.
const actionItemMemory = 90 * 24 * time.Hour

// storeStats is stats.DigestSource and stats.SlotStore on Devy's store.
// Each method reads every request or incident and keeps those in range:
// a team makes a few thousand promotions a year.
type storeStats struct{ db statsDB }

func newStatsSource(db statsDB) storeStats { return storeStats{db: db} }

// Promotions returns the requests that were promoted and finished in
// [from, to). Requests that never reached Heroku (rejected, cancelled,
// expired) changed nothing, and one whose outcome Devy lost (unknown) has
// no outcome to count.
func (s storeStats) Promotions(_ context.Context, from, to time.Time) ([]stats.Promotion, error) {
	rs, err := s.db.Requests(store.StatusSucceeded, store.StatusFailed)
	if err != nil {
		return nil, fmt.Errorf("read finished promotions: %w", err)
	}
	var out []stats.Promotion
	for _, r := range rs {
		if r.FinishedAt.Before(from) || !r.FinishedAt.Before(to) {
			continue
		}
		p := stats.Promotion{Number: r.ID, FinishedAt: r.FinishedAt, Outcome: stats.Failed, CommitAuthorDates: authorDates(r)}
		if r.Status == store.StatusSucceeded {
			p.Outcome = stats.Succeeded
		}
		if r.StagingAppName != "" {
			p.Release = fmt.Sprintf("%s v%d", r.StagingAppName, r.ReleaseVersion)
		}
		out = append(out, p)
	}
	return out, nil
}

// authorDates are the author dates of what r shipped: nil when r has no
// commit data (made before Devy kept commits, or without GitHub), empty
// when GitHub's compare found no new commit.
func authorDates(r store.PromotionRequest) []time.Time {
	if len(r.Commits) == 0 {
		if r.CompareURL != "" && r.CommitCount == 0 {
			return []time.Time{}
		}
		return nil
	}
	out := make([]time.Time, 0, len(r.Commits))
	for _, c := range r.Commits {
		if !c.AuthoredAt.IsZero() {
			out = append(out, c.AuthoredAt)
		}
	}
	return out
}

// slackText turns Slack's escaping of what people typed back into the text
// itself: stats escapes titles as it draws them.
var slackText = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// Incidents returns the incidents opened before to and not resolved before
// from.
func (s storeStats) Incidents(_ context.Context, from, to time.Time) ([]stats.Incident, error) {
	all, err := s.db.Incidents()
	if err != nil {
		return nil, fmt.Errorf("read incidents: %w", err)
	}
	var out []stats.Incident
	for _, inc := range all {
		i := stats.Incident{Number: inc.Number, Title: slackText.Replace(inc.Title), OpenedAt: inc.OpenedAt, SuspectPromotion: inc.SuspectPromotion}
		if !inc.Open() {
			i.ResolvedAt = inc.ResolvedAt
		}
		if !i.OpenedAt.Before(to) || (!i.ResolvedAt.IsZero() && i.ResolvedAt.Before(from)) {
			continue
		}
		out = append(out, i)
	}
	return out, nil
}

// CriticalAlerts returns the critical signals the signal desk recorded in
// [from, to).
func (s storeStats) CriticalAlerts(_ context.Context, from, to time.Time) ([]stats.CriticalAlert, error) {
	rows, err := s.db.RecordsBetween(signals.RecordCritical, from, to)
	if err != nil {
		return nil, fmt.Errorf("read critical alerts: %w", err)
	}
	out := make([]stats.CriticalAlert, 0, len(rows))
	for _, r := range rows {
		out = append(out, stats.CriticalAlert{At: r.At})
	}
	return out, nil
}

// OpenActionItems lists the action items of postmortems written in the last
// actionItemMemory, oldest incident first, each linked to its GitHub issue
// when one was filed.
func (s storeStats) OpenActionItems(_ context.Context) ([]stats.ActionItem, error) {
	all, err := s.db.Incidents()
	if err != nil {
		return nil, fmt.Errorf("read postmortems: %w", err)
	}
	since := s.db.Now().Add(-actionItemMemory)
	var out []stats.ActionItem
	for i := len(all) - 1; i >= 0; i-- { // Incidents is newest first
		inc := all[i]
		pm := inc.Postmortem
		if pm == nil || pm.WrittenAt.Before(since) {
			continue
		}
		filed := map[string]string{}
		for _, a := range pm.ActionIssues {
			filed[a.Title] = a.URL
		}
		for _, item := range pm.ActionItems {
			out = append(out, stats.ActionItem{Incident: inc.Number, Title: item, URL: filed[item]})
		}
	}
	return out, nil
}

// TakeSlot claims a digest slot once across every process on the store.
func (s storeStats) TakeSlot(key string) (bool, error) { return s.db.TakeSlot(key) }

var (
	_ stats.DigestSource = storeStats{}
	_ stats.SlotStore    = storeStats{}
)
