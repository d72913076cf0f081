package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/integrations/sentry"
	"github.com/devy-chatops/devy/webhooks"
)

// signalSimulations is the help of `simulate sentry` and `simulate alert`.
const signalSimulations = "`simulate sentry [issue|regression|alert|metric|resolved]` or `simulate alert [critical|warning|resolved]`"

// The shell's made-up credentials, when the real ones are not set: the
// simulated deliveries are signed with them and checked by the same
// endpoint code as Sentry's and Alertmanager's.
const (
	shellSentrySecret = "shell-sentry-client-secret"
	shellAlertToken   = "shell-alertmanager-token"
)

// signalSimulator sends made-up Sentry and Alertmanager deliveries, signed,
// through the webhook endpoints' handlers in memory.
type signalSimulator struct {
	mux    *http.ServeMux
	sig    *signals.Signals
	secret string
	token  string
	now    func() time.Time
}

func newSignalSimulator(cfg config.Config, log zerolog.Logger, bg *commands.Background, sig *signals.Signals) *signalSimulator {
	s := &signalSimulator{mux: http.NewServeMux(), sig: sig, secret: cfg.SentryClientSecret.Value(), token: cfg.AlertmanagerToken.Value(), now: time.Now}
	if s.secret == "" {
		s.secret = shellSentrySecret
	}
	if s.token == "" {
		s.token = shellAlertToken
	}
	srv := webhooks.New(webhooks.Secrets{}, nil, nil, bg, log)
	srv.RegisterSignals(s.mux, webhooks.SignalSecrets{SentryClientSecret: s.secret, AlertmanagerToken: s.token}, sig, nil)
	return s
}

