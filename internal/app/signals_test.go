package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/integrations/sentry"
	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store/bolt"
)

// Signals end to end: signed Sentry deliveries and Alertmanager
// notifications of the real shapes (api-facts 6, 7; the shell simulator's
// bodies) reach Devy's HTTP listener; the test Slack shows the messages, and
// the Open incident button is clicked over the socket.

const (
	sentrySecret = "sentry-client-secret-e2e"
	amToken      = "alertmanager-token-e2e"
)

// startSignals runs Devy with both signal endpoints on and a #critical
// channel.
func startSignals(t *testing.T, env map[string]string) (*harness, string) {
	t.Helper()
	secrets := map[string]string{"SENTRY_CLIENT_SECRET": sentrySecret, "DEVY_ALERTMANAGER_TOKEN": amToken}
	for k, v := range env {
		secrets[k] = v
	}
	h, base := startWebhooks(t, secrets)
	h.slack.AddChannel(critChan, "critical", fakeslack.BotUserID)
	return h, base
}

// sentryDelivery is one Sentry delivery as sent: body, headers.
type sentryDelivery struct {
	resource, requestID string
	body                []byte
	signature           string // "" signs the body with sentrySecret; "-" sends none
	timestamp           time.Time
}

func sentryOf(t *testing.T, kind string, edit func(m map[string]any)) sentryDelivery {
	t.Helper()
	resource, body, err := simulatedSentry(kind, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		body = mustJSON(m)
	}
	return sentryDelivery{resource: resource, requestID: newRequestID(), body: body, timestamp: time.Now()}
}

