package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func scrape(t *testing.T, url, auth string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHandlerNeedsTheToken(t *testing.T) {
	tests := []struct {
		name, token, auth string
		want              int
	}{
		{"no header", "s3cret", "", http.StatusUnauthorized},
		{"wrong token", "s3cret", "Bearer s3crex", http.StatusUnauthorized},
		{"a prefix of the token", "s3cret", "Bearer s3c", http.StatusUnauthorized},
		{"not bearer", "s3cret", "Basic s3cret", http.StatusUnauthorized},
		{"empty bearer against no token", "", "Bearer ", http.StatusUnauthorized},
		{"right token", "s3cret", "Bearer s3cret", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(New().Handler(tt.token))
			defer srv.Close()
			resp := scrape(t, srv.URL, tt.auth)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestScrape(t *testing.T) {
	m := New()
	m.Promotion("succeeded", 90*time.Second)
	m.Promotion("succeeded", 200*time.Second)
	m.Promotion("failed", 0)
	m.Command("deploy", "ok")
	m.Command("deploy", "ok")
	m.Command("incident", "refused")
	m.Ack(40 * time.Millisecond)
	m.WebhookDelivery("github", "accepted")
	m.WebhookDelivery("sentry", "bad_signature")
	m.OpenIncidents(2)
	m.SetDORA(DORA{DeploymentsPerDay: 0.4, LeadTime: 5 * time.Hour, ChangeFailureRate: 0.25, TimeToRestore: 90 * time.Minute})

	srv := httptest.NewServer(m.Handler("s3cret"))
	defer srv.Close()
	resp := scrape(t, srv.URL, "Bearer s3cret")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f, ok := families[name]
		if !ok {
			t.Fatalf("%s missing from the scrape", name)
		}
	metrics:
		for _, mt := range f.Metric {
			for _, l := range mt.Label {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return mt.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				return mt.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(mt.GetHistogram().GetSampleCount())
			}
		}
		t.Fatalf("%s%v missing from the scrape", name, labels)
		return 0
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"devy_promotions_total", map[string]string{"outcome": "succeeded"}, 2},
		{"devy_promotions_total", map[string]string{"outcome": "failed"}, 1},
		{"devy_promotion_duration_seconds", nil, 2},
		{"devy_commands_total", map[string]string{"command": "deploy", "outcome": "ok"}, 2},
		{"devy_commands_total", map[string]string{"command": "incident", "outcome": "refused"}, 1},
		{"devy_ack_latency_seconds", nil, 1},
		{"devy_webhook_deliveries_total", map[string]string{"service": "github", "outcome": "accepted"}, 1},
		{"devy_webhook_deliveries_total", map[string]string{"service": "sentry", "outcome": "bad_signature"}, 1},
		{"devy_open_incidents", nil, 2},
		{"devy_dora_deployment_frequency_per_day", nil, 0.4},
		{"devy_dora_lead_time_seconds", nil, 18000},
		{"devy_dora_change_failure_ratio", nil, 0.25},
		{"devy_dora_time_to_restore_seconds", nil, 5400},
	}
	for _, tt := range tests {
		if got := value(tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("Go runtime metrics missing")
	}
	h := families["devy_promotion_duration_seconds"].Metric[0].GetHistogram()
	if got := h.GetSampleSum(); got != 290 {
		t.Errorf("promotion duration sum = %v, want 290", got)
	}
}

// Two Metrics never share state: each has its own registry.
func TestRegistriesAreSeparate(t *testing.T) {
	a, b := New(), New()
	a.Command("deploy", "ok")
	srv := httptest.NewServer(b.Handler("t"))
	defer srv.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(scrape(t, srv.URL, "Bearer t").Body)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := families["devy_commands_total"]; ok && len(f.Metric) > 0 {
		t.Errorf("b's scrape shows a's command: %v", f)
	}
}
