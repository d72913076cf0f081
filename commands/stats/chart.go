package stats

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"strconv"

	"github.com/golang/freetype/truetype"
	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"
	"github.com/wcharczuk/go-chart/v2/roboto"
)

// chartSpan is how much history a chart needs: one weekly bar says nothing
// a sentence does not.
const chartSpan = week

// The chart is four panels of panelW × panelH pixels, two by two.
const (
	panelW = 600
	panelH = 400
)

var (
	barColor  = drawing.Color{R: 0x36, G: 0x7c, B: 0xc1, A: 0xff}
	lineColor = drawing.Color{R: 0xc1, G: 0x5b, B: 0x36, A: 0xff}
	gridColor = drawing.Color{R: 0xdd, G: 0xdd, B: 0xdd, A: 0xff}
)

// HasChart reports whether the report's weekly series is worth drawing: the
// current period holds more than a week of records.
func (r Report) HasChart() bool { return len(r.Weeks) > 1 && r.Span > chartSpan }

// Chart draws the current period's weekly series as a PNG: four panels,
// one per key, one column per calendar week.
//
// go-chart parses its font only when a chart is drawn (gonum/plot parsed
// twelve fonts when the program started, megabytes for a chart drawn
// weekly); the font is parsed here, per chart, so that no two charts share
// the library's lazily set default.
func (r Report) Chart() ([]byte, error) {
	font, err := truetype.Parse(roboto.Roboto)
	if err != nil {
		return nil, fmt.Errorf("stats: chart font: %w", err)
	}
	labels := make([]string, len(r.Weeks))
	deploys := make([]float64, len(r.Weeks))
	failures := make([]float64, len(r.Weeks))
	var leads, restores series
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
			leads.add(i, w.Lead.Median.Hours())
		}
		if w.Restored > 0 {
			restores.add(i, w.RestoreTime.Hours())
		}
	}
	panels := []func() ([]byte, error){
		func() ([]byte, error) { return barPanel(font, "Deployments per week", labels, deploys) },
		func() ([]byte, error) { return linePanel(font, "Lead time for changes (median, hours)", labels, leads) },
		func() ([]byte, error) { return barPanel(font, "Change-failure rate (%)", labels, failures) },
		func() ([]byte, error) { return linePanel(font, "Time to restore (median, hours)", labels, restores) },
	}
	out := image.NewRGBA(image.Rect(0, 0, 2*panelW, 2*panelH))
	for i, draw1 := range panels {
		b, err := draw1()
		if err != nil {
			return nil, err
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("stats: decode chart panel: %w", err)
		}
		at := image.Pt(i%2*panelW, i/2*panelH)
		draw.Draw(out, image.Rectangle{Min: at, Max: at.Add(img.Bounds().Size())}, img, img.Bounds().Min, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("stats: encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

// series is a line's points: week index and value.
type series struct{ xs, ys []float64 }

func (s *series) add(week int, v float64) {
	s.xs = append(s.xs, float64(week))
	s.ys = append(s.ys, v)
}

// yAxis starts at zero and ends on a round number above the highest
// value, so that the tallest bar or point is not cut by the frame, with at
// most six ticks at round steps (0.1, 0.2, 0.5, 1, 2, 5, 10 …); 0–1 when
// everything is zero.
func yAxis(vs []float64) chart.YAxis {
	top := 0.0
	for _, v := range vs {
		top = max(top, v)
	}
	top = max(top*1.05, 1)
	step := 0.1
	for i := 0; top/step > 5; i++ {
		step *= []float64{2, 2.5, 2}[i%3]
	}
	var ticks []chart.Tick
	for n := 0; ; n++ {
		v := float64(n) * step
		ticks = append(ticks, chart.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		if v >= top {
			break
		}
	}
	return chart.YAxis{
		Range:          &chart.ContinuousRange{Min: 0, Max: ticks[len(ticks)-1].Value},
		Ticks:          ticks,
		GridMajorStyle: chart.Style{StrokeColor: gridColor, StrokeWidth: 1},
	}
}

// titleStyle is the same for both kinds of panel (go-chart's defaults
// differ).
var titleStyle = chart.Style{FontSize: 13}

func barPanel(font *truetype.Font, title string, labels []string, vs []float64) ([]byte, error) {
	bars := make([]chart.Value, len(vs))
	for i, v := range vs {
		bars[i] = chart.Value{Value: v, Label: labels[i], Style: chart.Style{FillColor: barColor, StrokeColor: barColor}}
	}
	c := chart.BarChart{
		Title: title, TitleStyle: titleStyle, Font: font, Width: panelW, Height: panelH,
		Background: chart.Style{Padding: chart.Box{Top: 40, Left: 20, Right: 10, Bottom: 30}},
		BarWidth:   max(4, 300/len(vs)), BarSpacing: max(2, 150/len(vs)),
		YAxis: yAxis(vs),
		Bars:  bars,
	}
	var buf bytes.Buffer
	if err := c.Render(chart.PNG, &buf); err != nil {
		return nil, fmt.Errorf("stats: chart %q: %w", title, err)
	}
	return buf.Bytes(), nil
}

func linePanel(font *truetype.Font, title string, labels []string, s series) ([]byte, error) {
	var ticks []chart.Tick
	for i, l := range labels {
		if l != "" {
			ticks = append(ticks, chart.Tick{Value: float64(i), Label: l})
		}
	}
	line := chart.Series(chart.ContinuousSeries{XValues: s.xs, YValues: s.ys,
		Style: chart.Style{StrokeColor: lineColor, StrokeWidth: 2, DotColor: lineColor, DotWidth: 4}})
	if len(s.xs) == 0 {
		// go-chart draws no chart without a series: say what is missing
		// where the line would be.
		line = chart.AnnotationSeries{Annotations: []chart.Value2{{XValue: float64(len(labels)-1) / 2, YValue: 0.5, Label: "no data in this period"}}}
	}
	c := chart.Chart{
		Title: title, TitleStyle: titleStyle, Font: font, Width: panelW, Height: panelH,
		Background: chart.Style{Padding: chart.Box{Top: 40, Left: 20, Right: 10, Bottom: 10}},
		XAxis:      chart.XAxis{Range: &chart.ContinuousRange{Min: -0.5, Max: float64(len(labels)) - 0.5}, Ticks: ticks},
		YAxis:      yAxis(s.ys),
		Series:     []chart.Series{line},
	}
	var buf bytes.Buffer
	if err := c.Render(chart.PNG, &buf); err != nil {
		return nil, fmt.Errorf("stats: chart %q: %w", title, err)
	}
	return buf.Bytes(), nil
}
