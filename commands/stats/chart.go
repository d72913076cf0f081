package stats

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// chartSpan is how much history a chart needs: one weekly bar says nothing
// a sentence does not.
const chartSpan = week

// HasChart reports whether the report's weekly series is worth drawing: the
// current period holds more than a week of records.
func (r Report) HasChart() bool { return len(r.Weeks) > 1 && r.Span > chartSpan }

// Chart draws the current period's weekly series as a PNG: four panels,
// one per key, one column per calendar week.
func (r Report) Chart() ([]byte, error) {
	labels := make([]string, len(r.Weeks))
	deploys := make(plotter.Values, len(r.Weeks))
	failures := make(plotter.Values, len(r.Weeks))
	var leads, restores plotter.XYs
	// A 90-day chart has thirteen weeks: labelling each would run them
	// into one another, so at most seven are labelled.
	every := (len(r.Weeks) + 6) / 7
	for i, w := range r.Weeks {
		if i%every == 0 {
			labels[i] = w.From.Format("2 Jan")
		}
		deploys[i] = float64(w.Promotions)
		failures[i] = w.ChangeFailureRate() * 100
		if w.Lead.Commits > 0 {
			leads = append(leads, plotter.XY{X: float64(i), Y: w.Lead.Median.Hours()})
		}
		if w.Restored > 0 {
			restores = append(restores, plotter.XY{X: float64(i), Y: w.RestoreTime.Hours()})
		}
	}
	panels := [][]*plot.Plot{{nil, nil}, {nil, nil}}
	var err error
	if panels[0][0], err = barPanel("Deployments per week", "promotions", labels, deploys); err != nil {
		return nil, err
	}
	if panels[0][1], err = linePanel("Lead time for changes (median)", "hours", labels, leads); err != nil {
		return nil, err
	}
	if panels[1][0], err = barPanel("Change-failure rate", "%", labels, failures); err != nil {
		return nil, err
	}
	if panels[1][1], err = linePanel("Time to restore (median)", "hours", labels, restores); err != nil {
		return nil, err
	}

	img := vgimg.New(vg.Points(900), vg.Points(600))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadTop: vg.Points(10), PadBottom: vg.Points(10),
		PadLeft: vg.Points(10), PadRight: vg.Points(10), PadX: vg.Points(20), PadY: vg.Points(20)}
	canvases := plot.Align(panels, tiles, dc)
	for i := range panels {
		for j := range panels[i] {
			panels[i][j].Draw(canvases[i][j])
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("stats: encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

func panel(title, unit string, labels []string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	p.NominalX(labels...)
	p.Add(plotter.NewGrid())
	return p
}

func barPanel(title, unit string, labels []string, vs plotter.Values) (*plot.Plot, error) {
	p := panel(title, unit, labels)
	bars, err := plotter.NewBarChart(vs, vg.Points(20))
	if err != nil {
		return nil, fmt.Errorf("stats: chart %q: %w", title, err)
	}
	bars.Color = color.RGBA{R: 0x36, G: 0x7c, B: 0xc1, A: 0xff}
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.Y.Max = max(p.Y.Max*1.1, 1) // headroom, so the tallest bar is not cut by the frame
	return p, nil
}

func linePanel(title, unit string, labels []string, xys plotter.XYs) (*plot.Plot, error) {
	p := panel(title, unit, labels)
	if len(xys) > 0 {
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("stats: chart %q: %w", title, err)
		}
		line.Color = color.RGBA{R: 0xc1, G: 0x5b, B: 0x36, A: 0xff}
		points.Color = line.Color
		p.Add(line, points)
	}
	p.Y.Max = max(p.Y.Max, 1)
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	return p, nil
}