func (h *harness) sendSentry(base string, d sentryDelivery) int {
	h.t.Helper()
	req, err := http.NewRequest("POST", base+"/webhooks/sentry", bytes.NewReader(d.body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sentry.HeaderResource, d.resource)
	req.Header.Set(sentry.HeaderRequestID, d.requestID)
	req.Header.Set(sentry.HeaderTimestamp, strconv.FormatInt(d.timestamp.Unix(), 10))
	switch d.signature {
	case "":
		req.Header.Set(sentry.HeaderSignature, sentry.Sign(sentrySecret, d.body))
	case "-":
	default:
		req.Header.Set(sentry.HeaderSignature, d.signature)
	}
	return h.post(req)
}

func (h *harness) sendAlert(base, authorization string, body []byte) int {
	h.t.Helper()
	req, err := http.NewRequest("POST", base+"/webhooks/alertmanager", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return h.post(req)
}

func (h *harness) post(req *http.Request) int {
	h.t.Helper()
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(start); took > time.Second {
		h.t.Errorf("%s took %v to answer; Sentry waits one second", req.URL.Path, took)
	}
	return resp.StatusCode
}

func alertOf(t *testing.T, kind string) []byte {
	t.Helper()
	b, err := simulatedAlert(kind, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// channelMessages are the messages everyone sees in channel.
func (h *harness) channelMessages(channel string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range h.slack.Messages() {
		if m.Channel == channel && !m.Ephemeral {
			out = append(out, m)
		}
	}
	return out
}

func TestSentryIssueAfterPromotionOpensAnIncident(t *testing.T) {
	h, base := startSignals(t, nil)
	// A promotion through the flow: the exception that follows names it.
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")

	if code := h.sendSentry(base, sentryOf(t, "issue", nil)); code != http.StatusOK {
		t.Fatalf("issue/created answered %d", code)
	}
	msg := h.posted(devyChan, "KeyError: 'card_token'")
	text := blocksText(msg)
	for _, want := range []string{"checkout.views.pay in charge_card", "SHOP-3K", "after promotion #1", "approved by <@" + bob + ">", "https://acme.sentry.io/issues/4821937465/"} {
		if !strings.Contains(text, want) {
			t.Errorf("the #devy message lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "caused by") {
		t.Errorf("the suspect line blames:\n%s", text)
	}

	// Open incident, clicked over the socket: SEV3, as it was posted in #devy.
	h.click(msg, signals.ActionOpenIncident, carol)
	h.reply(carol, "Opened incident #1 (SEV3)")
	ch := h.incidentChannel(1)
	h.posted(critChan, "SEV3 incident #1* opened by <@"+carol+">")
	brief := blocksText(h.posted(ch.ID, "Incident #1"))
	for _, want := range []string{"KeyError: 'card_token'", "Opened from an alert", "Exceptions first seen since promotion #1", "SHOP-3K"} {
		if !strings.Contains(brief, want) {
			t.Errorf("the briefing lacks %q:\n%s", want, brief)
		}
	}
	timeline := h.show(carol, 1)
	for _, want := range []string{"KeyError: 'card_token'", "promotion #1", "https://acme.sentry.io/issues/4821937465/"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, timeline)
		}
	}

	// A second click points to the incident.
	h.click(msg, signals.ActionOpenIncident, dave)
	h.reply(dave, "Incident #1 is already open")

	// A later delivery of the same issue lands on the timeline, not in a new message.
	if code := h.sendSentry(base, sentryOf(t, "resolved", nil)); code != http.StatusOK {
		t.Fatalf("issue/resolved answered %d", code)
	}
	waitfor.True(t, "the resolution on the timeline", func() bool { return strings.Contains(h.show(carol, 1), "resolved") })
	if n := len(h.channelMessages(devyChan)); n != 3 { // the request, its result and the exception
		t.Errorf("#devy has %d messages; want the exception posted once:%s", n, h.dump())
	}

	// The incident keeps the promotion it followed, for the change-failure rate.
	h.stop()
	db, err := bolt.Open(h.env["DEVY_DB_PATH"], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inc, err := db.Incident(1)
	if err != nil || inc.SuspectPromotion != 1 || inc.Commander != carol || inc.Severity != "SEV3" {
		t.Errorf("incident #1 = %+v, %v; want SEV3, commander carol, suspect promotion #1", inc, err)
	}
}

func TestSentryEventAlertPostsInCritical(t *testing.T) {
	h, base := startSignals(t, nil)
	if code := h.sendSentry(base, sentryOf(t, "alert", nil)); code != http.StatusOK {
		t.Fatalf("event_alert answered %d", code)
	}
	msg := h.posted(critChan, "Checkout errors (page on-call)")
	h.click(msg, signals.ActionOpenIncident, alice)
	h.reply(alice, "Opened incident #1 (SEV2)")
	h.incidentChannel(1)
}

func TestAlertmanagerGroupFiresAndResolvesInPlace(t *testing.T) {
	h, base := startSignals(t, nil)
	if code := h.sendAlert(base, "Bearer "+amToken, alertOf(t, "critical")); code != http.StatusOK {
		t.Fatalf("a critical group answered %d", code)
	}
	msg := h.posted(critChan, "HighErrorRate")
	// Alertmanager re-sends a group after a failure: the same notification is one message.
	if code := h.sendAlert(base, "Bearer "+amToken, alertOf(t, "critical")); code != http.StatusOK {
		t.Fatalf("a repeated group answered %d", code)
	}
	if code := h.sendAlert(base, "Bearer "+amToken, alertOf(t, "resolved")); code != http.StatusOK {
		t.Fatalf("a resolved group answered %d", code)
	}
	h.wait("the message resolved in place", func(m fakeslack.Message) bool {
		return m.TS == msg.TS && m.Channel == critChan && strings.Contains(strings.ToLower(blocksText(m)), "resolved")
	})
	if n := len(h.channelMessages(critChan)); n != 1 {
		t.Errorf("#critical has %d messages; want one per group:%s", n, h.dump())
	}
	if n := len(h.channelMessages(devyChan)); n != 0 {
		t.Errorf("a critical group was posted in #devy:%s", h.dump())
	}
}

func TestSignalBadDeliveriesPostNothing(t *testing.T) {
	h, base := startSignals(t, map[string]string{"SENTRY_PROJECT": "shop"})
	good := sentryOf(t, "issue", nil)
	tests := []struct {
		name string
		send func() int
		want int
	}{
		{"unsigned", func() int { d := good; d.signature = "-"; return h.sendSentry(base, d) }, http.StatusUnauthorized},
		{"malformed signature", func() int { d := good; d.signature = "sha256=abc"; return h.sendSentry(base, d) }, http.StatusUnauthorized},
		{"wrong signature", func() int {
			d := good
			d.signature = sentry.Sign("not-the-secret", d.body)
			return h.sendSentry(base, d)
		}, http.StatusUnauthorized},
		{"replayed timestamp", func() int { d := good; d.timestamp = time.Now().Add(-11 * time.Minute); return h.sendSentry(base, d) }, http.StatusUnauthorized},
		{"over 5 MiB", func() int {
			d := good
			d.body = append([]byte(`{"action":"created","data":"`), bytes.Repeat([]byte("x"), 5<<20)...)
			d.body = append(d.body, `"}`...)
			return h.sendSentry(base, d)
		}, http.StatusRequestEntityTooLarge},
		{"malformed JSON", func() int {
			d := good
			d.requestID = newRequestID()
			d.body = []byte(`{"action":`)
			return h.sendSentry(base, d)
		}, http.StatusBadRequest},
		{"unknown resource", func() int {
			d := good
			d.requestID, d.resource = newRequestID(), "comment"
			return h.sendSentry(base, d)
		}, http.StatusOK},
		{"another project", func() int {
			d := sentryOf(t, "issue", func(m map[string]any) {
				m["data"].(map[string]any)["issue"].(map[string]any)["project"] = map[string]any{"id": "9", "name": "admin", "slug": "admin"}
			})
			return h.sendSentry(base, d)
		}, http.StatusOK},
		{"alertmanager without token", func() int { return h.sendAlert(base, "", alertOf(t, "critical")) }, http.StatusUnauthorized},
		{"alertmanager basic auth", func() int { return h.sendAlert(base, "Basic dXNlcjpwYXNz", alertOf(t, "critical")) }, http.StatusUnauthorized},
		{"alertmanager wrong token", func() int { return h.sendAlert(base, "Bearer nope", alertOf(t, "critical")) }, http.StatusUnauthorized},
		{"alertmanager malformed", func() int { return h.sendAlert(base, "Bearer "+amToken, []byte(`{"version":"3"}`)) }, http.StatusBadRequest},
	}
	for _, tt := range tests {
		if got := tt.send(); got != tt.want {
			t.Errorf("%s: answered %d, want %d", tt.name, got, tt.want)
		}
	}
	// Give a wrongly accepted delivery the time its post would take.
	time.Sleep(1500 * time.Millisecond)
	if n := len(h.calls("chat.postMessage")); n != 0 {
		t.Fatalf("bad deliveries posted %d messages:%s", n, h.dump())
	}
	// Nothing was stored either: the refused deliveries' Request-ID is still new.
	if code := h.sendSentry(base, good); code != http.StatusOK {
		t.Fatalf("the good delivery answered %d", code)
	}
	h.posted(devyChan, "KeyError: 'card_token'")
}

func TestSignalMarkupIsInert(t *testing.T) {
	h, base := startSignals(t, nil)
	d := sentryOf(t, "issue", func(m map[string]any) {
		issue := m["data"].(map[string]any)["issue"].(map[string]any)
		issue["title"] = "<!channel> boom <@U0ALICE001> " + strings.Repeat("x", 4000)
		issue["culprit"] = "<https://evil.example|click me>"
	})
	if code := h.sendSentry(base, d); code != http.StatusOK {
		t.Fatalf("answered %d", code)
	}
	msg := h.posted(devyChan, "boom")
	text := blocksText(msg)
	for _, bad := range []string{"<!channel>", "<@U0ALICE001>", "<https://evil.example"} {
		if strings.Contains(text, bad) {
			t.Errorf("the message carries live markup %q:\n%s", bad, text)
		}
	}
	am := alertOf(t, "critical")
	am = bytes.ReplaceAll(am, []byte(`"instance":"web-2"`), []byte(`"instance":"\u003c!here\u003e"`))
	if code := h.sendAlert(base, "Bearer "+amToken, am); code != http.StatusOK {
		t.Fatalf("answered %d", code)
	}
	if text := blocksText(h.posted(critChan, "HighErrorRate")); strings.Contains(text, "<!here>") {
		t.Errorf("an alert label carries live markup:\n%s", text)
	}
}
