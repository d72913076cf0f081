package sentry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Event is what one delivery says, as Devy reads it: an *IssueEvent,
// *EventAlert, *MetricAlert, *ErrorEvent or *Ignored. Text fields are as
// Sentry sent them: untrusted, unescaped.
type Event interface{ sentryEvent() }

// Issue actions (the wire value of "archived" is "ignored", api-facts 6.2).
const (
	IssueCreated    = "created"
	IssueUnresolved = "unresolved"
	IssueResolved   = "resolved"
	IssueIgnored    = "ignored"
)

// Metric alert actions.
const (
	MetricCritical = "critical"
	MetricWarning  = "warning"
	MetricResolved = "resolved"
)

// Project is the Sentry project an issue belongs to.
type Project struct {
	ID   string
	Name string
	Slug string
}

// Issue is a Sentry issue (a group of events).
type Issue struct {
	ID        string
	ShortID   string // FRONT-END-9
	Title     string
	Culprit   string
	Level     string // error, warning, fatal…
	Status    string // unresolved, resolved, ignored
	Substatus string // new, regressed, escalating, ongoing, archived_…
	FirstSeen time.Time
	LastSeen  time.Time
	// Count is Sentry's event count; it is a string on the wire (it can
	// exceed what JavaScript's numbers hold), kept as sent.
	Count     string
	UserCount int
	Project   Project
	// WebURL is the issue's page; Sentry sends it only with "created".
	// Permalink is often null without a user behind the action.
	WebURL    string
	Permalink string
}

// Link is the issue's page: WebURL, else Permalink, else "".
func (i Issue) Link() string {
	if i.WebURL != "" {
		return i.WebURL
	}
	return i.Permalink
}

// IssueEvent is an "issue" delivery Devy acts on: created, unresolved
// (a regression or an escalation), resolved or ignored (archived).
type IssueEvent struct {
	Action         string
	Issue          Issue
	ResolutionType string // with resolved: in_release, in_commit, now…
	Actor          Actor
}

// Actor is who caused the delivery; automatic actions have ID "sentry".
type Actor struct {
	Type string // user or application
	ID   string
	Name string
}

// EventAlert is an issue alert rule that fired ("event_alert"/"triggered").
type EventAlert struct {
	Rule        string // data.triggered_rule, the rule's label
	EventID     string
	Title       string
	Culprit     string
	Level       string
	IssueID     string
	URL         string // the event in Sentry's API
	WebURL      string // the event's page
	IssueURL    string // the issue in Sentry's API
	ProjectID   string // the event carries the project's numeric id only
	ProjectSlug string // read from URL when it has the usual shape, else ""
	Release     string
	Environment string
	Time        time.Time
}

// ErrorEvent is one error event ("error"/"created"), a plan-gated resource
// that arrives once per event.
type ErrorEvent struct {
	EventID     string
	Title       string
	Culprit     string
	Level       string
	IssueID     string
	WebURL      string
	ProjectSlug string
	Time        time.Time
}

// MetricAlert is a metric alert's incident changing state
// ("metric_alert"/critical, warning, resolved).
type MetricAlert struct {
	Action           string
	IncidentID       string // the metric alert's incident, the same through its states
	Identifier       string // the incident's number in the organization
	IncidentTitle    string
	RuleID           string
	RuleName         string
	DescriptionTitle string
	DescriptionText  string
	WebURL           string
	Projects         []string // project slugs
	Started          time.Time
}

// Ignored is a delivery Devy does nothing with (installation, comment,
// issue assigned, …); it is answered 2xx like the others.
type Ignored struct {
	Resource string
	Action   string
}

func (*IssueEvent) sentryEvent()  {}
func (*EventAlert) sentryEvent()  {}
func (*ErrorEvent) sentryEvent()  {}
func (*MetricAlert) sentryEvent() {}
func (*Ignored) sentryEvent()     {}

