package app

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/commands/stats"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// /deploy stats is one of /deploy's subcommands, routed through the core
// router like the others, and answers in the channel.
func TestDeployStats(t *testing.T) {
	h := start(t, nil)
	h.slash(alice, devyChan, "/deploy", "stats 7d")
	m := h.wait("the stats reply", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(blocksText(m), "last 7 days")
	})
	if text := blocksText(m); !strings.Contains(text, "No promotions in the last 7 days") {
		t.Errorf("stats with no records said:\n%s", text)
	}
	h.slash(alice, devyChan, "/deploy", "help")
	h.reply(alice, "/deploy stats [7d|30d|90d]")
}

// Two Devy processes sharing one slot store post the weekly digest once:
// each loop ticks at start, and only the one that takes the slot posts.
func TestDigestLoopPostsOncePerSlotAcrossReplicas(t *testing.T) {
	cfg := config.Config{Digest: "mon 09:00", TimeZone: time.UTC}
	slots := statsSlots(commandstest.Store(t))
	var poster commandstest.Recorder
	monday := time.Date(2026, 3, 2, 9, 0, 30, 0, time.UTC) // 30 s after the slot
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var ticks atomic.Int32
	now := func() time.Time { ticks.Add(1); return monday }
	for range 2 {
		g, err := newDigester(cfg, emptyStatsSource{}, slots, &poster, "#devy")
		if err != nil || g == nil {
			t.Fatalf("newDigester: %v, %v", g, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runDigest(ctx, g, now, time.Millisecond, zerolog.Nop())
		}()
	}
	waitfor.True(t, "the digest", func() bool { return strings.Contains(poster.Message("1").Text, "Weekly digest") })
	waitfor.True(t, "more ticks of both loops", func() bool { return ticks.Load() >= 20 })
	cancel()
	wg.Wait()
	if m := poster.Message("2"); m.Text != "" {
		t.Errorf("a second digest was posted: %q", m.Text)
	}
}

// DEVY_DIGEST "off" builds no digest; a schedule that does not parse stops
// Devy at start with one line naming the variable.
func TestDigestConfig(t *testing.T) {
	tests := []struct {
		digest  string
		off     bool
		wantErr string
	}{
		{digest: "mon 09:00"},
		{digest: "friday 17:30"},
		{digest: "off", off: true},
		{digest: "someday", wantErr: "DEVY_DIGEST: "},
		{digest: "mon 25:00", wantErr: "DEVY_DIGEST: "},
	}
	for _, tc := range tests {
		t.Run(tc.digest, func(t *testing.T) {
			g, err := newDigester(config.Config{Digest: tc.digest}, emptyStatsSource{}, statsSlots(commandstest.Store(t)), &commandstest.Recorder{}, "#devy")
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %v; want one line starting %q", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case (g == nil) != tc.off:
				t.Errorf("digester %v; off %v", g, tc.off)
			}
		})
	}
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

// DEVY_SUSPECT_WINDOW reaches /deploy stats, the digest, the App Home and
// /metrics; a Config built by hand gets config's default.
func TestSuspectWindowFromConfig(t *testing.T) {
	for _, tc := range []struct {
		set, want time.Duration
	}{{0, 2 * time.Hour}, {30 * time.Minute, 30 * time.Minute}} {
		if got := suspectWindow(config.Config{SuspectWindow: tc.set}); got != tc.want {
			t.Errorf("suspectWindow(%s) = %s, want %s", tc.set, got, tc.want)
		}
	}
}
