package app

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/devy-chatops/devy/internal/waitfor"
)

// GET /metrics is served on PORT only with DEVY_METRICS_TOKEN, asks for the
// token, and after one command and one promotion a real scrape shows them.
func TestMetricsScrape(t *testing.T) {
	port := freePort(t)
	h := start(t, map[string]string{"PORT": port, "DEVY_METRICS_TOKEN": "scrape-secret"})
	url := "http://127.0.0.1:" + port + "/metrics"

	h.slash(alice, devyChan, "/deploy", "status")
	h.reply(alice, "Pipeline shop")
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")

	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
	} {
		r, _ := http.NewRequest(http.MethodGet, url, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d; want %d", tc.name, resp.StatusCode, tc.want)
		}
	}

	scrape := func() map[string]*dto.MetricFamily {
		r, _ := http.NewRequest(http.MethodGet, url, nil)
		r.Header.Set("Authorization", "Bearer scrape-secret")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape status %d", resp.StatusCode)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatalf("parse the scrape: %v", err)
		}
		return families
	}
	// The promotion's outcome is counted as it is recorded, which may come
	// just after the message says it.
	var families map[string]*dto.MetricFamily
	waitfor.True(t, "the promotion in the scrape", func() bool {
		families = scrape()
		return families["devy_promotions_total"] != nil
	})
	counter := func(name string, labels map[string]string) float64 {
		f := families[name]
		if f == nil {
			t.Errorf("no %s in the scrape", name)
			return 0
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	if got := counter("devy_commands_total", map[string]string{"command": "deploy", "outcome": "ok"}); got < 2 {
		t.Errorf("devy_commands_total{command=deploy,outcome=ok} = %v; want the status and the promote", got)
	}
	if got := counter("devy_promotions_total", map[string]string{"outcome": "succeeded"}); got != 1 {
		t.Errorf("devy_promotions_total{outcome=succeeded} = %v; want 1", got)
	}
	if f := families["devy_ack_latency_seconds"]; f == nil || f.GetMetric()[0].GetHistogram().GetSampleCount() < 3 {
		t.Errorf("devy_ack_latency_seconds has no samples for the two commands and the click: %v", f)
	}
	if f := families["devy_promotion_duration_seconds"]; f == nil || f.GetMetric()[0].GetHistogram().GetSampleCount() != 1 {
		t.Errorf("devy_promotion_duration_seconds: %v; want one sample", f)
	}
	for _, name := range []string{"devy_open_incidents", "devy_dora_deployment_frequency_per_day", "devy_dora_lead_time_seconds",
		"devy_dora_change_failure_ratio", "devy_dora_time_to_restore_seconds", "go_goroutines"} {
		if families[name] == nil {
			t.Errorf("no %s in the scrape", name)
		}
	}
	if strings.Contains(h.logs.String(), "scrape-secret") {
		t.Errorf("the metrics token appears in the log")
	}
}

// Without DEVY_METRICS_TOKEN there is no /metrics at all.
func TestMetricsOffWithoutToken(t *testing.T) {
	port := freePort(t)
	start(t, map[string]string{"PORT": port})
	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without DEVY_METRICS_TOKEN: %d; want 404", resp.StatusCode)
	}
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}
