// Package signals takes in what the team's monitoring says — Sentry issues
// and alerts, Alertmanager groups — and turns it into messages: exceptions
// and warnings in #devy, critical alerts in #critical, each with an
// **Open incident** button, each tied to the production promotion it
// followed, if one finished shortly before.
//
// What a delivery becomes is decided in one store transaction per signal
// (Store.UpdateSignal), so two replicas agree on whether to post or fold.
// The Slack side — posting, editing — runs after the webhook has been
// answered, paced by Flush: at most one post per channel per second, at
// most one edit per message per 5 seconds (the latest state is written when
// the 5 seconds pass), one message per Sentry issue per channel per 30
// minutes with later events folded into it.
package signals

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
)

// Roles of the two channels a signal can be posted in.
const (
	RoleDevy     = "devy"
	RoleCritical = "critical"
)

// Severities of incidents opened from a signal, as /incident open names them.
const (
	SEV1 = "SEV1" // a critical Alertmanager alert or Sentry metric alert
	SEV2 = "SEV2" // a Sentry issue alert (event_alert)
	SEV3 = "SEV3" // anything posted in #devy
)

// Sources of signals.
const (
	SourceSentryIssue  = "sentry-issue"  // an issue, its events and issue alerts
	SourceSentryMetric = "sentry-metric" // a metric alert's incident
	SourceAlertmanager = "alertmanager"  // an Alertmanager group
)

// Statuses of a signal.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
	StatusIgnored  = "ignored" // a Sentry issue archived
)

// Record kinds kept for the briefing and the change-failure rate.
const (
	RecordException = "exception" // a Sentry issue first seen or regressed
	RecordCritical  = "critical"  // a critical alert started
)

// ActionOpenIncident is the action id of the Open incident button.
const ActionOpenIncident = "signals_open_incident"

// Signal is what Devy keeps about one Sentry issue, Sentry metric alert or
// Alertmanager group: enough to redraw its messages after a restart. Text
// fields are as the sender wrote them (untrusted); they are escaped when
// drawn.
type Signal struct {
	Key     string `json:"key"`
	Source  string `json:"source"`
	Title   string `json:"title"`
	ShortID string `json:"short_id,omitempty"`
	Culprit string `json:"culprit,omitempty"`
	Level   string `json:"level,omitempty"`
	Project string `json:"project,omitempty"`
	// Link is the signal's page: a delivery's web_url when it has one,
	// else the one stored when it was first posted.
	Link        string `json:"link,omitempty"`
	Rule        string `json:"rule,omitempty"`        // the Sentry alert rule that fired
	Description string `json:"description,omitempty"` // a metric alert's description text
	// Alerts are an Alertmanager group's alerts as last notified.
	Alerts    []AlertLine `json:"alerts,omitempty"`
	Truncated int         `json:"truncated,omitempty"` // alerts Alertmanager left out
	Labels    string      `json:"labels,omitempty"`    // common labels, k=v
	Status    string      `json:"status"`
	// StatusNote says who or what changed the status ("by Ana Lopez").
	StatusNote string `json:"status_note,omitempty"`
	Critical   bool   `json:"critical,omitempty"`
	Regressed  bool   `json:"regressed,omitempty"`
	// Seen is when the issue was first seen, or regressed.
	Seen    time.Time `json:"seen,omitempty"`
	Suspect *Suspect  `json:"suspect,omitempty"`

	Incident        uint64    `json:"incident,omitempty"`
	IncidentChannel string    `json:"incident_channel,omitempty"`
	Opening         time.Time `json:"opening,omitempty"` // a click is opening an incident since
	TimelineAt      time.Time `json:"timeline_at,omitempty"`

	Posts   []Post    `json:"posts,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// AlertLine is one alert of an Alertmanager group.
type AlertLine struct {
	Status      string    `json:"status"`
	Labels      string    `json:"labels"`
	Summary     string    `json:"summary,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	StartsAt    time.Time `json:"starts_at"`
	Fingerprint string    `json:"fingerprint"`
}

