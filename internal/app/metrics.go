package app

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/stats"
	"github.com/devy-chatops/devy/internal/metrics"
	"github.com/devy-chatops/devy/store"
)

// observers are what hears of Devy's work beyond the chat: /metrics when
// DEVY_METRICS_TOKEN and PORT are set.
type observers struct {
	metrics *metrics.Metrics // nil: /metrics is off
}

// gaugesEvery is how often the open-incident and DORA gauges are read from
// the records. Prometheus scrapes every 15 s to a minute; the keys move
// over days.
const gaugesEvery = time.Minute

// promotionFinished records a finished promotion on m (nil: /metrics is
// off). The promotion call follows the approval at once, so the duration
// runs from the decision to the outcome.
func promotionFinished(m *metrics.Metrics, r store.PromotionRequest) {
	if m == nil {
		return
	}
	var took time.Duration
	if !r.DecidedAt.IsZero() && r.FinishedAt.After(r.DecidedAt) {
		took = r.FinishedAt.Sub(r.DecidedAt)
	}
	m.Promotion(r.Status, took)
}

// openIncidents is what the gauges read of incidents.
type openIncidents interface {
	Incidents() ([]store.Incident, error)
}

// refreshGauges sets the open-incident and DORA gauges now and every
// interval until ctx ends.
func refreshGauges(ctx context.Context, m *metrics.Metrics, incidents openIncidents, src stats.Source, loc *time.Location, window time.Duration, every time.Duration, log zerolog.Logger) {
	commands.Every(ctx, every, func(ctx context.Context) {
		setGauges(ctx, m, incidents, src, loc, window, log)
	})
}

func setGauges(ctx context.Context, m *metrics.Metrics, incidents openIncidents, src stats.Source, loc *time.Location, window time.Duration, log zerolog.Logger) {
	if all, err := incidents.Incidents(); err != nil {
		log.Warn().Err(err).Msg("metrics: reading incidents failed; devy_open_incidents keeps its value")
	} else {
		n := 0
		for _, i := range all {
			if i.Open() {
				n++
			}
		}
		m.OpenIncidents(n)
	}
	now := time.Now()
	w := stats.WindowAt(stats.Month, now, loc)
	h, err := stats.Load(ctx, src, w)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn().Err(err).Msg("metrics: reading the DORA records failed; the devy_dora gauges keep their values")
		}
		return
	}
	k := stats.Compute(h, stats.Month, now, loc, window).Current
	m.SetDORA(metrics.DORA{
		DeploymentsPerDay: float64(k.Promotions) / float64(max(k.Days, 1)),
		LeadTime:          k.Lead.Median,
		ChangeFailureRate: k.ChangeFailureRate(),
		TimeToRestore:     k.RestoreTime,
	})
}
