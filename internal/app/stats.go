package app

import (
	"context"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/stats"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/shell"
)

// statsSource is where the DORA keys, the digest and the App Home read
// Devy's records. The store's adapter plugs in here.
func statsSource(db state) stats.DigestSource {
	_ = db
	return emptyStatsSource{}
}

// emptyStatsSource is a stats source with no records: every figure reads
// "no data" until the store's adapter replaces it in statsSource.
type emptyStatsSource struct{}

func (emptyStatsSource) Promotions(context.Context, time.Time, time.Time) ([]stats.Promotion, error) {
	return nil, nil
}

func (emptyStatsSource) Incidents(context.Context, time.Time, time.Time) ([]stats.Incident, error) {
	return nil, nil
}

func (emptyStatsSource) CriticalAlerts(context.Context, time.Time, time.Time) ([]stats.CriticalAlert, error) {
	return nil, nil
}

func (emptyStatsSource) OpenActionItems(context.Context) ([]stats.ActionItem, error) { return nil, nil }

// suspectWindow is DEVY_SUSPECT_WINDOW's default, until config reads it.
const suspectWindow = 2 * time.Hour

// newStats builds /deploy stats. The chart goes out through ui when it can
// share files (Slack's upload flow, or the shell's file writer); otherwise
// only the figures are posted.
func newStats(cfg config.Config, src stats.Source, ui chat) *stats.Stats {
	up, _ := ui.(stats.Uploader)
	if sh, ok := ui.(*shell.Shell); ok {
		// A terminal shows no image: the chart is written to a file in the
		// working directory and its path printed in the chat.
		up = stats.FileUploader{Out: shellWriter{sh}}
	}
	return stats.New(stats.Deps{
		Source: src, Poster: commands.Poster(ui), Uploader: up, Location: cfg.Location(), SuspectWindow: suspectWindow,
	})
}

// shellWriter prints into the shell's chat.
type shellWriter struct{ sh *shell.Shell }

func (w shellWriter) Write(p []byte) (int, error) {
	w.sh.Say("%s", p)
	return len(p), nil
}