// Post is the message a signal has in one channel.
type Post struct {
	Role     string `json:"role"`     // RoleDevy or RoleCritical
	Severity string `json:"severity"` // of an incident opened from this message
	// ChannelID and TS are empty while the message waits to be posted.
	ChannelID string    `json:"channel_id,omitempty"`
	TS        string    `json:"ts,omitempty"`
	QueuedAt  time.Time `json:"queued_at"` // when the delivery that posts it came
	PostedAt  time.Time `json:"posted_at,omitempty"`
	// PostingBy is the Devy process posting it until PostingUntil: two
	// replicas, or a restarted one taking up what waited, post it once.
	PostingBy    string    `json:"posting_by,omitempty"`
	PostingUntil time.Time `json:"posting_until,omitempty"`
	// Events counts the deliveries folded into the message, the first
	// included.
	Events    int       `json:"events"`
	UpdatedAt time.Time `json:"updated_at,omitempty"` // last change to show
}

// Suspect is the production promotion that finished shortly before an issue
// was first seen. Its wording is blameless: it happened before, nothing more.
type Suspect struct {
	Promotion
	After time.Duration `json:"after"` // from the promotion's end to first seen
}

// Record is a signal kept for the briefing and for the change-failure rate.
type Record struct {
	Kind    string    `json:"kind"` // RecordException or RecordCritical
	Key     string    `json:"key"`  // the signal's key
	Title   string    `json:"title"`
	ShortID string    `json:"short_id,omitempty"`
	Project string    `json:"project,omitempty"`
	Link    string    `json:"link,omitempty"`
	At      time.Time `json:"at"`
	// Regression is set for an exception that came back after being resolved.
	Regression bool `json:"regression,omitempty"`
}

// Store keeps signals and deliveries. Both backends implement it; MemStore
// is the one for tests and the shell's sandbox.
type Store interface {
	// ClaimDelivery records a delivery's key and reports whether it is the
	// first time the key is seen; a repeat (a retry, a second replica) is
	// dropped. Keys older than a day may be forgotten.
	ClaimDelivery(ctx context.Context, key string, now time.Time) (first bool, err error)
	// Signal returns the stored signal; ok is false when there is none.
	Signal(ctx context.Context, key string) (sig Signal, ok bool, err error)
	// UpdateSignal runs f on the stored signal (or on Signal{Key: key} when
	// there is none) in one transaction and stores what f leaves, unless f
	// returns an error, which UpdateSignal returns as is (wrapped errors
	// keep errors.Is). f may run more than once when a transaction is
	// retried; it must only change sig.
	UpdateSignal(ctx context.Context, key string, f func(sig *Signal) error) (Signal, error)
	// AddRecord keeps r; a record with the same kind, key and time is kept
	// once.
	AddRecord(ctx context.Context, r Record) error
	// Records returns the records of a kind at or after since, oldest first.
	Records(ctx context.Context, kind string, since time.Time) ([]Record, error)
	// Signals returns the stored signals whose key starts with prefix, by
	// key.
	Signals(ctx context.Context, prefix string) ([]Signal, error)
}

// Promotion is a successful production promotion, as the suspect line names
// it.
type Promotion struct {
	Number     uint64    `json:"number"` // the promotion request's number
	StagingApp string    `json:"staging_app"`
	Version    int       `json:"version"`  // the staging release promoted
	Approver   string    `json:"approver"` // a Slack user id, or a name
	FinishedAt time.Time `json:"finished_at"`
	Commits    []Commit  `json:"commits,omitempty"`
}