// Simulate is `simulate sentry …` or `simulate alert …`.
func (s *signalSimulator) Simulate(ctx context.Context, what string, args []string) error {
	kind := ""
	if len(args) > 0 {
		kind = strings.ToLower(args[0])
	}
	now := s.now()
	var req *http.Request
	switch what {
	case "sentry":
		resource, body, err := simulatedSentry(kind, now)
		if err != nil {
			return err
		}
		req = httptest.NewRequest(http.MethodPost, "/webhooks/sentry", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(sentry.HeaderResource, resource)
		req.Header.Set(sentry.HeaderRequestID, newRequestID())
		req.Header.Set(sentry.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(sentry.HeaderSignature, sentry.Sign(s.secret, body))
	case "alert":
		body, err := simulatedAlert(kind, now)
		if err != nil {
			return err
		}
		req = httptest.NewRequest(http.MethodPost, "/webhooks/alertmanager", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.token)
	default:
		return fmt.Errorf("unknown simulation %q; type %s", what, signalSimulations)
	}
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("the endpoint answered %d: %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Post what is due now, so the message follows the command in the
	// shell; edits held back by Slack's pace come later, from Run.
	s.sig.Flush(ctx)
	return nil
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// The simulated issue: one Sentry issue in project "shop", so that the
// deliveries of a session tell one story (new, alert, regression, resolved).
const (
	simIssueID = "4821937465"
	simWebURL  = "https://acme.sentry.io/issues/4821937465/"
)

func sentryStamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// simulatedSentry is a Sentry delivery of the given kind, shaped as Sentry
// sends it (api-facts 6.2): its resource header and body.
func simulatedSentry(kind string, now time.Time) (string, []byte, error) {
	issue := map[string]any{
		"id": simIssueID, "shortId": "SHOP-3K", "title": "KeyError: 'card_token'", "culprit": "checkout.views.pay in charge_card",
		"level": "error", "status": "unresolved", "substatus": "new", "firstSeen": sentryStamp(now), "lastSeen": sentryStamp(now),
		"count": "1", "userCount": 1, "permalink": nil, "platform": "python", "type": "error", "assignedTo": nil,
		"metadata": map[string]any{"type": "KeyError", "value": "'card_token'", "filename": "checkout/views.py"},
		"project":  map[string]any{"id": "4507123", "name": "shop", "slug": "shop", "platform": "python"},
	}
	envelope := func(action string, data map[string]any) map[string]any {
		return map[string]any{"action": action, "installation": map[string]any{"uuid": "7f3c1d2e-5a4b-4c9d-8e1f-0a2b3c4d5e6f"},
			"data": data, "actor": map[string]any{"type": "application", "id": "sentry", "name": "Sentry"}}
	}
	var resource string
	var body map[string]any
	switch kind {
	case "", "issue":
		resource = "issue"
		issue["url"] = "https://sentry.io/api/0/organizations/acme/issues/" + simIssueID + "/"
		issue["web_url"] = simWebURL
		issue["project_url"] = "https://sentry.io/api/0/projects/acme/shop/"
		body = envelope("created", map[string]any{"issue": issue})
	case "regression":
		resource = "issue"
		issue["substatus"], issue["count"], issue["firstSeen"] = "regressed", "58", sentryStamp(now.Add(-14*24*time.Hour))
		body = envelope("unresolved", map[string]any{"issue": issue})
	case "resolved":
		resource = "issue"
		issue["status"], issue["substatus"] = "resolved", nil
		body = envelope("resolved", map[string]any{"issue": issue, "resolution_type": "now"})
	case "alert":
		resource = "event_alert"
		eventID := newRequestID()
		body = envelope("triggered", map[string]any{
			"event": map[string]any{
				"event_id": eventID, "title": "KeyError: 'card_token'", "culprit": "checkout.views.pay in charge_card", "level": "error",
				"project": 4507123, "platform": "python", "datetime": sentryStamp(now), "environment": "production",
				"issue_id": simIssueID, "issue_url": "https://sentry.io/api/0/issues/" + simIssueID + "/",
				"url":     "https://sentry.io/api/0/projects/acme/shop/events/" + eventID + "/",
				"web_url": simWebURL + "events/" + eventID + "/",
				"tags":    [][]string{{"environment", "production"}, {"level", "error"}, {"url", "https://shop.example.com/checkout/pay"}},
			},
			"triggered_rule": "Checkout errors (page on-call)",
			"issue_alert":    map[string]any{"title": "Checkout errors (page on-call)", "settings": []any{}},
		})
	case "metric":
		resource = "metric_alert"
		body = envelope("critical", map[string]any{
			"description_title": "Critical: Checkout error rate",
			"description_text":  "312 events in the last 5 minutes\nFilter: level:error transaction:/checkout/pay",
			"web_url":           "https://acme.sentry.io/alerts/rules/details/2231/?alert=57",
			"metric_alert": map[string]any{
				"id": "90413", "identifier": "57", "title": "Checkout error rate", "status": 20, "type": 2, "projects": []string{"shop"},
				"date_started": sentryStamp(now.Add(-time.Minute)), "date_detected": sentryStamp(now), "date_closed": nil,
				"alert_rule": map[string]any{"id": "2231", "name": "Checkout error rate", "aggregate": "count()", "dataset": "events",
					"query": "level:error transaction:/checkout/pay", "time_window": 5, "projects": []string{"shop"}},
			},
		})
	default:
		return "", nil, fmt.Errorf("unknown Sentry delivery %q; type %s", kind, signalSimulations)
	}
	b, err := json.Marshal(body)
	return resource, b, err
}

// simulatedAlert is an Alertmanager notification of the group "HighErrorRate"
// (api-facts 7): critical fires on web-2, warning only on web-1, resolved
// ends both.
func simulatedAlert(kind string, now time.Time) ([]byte, error) {
	alert := func(instance, severity, status string, start time.Time) map[string]any {
		end := "0001-01-01T00:00:00Z"
		if status == "resolved" {
			end = now.UTC().Format(time.RFC3339Nano)
		}
		return map[string]any{
			"status": status,
			"labels": map[string]string{"alertname": "HighErrorRate", "instance": instance, "job": "shop", "severity": severity},
			"annotations": map[string]string{"summary": "HighErrorRate on " + instance, "description": "5xx ratio above 5% for 5 minutes",
				"runbook_url": "https://runbooks.example.com/shop/high-error-rate"},
			"startsAt": start.UTC().Format(time.RFC3339Nano), "endsAt": end,
			"generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=job%3Ashop%3Aerror_ratio%3E0.05&g0.tab=1",
			"fingerprint":  map[string]string{"web-1": "5c1e2d3a4b6f7081", "web-2": "9a8b7c6d5e4f3021"}[instance],
		}
	}
	status := "firing"
	var alerts []map[string]any
	start := now.Truncate(time.Hour) // the same start for every delivery of the hour: one alert, not many
	switch kind {
	case "", "critical":
		alerts = []map[string]any{alert("web-1", "warning", "firing", start), alert("web-2", "critical", "firing", start)}
	case "warning":
		alerts = []map[string]any{alert("web-1", "warning", "firing", start)}
	case "resolved":
		status = "resolved"
		alerts = []map[string]any{alert("web-1", "warning", "resolved", start), alert("web-2", "critical", "resolved", start)}
	default:
		return nil, fmt.Errorf("unknown alert %q; type %s", kind, signalSimulations)
	}
	return json.Marshal(map[string]any{
		"version": "4", "groupKey": `{}/{severity=~"critical|page|warning"}:{alertname="HighErrorRate"}`, "truncatedAlerts": 0,
		"status": status, "receiver": "devy", "groupLabels": map[string]string{"alertname": "HighErrorRate"},
		"commonLabels": map[string]string{"alertname": "HighErrorRate", "job": "shop"}, "commonAnnotations": map[string]string{},
		"externalURL": "http://alertmanager.example.com:9093", "alerts": alerts,
	})
}