// flexString reads a JSON string or number as a string: Sentry sends ids as
// strings but older serializers and the event's "project" send numbers.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number: %w", err)
	}
	*f = flexString(n.String())
	return nil
}

// flexTime reads an ISO 8601 time or a Unix timestamp; anything else, or
// null, is the zero time rather than an error: a time Devy cannot read is
// not worth refusing the delivery for.
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		*t = flexTime{}
		return nil
	}
	if v, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
		*t = flexTime(v)
		return nil
	}
	if secs, err := strconv.ParseFloat(string(s), 64); err == nil && secs > 0 && secs < 1e11 {
		*t = flexTime(time.Unix(int64(secs), int64((secs-float64(int64(secs)))*1e9)).UTC())
		return nil
	}
	*t = flexTime{}
	return nil
}

type envelope struct {
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
	Actor  struct {
		Type string     `json:"type"`
		ID   flexString `json:"id"`
		Name string     `json:"name"`
	} `json:"actor"`
}

type wireIssue struct {
	ID        flexString `json:"id"`
	ShortID   string     `json:"shortId"`
	Title     string     `json:"title"`
	Culprit   string     `json:"culprit"`
	Level     string     `json:"level"`
	Status    string     `json:"status"`
	Substatus string     `json:"substatus"`
	FirstSeen flexTime   `json:"firstSeen"`
	LastSeen  flexTime   `json:"lastSeen"`
	Count     flexString `json:"count"`
	UserCount int        `json:"userCount"`
	Project   struct {
		ID   flexString `json:"id"`
		Name string     `json:"name"`
		Slug string     `json:"slug"`
	} `json:"project"`
	WebURL    string `json:"web_url"`
	Permalink string `json:"permalink"`
}

type wireEvent struct {
	EventID  string     `json:"event_id"`
	Title    string     `json:"title"`
	Culprit  string     `json:"culprit"`
	Level    string     `json:"level"`
	IssueID  flexString `json:"issue_id"`
	URL      string     `json:"url"`
	WebURL   string     `json:"web_url"`
	IssueURL string     `json:"issue_url"`
	Project  flexString `json:"project"`
	Release  flexString `json:"release"`
	Env      string     `json:"environment"`
	Datetime flexTime   `json:"datetime"`
}

