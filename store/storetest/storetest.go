// Package storetest is the contract every Devy store keeps: one suite of
// behaviour tests that runs, case for case, against bbolt (bolt.DB) and
// PostgreSQL (pg.DB). A guarantee the commands rely on — one decision per
// request, lock expiry, incident numbers never reused, an append-only audit
// log — is tested here once, not once per store.
package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/testclock"
	"github.com/devy-chatops/devy/store"
)

// Store is every method of Devy's state, as the commands and main use it.
type Store interface {
	Now() time.Time
	Ping() error
	Close() error

	Audit(e store.AuditEntry) error
	AuditLog(limit int, actions ...string) ([]store.AuditEntry, error)
	Counts() (store.Counts, error)

	Lock(pipeline string) (*store.Lock, error)
	AcquireLock(l store.Lock) (store.Lock, error)
	ReleaseLock(pipeline, by string, force bool) (store.Lock, error)

	CreateRequest(r store.PromotionRequest) (store.PromotionRequest, error)
	Request(id uint64) (store.PromotionRequest, error)
	OpenRequest(pipeline string) (*store.PromotionRequest, error)
	SetMessage(id uint64, channel, ts string) error
	Approve(id uint64, approver string) (store.PromotionRequest, error)
	CloseRequest(id uint64, status, by, note string, effects ...store.Effect) (store.PromotionRequest, error)
	StartPromotion(id uint64, promotionID string) error
	SetTargets(id uint64, targets []store.Target) error
	FinishPromotion(id uint64, status string, targets []store.Target, note string, effects ...store.Effect) (store.PromotionRequest, error)
	Requests(statuses ...string) ([]store.PromotionRequest, error)

	ClaimPromotion(id uint64, owner string, ttl time.Duration) (bool, error)
	ReleasePromotion(id uint64, owner string) error
	OrphanedPromotions(ttl time.Duration) ([]store.PromotionRequest, error)

	CreateReviewApp(r store.ReviewApp) (store.ReviewApp, error)
	ReviewApp(pr int) (store.ReviewApp, error)
	ReviewAppsBuilding() ([]store.ReviewApp, error)
	UpdateReviewApp(r store.ReviewApp) (store.ReviewApp, error)
	DeleteReviewApp(pr int, id, by string) (*store.ReviewApp, error)
	SetPRThread(pr int, channel, ts string) error
	PRThread(pr int) (*store.Thread, error)

	OpenIncident(inc store.Incident, text string) (store.Incident, error)
	SetIncidentChannel(n uint64, channelID, name string) (store.Incident, error)
	Incident(n uint64) (store.Incident, error)
	IncidentByChannel(channelID string) (store.Incident, error)
	Incidents() ([]store.Incident, error)
	Timeline(n uint64) ([]store.TimelineEntry, error)
	AddTimelineEntry(n uint64, e store.TimelineEntry) (store.Incident, bool, error)
	SetIncidentSeverity(n uint64, severity, by string, text func(was store.Incident) string) (store.Incident, error)
	SetIncidentCommander(n uint64, commander, by string, text func(was store.Incident) string) (store.Incident, error)
	ResolveIncident(n uint64, by, resolution, text string) (store.Incident, error)
	SavePostmortem(n uint64, pm store.Postmortem) (store.Incident, error)
	MarkNudged(n uint64, kind string, at time.Time, due func(store.Incident) bool) (store.Incident, error)
	ClaimPostmortem(n uint64, by string, stale time.Duration) (store.Incident, error)

	ClaimWebhookDelivery(key string) (bool, error)
	ForgetWebhookDelivery(key string) error

	Enqueue(effects ...store.Effect) error
	PendingEffects(limit int) ([]store.Effect, error)
	ClaimEffect(id uint64, owner string, ttl time.Duration) (store.Effect, bool, error)
	RetryEffect(id uint64, owner string, until time.Time) error
	EffectDone(id uint64) error

	Signal(key string) (json.RawMessage, bool, error)
	UpdateSignal(key string, f func(raw json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error)
	Signals(prefix string) ([]store.SignalRow, error)
	AddRecord(kind, key string, at time.Time, payload json.RawMessage) error
	Records(kind string, since time.Time) ([]store.RecordRow, error)
	RecordsBetween(kind string, from, to time.Time) ([]store.RecordRow, error)
	TakeSlot(key string) (bool, error)

	Verify(in store.VerifyInput) ([]store.Verification, error)
	Verifications(pipeline string, shas []string) (map[string]store.Verification, error)
}

// Backend makes the stores the suite runs against.
type Backend struct {
	// Open returns a new, empty store whose clock is now. The backend
	// closes it when the test ends.
	Open func(t *testing.T, now func() time.Time) Store
	// Reopen returns a store on s's state as a restarted Devy sees it
	// (bbolt: s closed and its file opened again; PostgreSQL: a new pool).
	Reopen func(t *testing.T, s Store) Store
}

// Clock is a test clock that moves only when told to.
type Clock = testclock.Clock

// NewClock starts a clock at a fixed instant.
func NewClock() *Clock { return testclock.New(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) }

// env is one case's store and clock.
type env struct {
	b   Backend
	db  Store
	clk *Clock
}

func (e *env) reopen(t *testing.T) {
	t.Helper()
	e.db = e.b.Reopen(t, e.db)
}

// Run runs the whole contract against b. Every case gets a fresh store.
func Run(t *testing.T, b Backend) {
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"requests", requestCases},
		{"locks", lockCases},
		{"leases", leaseCases},
		{"concurrency", concurrencyCases},
		{"audit", auditCases},
		{"reviewapps", reviewAppCases},
		{"incidents", incidentCases},
		{"deliveries", deliveryCases},
		{"outbox", outboxCases},
		{"signals", signalCases},
		{"verifications", verifyCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel() // each case has its own store
					clk := NewClock()
					e := &env{b: b, clk: clk, db: b.Open(t, clk.Now)}
					tc.run(t, e)
				})
			}
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// newRequest makes a pending request of pipeline p1 by user by.
func newRequest(t *testing.T, e *env, by string) store.PromotionRequest {
	t.Helper()
	r, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: by, ExpiresAt: e.clk.Now().Add(30 * time.Minute),
		ReleaseID: "rel-1", ReleaseVersion: 7, SHA: "abc", Targets: []store.Target{{AppID: "a1", AppName: "shop-prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// promoting makes a request and approves it.
func promoting(t *testing.T, e *env) store.PromotionRequest {
	t.Helper()
	r, err := e.db.Approve(newRequest(t, e, "U1").ID, "U2")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