// Commit is one commit a promotion shipped.
type Commit struct {
	SHA     string `json:"sha"`
	Message string `json:"message"` // first line
	Author  string `json:"author"`  // GitHub login, else the git author name
	SlackID string `json:"slack_id,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Promotions tells which production promotion finished last.
type Promotions interface {
	// LastPromotion is the last successful production promotion that
	// finished at or before t; ok is false when there is none.
	LastPromotion(ctx context.Context, t time.Time) (p Promotion, ok bool, err error)
}

// IncidentRequest is an incident to open from a signal. Title, Timeline and
// Labels are Slack mrkdwn, already escaped.
type IncidentRequest struct {
	Title    string
	Severity string // SEV1, SEV2 or SEV3
	OpenedBy string // the Slack user who clicked: the commander
	From     string // the channel id the click came from
	Timeline []string
	Links    []string
	Labels   []string
	// SuspectPromotion is the promotion request number the signal followed,
	// 0 when none; the incident records it for the change-failure rate.
	SuspectPromotion uint64
}

// Incidents opens incidents and writes on their timelines, as /incident
// does.
type Incidents interface {
	// OpenFromSignal opens an incident as `/incident open` does and returns
	// its number and channel (an id, or "" when it has none).
	OpenFromSignal(ctx context.Context, r IncidentRequest) (number uint64, channel string, err error)
	// AddToTimeline appends Slack mrkdwn text to an incident's timeline.
	AddToTimeline(ctx context.Context, number uint64, text string) error
	// IsOpen reports whether the incident is still open.
	IsOpen(ctx context.Context, number uint64) (bool, error)
}

// Runner runs work after the webhook has been answered (commands.Background
// is one).
type Runner interface {
	Go(f func(ctx context.Context))
}

// Config is what the signals need from Devy's configuration.
type Config struct {
	DevyChannel     string // where exceptions and warnings go (#devy)
	CriticalChannel string // where critical alerts go (#critical)
	// Project limits Sentry deliveries to one project slug (SENTRY_PROJECT);
	// "" accepts every project.
	Project string
	// SuspectWindow is how long after a promotion finished a new issue
	// names it (DEVY_SUSPECT_WINDOW, default 2h).
	SuspectWindow time.Duration
}

// DefaultSuspectWindow is DEVY_SUSPECT_WINDOW's default.
const DefaultSuspectWindow = 2 * time.Hour

// The pace Slack is spoken to at.
const (
	foldWindow  = 30 * time.Minute // one message per Sentry issue per channel
	updateEvery = 5 * time.Second  // at most one chat.update per message
	postEvery   = time.Second      // at most one chat.postMessage per channel
	openingTTL  = time.Minute      // a click that is opening an incident holds others off this long
)

// Deps are what Signals works with.
type Deps struct {
	Config     Config
	Store      Store
	Poster     commands.Poster
	Promotions Promotions // nil: no suspect lines
	Incidents  Incidents  // nil: the button says incidents are not set up
	Runner     Runner     // nil: background work runs inline (tests)
	Log        zerolog.Logger
	Now        func() time.Time // nil: time.Now
}

// Signals is the signal desk.
type Signals struct {
	cfg        Config
	store      Store
	poster     commands.Poster
	promotions Promotions
	incidents  Incidents
	runner     Runner
	log        zerolog.Logger
	now        func() time.Time
	wake       chan struct{}
	// owner names this desk in its claims on posts; random, because two
	// replicas may share one process (and its name) in tests.
	owner string

	flushMu sync.Mutex // serializes Flush, so a message is never written by two at once

	mu        sync.Mutex           // guards queue, lastPost, dirty, lastWrite
	queue     map[string][]queued  // role → signals waiting for their post, oldest first
	lastPost  map[string]time.Time // role → last post in its channel
	dirty     map[msgRef]struct{}  // messages whose latest state is not yet shown
	lastWrite map[msgRef]time.Time // message → last post or update
}

type queued struct {
	key      string
	attempts int
}

type msgRef struct{ key, role string }

// New builds the signal desk.
func New(d Deps) *Signals {
	if d.Config.SuspectWindow <= 0 {
		d.Config.SuspectWindow = DefaultSuspectWindow
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Signals{
		cfg: d.Config, store: d.Store, poster: d.Poster, promotions: d.Promotions, incidents: d.Incidents,
		runner: d.Runner, log: d.Log, now: d.Now,
		wake: make(chan struct{}, 1), owner: rand.Text(),
		queue: map[string][]queued{}, lastPost: map[string]time.Time{},
		dirty: map[msgRef]struct{}{}, lastWrite: map[msgRef]time.Time{},
	}
}

// Register adds the Open incident button's handler to the router.
func (s *Signals) Register(r *commands.Router) {
	r.OnAction(ActionOpenIncident, s.clickOpenIncident)
}

// errUnchanged ends an UpdateSignal that has nothing to store.
var errUnchanged = errors.New("signals: nothing to change")

func (s *Signals) goLater(f func(ctx context.Context), ctx context.Context) {
	if s.runner == nil {
		f(ctx)
		return
	}
	s.runner.Go(f)
}

func (s *Signals) channel(role string) string {
	if role == RoleCritical {
		return s.cfg.CriticalChannel
	}
	return s.cfg.DevyChannel
}

func (sig *Signal) post(role string) *Post {
	for i := range sig.Posts {
		if sig.Posts[i].Role == role {
			return &sig.Posts[i]
		}
	}
	return nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("signals: %s: %w", what, err)
}