// Decode reads a delivery's body given its Sentry-Hook-Resource header. It
// does not verify the signature: call Verify first, on the same bytes.
// Resources and actions Devy does not act on decode to *Ignored; a body
// that is not JSON, or lacks what its resource must carry, is ErrMalformed.
func Decode(resource string, body []byte) (Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode %s delivery: %w: %v", resource, ErrMalformed, err)
	}
	ignored := &Ignored{Resource: resource, Action: env.Action}
	switch resource {
	case "issue":
		switch env.Action {
		case IssueCreated, IssueUnresolved, IssueResolved, IssueIgnored:
		default:
			return ignored, nil
		}
		var data struct {
			Issue          *wireIssue `json:"issue"`
			ResolutionType string     `json:"resolution_type"`
		}
		if err := decodeData(env.Data, &data); err != nil || data.Issue == nil || data.Issue.ID == "" {
			return nil, fmt.Errorf("decode issue/%s: %w: no data.issue with an id", env.Action, ErrMalformed)
		}
		w := data.Issue
		return &IssueEvent{
			Action: env.Action,
			Issue: Issue{
				ID: string(w.ID), ShortID: w.ShortID, Title: w.Title, Culprit: w.Culprit, Level: w.Level,
				Status: w.Status, Substatus: w.Substatus,
				FirstSeen: time.Time(w.FirstSeen), LastSeen: time.Time(w.LastSeen),
				Count: string(w.Count), UserCount: w.UserCount,
				Project: Project{ID: string(w.Project.ID), Name: w.Project.Name, Slug: w.Project.Slug},
				WebURL:  w.WebURL, Permalink: w.Permalink,
			},
			ResolutionType: data.ResolutionType,
			Actor:          Actor{Type: env.Actor.Type, ID: string(env.Actor.ID), Name: env.Actor.Name},
		}, nil
	case "event_alert":
		if env.Action != "triggered" {
			return ignored, nil
		}
		var data struct {
			Event         *wireEvent `json:"event"`
			TriggeredRule string     `json:"triggered_rule"`
		}
		if err := decodeData(env.Data, &data); err != nil || data.Event == nil || data.Event.IssueID == "" {
			return nil, fmt.Errorf("decode event_alert/triggered: %w: no data.event with an issue_id", ErrMalformed)
		}
		e := data.Event
		return &EventAlert{
			Rule: data.TriggeredRule, EventID: e.EventID, Title: e.Title, Culprit: e.Culprit, Level: e.Level,
			IssueID: string(e.IssueID), URL: e.URL, WebURL: e.WebURL, IssueURL: e.IssueURL,
			ProjectID: string(e.Project), ProjectSlug: projectSlug(e.URL),
			Release: string(e.Release), Environment: e.Env, Time: time.Time(e.Datetime),
		}, nil
	case "error":
		if env.Action != "created" {
			return ignored, nil
		}
		var data struct {
			Error *wireEvent `json:"error"`
		}
		if err := decodeData(env.Data, &data); err != nil || data.Error == nil || data.Error.IssueID == "" {
			return nil, fmt.Errorf("decode error/created: %w: no data.error with an issue_id", ErrMalformed)
		}
		e := data.Error
		return &ErrorEvent{
			EventID: e.EventID, Title: e.Title, Culprit: e.Culprit, Level: e.Level, IssueID: string(e.IssueID),
			WebURL: e.WebURL, ProjectSlug: projectSlug(e.URL), Time: time.Time(e.Datetime),
		}, nil
	case "metric_alert":
		switch env.Action {
		case MetricCritical, MetricWarning, MetricResolved:
		default:
			return ignored, nil
		}
		var data struct {
			MetricAlert *struct {
				ID          flexString `json:"id"`
				Identifier  flexString `json:"identifier"`
				Title       string     `json:"title"`
				Projects    []string   `json:"projects"`
				DateStarted flexTime   `json:"date_started"`
				AlertRule   struct {
					ID   flexString `json:"id"`
					Name string     `json:"name"`
				} `json:"alert_rule"`
			} `json:"metric_alert"`
			DescriptionTitle string `json:"description_title"`
			DescriptionText  string `json:"description_text"`
			WebURL           string `json:"web_url"`
		}
		if err := decodeData(env.Data, &data); err != nil || data.MetricAlert == nil || (data.MetricAlert.ID == "" && data.MetricAlert.AlertRule.ID == "") {
			return nil, fmt.Errorf("decode metric_alert/%s: %w: no data.metric_alert with an id", env.Action, ErrMalformed)
		}
		m := data.MetricAlert
		return &MetricAlert{
			Action: env.Action, IncidentID: string(m.ID), Identifier: string(m.Identifier), IncidentTitle: m.Title,
			RuleID: string(m.AlertRule.ID), RuleName: m.AlertRule.Name,
			DescriptionTitle: data.DescriptionTitle, DescriptionText: data.DescriptionText,
			WebURL: data.WebURL, Projects: m.Projects, Started: time.Time(m.DateStarted),
		}, nil
	}
	return ignored, nil
}

func decodeData(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return fmt.Errorf("no data")
	}
	return json.Unmarshal(raw, v)
}

// projectSlug reads the slug from an event's API URL,
// …/api/0/projects/{org}/{project}/events/{id}/, the only place an event
// names its project by slug.
func projectSlug(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+3 < len(parts); i++ {
		if parts[i] == "projects" && parts[i+3] == "events" {
			return parts[i+2]
		}
	}
	return ""
}
