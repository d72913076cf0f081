package app

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/commands/signals"
	"github.com/devy-chatops/devy/commands/stats"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/shell"
)

// statsSource is where the DORA keys, the digest and the App Home read
// Devy's records.
func statsSource(db state) stats.DigestSource { return newStatsSource(db) }

// suspectWindow is DEVY_SUSPECT_WINDOW: how long after a promotion an
// incident or a critical alert makes it a change failure. A Config built by
// hand (tests) that leaves it zero gets config's default.
func suspectWindow(cfg config.Config) time.Duration {
	if cfg.SuspectWindow <= 0 {
		return signals.DefaultSuspectWindow
	}
	return cfg.SuspectWindow
}

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
		Source: src, Poster: commands.Poster(ui), Uploader: up, Location: cfg.Location(), SuspectWindow: suspectWindow(cfg),
	})
}

// shellWriter prints into the shell's chat.
type shellWriter struct{ sh *shell.Shell }

func (w shellWriter) Write(p []byte) (int, error) {
	w.sh.Say("%s", p)
	return len(p), nil
}

// statsSlots is where replicas claim digest slots: the store's TakeSlot,
// shared by every process on one database.
func statsSlots(db state) stats.SlotStore { return newStatsSource(db) }

// digestEvery is how often the digest loop looks for a due slot. A minute
// keeps the digest within a minute of its time; Tick costs a clock read
// when nothing is due.
const digestEvery = time.Minute

// newDigester builds the weekly digest from DEVY_DIGEST, or nil when it is
// off. A schedule that does not parse stops Devy at start, naming the
// variable.
func newDigester(cfg config.Config, src stats.DigestSource, slots stats.SlotStore, poster commands.Poster, channel string) (*stats.Digester, error) {
	sched, err := stats.ParseSchedule(cfg.Digest, cfg.Location())
	if err != nil {
		return nil, err
	}
	if sched.Off {
		return nil, nil
	}
	return stats.NewDigester(stats.DigestDeps{
		Schedule: sched, Source: src, Poster: poster, Slots: slots, Channel: channel, SuspectWindow: suspectWindow(cfg),
	}), nil
}

// runDigest ticks g until ctx ends: once at start, so a Devy that was down
// at the slot and is back within a day still posts it, then every interval.
func runDigest(ctx context.Context, g *stats.Digester, now func() time.Time, every time.Duration, log zerolog.Logger) {
	commands.Every(ctx, every, func(ctx context.Context) {
		posted, err := g.Tick(ctx, now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error().Err(err).Msg("weekly digest failed; it is skipped this week")
		case posted:
			log.Info().Msg("weekly digest posted")
		}
	})
}

// slackChannel is a configured channel as chat.postMessage takes it: an id
// as is, a name with "#".
func slackChannel(c string) string {
	if format.IsChannelID(c) {
		return c
	}
	return "#" + c
}
