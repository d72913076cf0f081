// Package metrics is Devy's Prometheus instrumentation: the counters,
// histograms and gauges the contract names, on a registry of its own (never
// the global default one), served by an http.Handler behind a bearer token.
package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds Devy's metrics and the registry they are served from.
type Metrics struct {
	reg *prometheus.Registry

	promotions        *prometheus.CounterVec
	promotionDuration prometheus.Histogram
	commands          *prometheus.CounterVec
	ackLatency        prometheus.Histogram
	webhooks          *prometheus.CounterVec
	openIncidents     prometheus.Gauge

	deploymentsPerDay prometheus.Gauge
	leadTime          prometheus.Gauge
	changeFailure     prometheus.Gauge
	timeToRestore     prometheus.Gauge
}

// New registers every metric, with Go runtime and process metrics beside
// them, on a new registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		promotions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devy_promotions_total",
			Help: "Production promotions that finished, by outcome (succeeded, failed, cancelled).",
		}, []string{"outcome"}),
		promotionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "devy_promotion_duration_seconds",
			Help: "Time from the promotion call to its outcome.",
			// Promotions take minutes: 5 s up to about 21 minutes.
			Buckets: prometheus.ExponentialBuckets(5, 2, 9),
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devy_commands_total",
			Help: "Commands run, by command and outcome (ok, refused, error).",
		}, []string{"command", "outcome"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "devy_ack_latency_seconds",
			Help: "Time from receiving a Socket Mode envelope to acknowledging it; Slack allows 3 s.",
			// Finer than DefBuckets below a second, and up to past Slack's limit.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5},
		}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devy_webhook_deliveries_total",
			Help: "Webhook deliveries received, by service and outcome (accepted, duplicate, bad_signature, rejected, error).",
		}, []string{"service", "outcome"}),
		openIncidents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "devy_open_incidents",
			Help: "Incidents open now.",
		}),
		deploymentsPerDay: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "devy_dora_deployment_frequency_per_day",
			Help: "DORA deployment frequency: successful production promotions per day over the last 30 days.",
		}),
		leadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "devy_dora_lead_time_seconds",
			Help: "DORA lead time for changes: median from commit author date to production over the last 30 days.",
		}),
		changeFailure: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "devy_dora_change_failure_ratio",
			Help: "DORA change-failure rate: share of the last 30 days' promotions followed by an incident or critical alert within the suspect window (0 to 1).",
		}),
		timeToRestore: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "devy_dora_time_to_restore_seconds",
			Help: "DORA time to restore: median incident open to resolved over the last 30 days.",
		}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.promotions, m.promotionDuration, m.commands, m.ackLatency, m.webhooks, m.openIncidents,
		m.deploymentsPerDay, m.leadTime, m.changeFailure, m.timeToRestore,
	)
	return m
}

// Promotion records a finished promotion. took is zero when the duration is
// unknown (a promotion followed again after a restart), which records the
// outcome only.
func (m *Metrics) Promotion(outcome string, took time.Duration) {
	m.promotions.WithLabelValues(outcome).Inc()
	if took > 0 {
		m.promotionDuration.Observe(took.Seconds())
	}
}

// Command records a command run. command must come from the router's table
// (never raw user input), so the label's values stay few.
func (m *Metrics) Command(command, outcome string) {
	m.commands.WithLabelValues(command, outcome).Inc()
}

// Ack records how long an envelope waited for its acknowledgement.
func (m *Metrics) Ack(latency time.Duration) { m.ackLatency.Observe(latency.Seconds()) }

// WebhookDelivery records one webhook delivery.
func (m *Metrics) WebhookDelivery(service, outcome string) {
	m.webhooks.WithLabelValues(service, outcome).Inc()
}

// OpenIncidents sets how many incidents are open.
func (m *Metrics) OpenIncidents(n int) { m.openIncidents.Set(float64(n)) }

// DORA is the four keys as the gauges show them.
type DORA struct {
	DeploymentsPerDay float64
	LeadTime          time.Duration // median; zero without data
	ChangeFailureRate float64       // 0 to 1
	TimeToRestore     time.Duration // median; zero without data
}

// SetDORA sets the four keys' gauges.
func (m *Metrics) SetDORA(d DORA) {
	m.deploymentsPerDay.Set(d.DeploymentsPerDay)
	m.leadTime.Set(d.LeadTime.Seconds())
	m.changeFailure.Set(d.ChangeFailureRate)
	m.timeToRestore.Set(d.TimeToRestore.Seconds())
}

// Handler serves the metrics in Prometheus' format to requests that carry
// "Authorization: Bearer <token>", and 401 to any other. An empty token
// refuses everyone: /metrics is off unless DEVY_METRICS_TOKEN is set.
func (m *Metrics) Handler(token string) http.Handler {
	serve := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	// Comparing digests keeps the comparison's time independent of both
	// the token and how much of it a guess gets right, including its length.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if token == "" || !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="devy"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		serve.ServeHTTP(w, r)
	})
}
