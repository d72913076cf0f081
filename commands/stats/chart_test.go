package stats

import (
	"bytes"
	"image/png"
	"os"
	"testing"
	"time"
)

// busyQuarter is a made-up 90 days: a few promotions a week, one in six
// failing, incidents that take hours to restore.
func busyQuarter(now time.Time) History {
	var h History
	for i := 1; i <= 40; i++ {
		at := now.Add(-time.Duration(i)*2*day - time.Duration(i%5)*time.Hour)
		p := Promotion{Number: uint64(i), FinishedAt: at, Outcome: Succeeded, CommitAuthorDates: authored(at, time.Duration(4+i%9)*time.Hour)}
		if i%6 == 0 {
			p.Outcome = Failed
		}
		h.Promotions = append(h.Promotions, p)
		if i%7 == 0 {
			h.Incidents = append(h.Incidents, Incident{Number: uint64(i), OpenedAt: at.Add(time.Hour), ResolvedAt: at.Add(time.Duration(2+i%4) * time.Hour), SuspectPromotion: uint64(i)})
		}
	}
	return h
}

// Every shape of history draws four panels into one readable PNG: a full
// quarter, a month without lead-time data or incidents (the line panels
// have nothing to draw), one point per line, all zeros.
func TestChartDrawsEveryHistory(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	one := now.Add(-10 * day)
	tests := []struct {
		name string
		h    History
		p    Period
	}{
		{"a busy quarter", busyQuarter(now), Quarter},
		{"promotions from before commit data, no incidents", History{Promotions: []Promotion{
			{Number: 1, FinishedAt: now.Add(-20 * day), Outcome: Succeeded},
			{Number: 2, FinishedAt: now.Add(-3 * day), Outcome: Failed},
		}}, Month},
		{"one point per line", History{
			Promotions: []Promotion{{Number: 1, FinishedAt: one, Outcome: Succeeded, CommitAuthorDates: authored(one, 3*time.Hour)}},
			Incidents:  []Incident{{Number: 1, OpenedAt: one.Add(time.Hour), ResolvedAt: one.Add(3 * time.Hour)}},
		}, Month},
		{"nothing shipped, an incident open", History{Incidents: []Incident{{Number: 1, OpenedAt: now.Add(-12 * day)}}}, Month},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute(tt.h, tt.p, now, time.UTC, 2*time.Hour)
			if !r.HasChart() {
				t.Fatalf("no chart for %d weeks over %v", len(r.Weeks), r.Span)
			}
			b, err := r.Chart()
			if err != nil {
				t.Fatalf("Chart: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if got := img.Bounds().Size(); got.X != 2*panelW || got.Y != 2*panelH {
				t.Errorf("chart is %v, want %dx%d", got, 2*panelW, 2*panelH)
			}
			// Each panel drew something: not one of them is a single colour.
			for i := range 4 {
				x0, y0 := i%2*panelW, i/2*panelH
				first, plain := img.At(x0+panelW/2, y0+panelH/2), true
				for y := y0; y < y0+panelH && plain; y += 7 {
					for x := x0; x < x0+panelW && plain; x += 7 {
						plain = img.At(x, y) == first
					}
				}
				if plain {
					t.Errorf("panel %d is blank", i+1)
				}
			}
		})
	}
}

// DEVY_WRITE_CHART=path writes the quarter's chart there: the README's
// picture is made with `DEVY_WRITE_CHART=$PWD/docs/stats-chart.png go test
// ./commands/stats -run TestWriteChart`.
func TestWriteChart(t *testing.T) {
	path := os.Getenv("DEVY_WRITE_CHART")
	if path == "" {
		t.Skip("set DEVY_WRITE_CHART to write the README's chart")
	}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	b, err := Compute(busyQuarter(now), Quarter, now, time.UTC, 2*time.Hour).Chart()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Two people asking for /deploy stats at once draw two charts at once:
// nothing in the drawing is shared (run with -race).
func TestChartsDrawnAtOnce(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r := Compute(busyQuarter(now), Quarter, now, time.UTC, 2*time.Hour)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := r.Chart()
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
