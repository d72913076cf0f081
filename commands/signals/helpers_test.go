package signals

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/internal/testclock"
)

var t0 = time.Date(2025, 3, 4, 14, 0, 0, 0, time.UTC)

// op is one call the recording Poster heard.
type op struct {
	Kind    string // post or update
	Channel string // the channel id
	TS      string
	At      time.Time
	Msg     commands.Message
}

// recPoster records posts and updates with the test clock's time.
type recPoster struct {
	clock *testclock.Clock
	mu    sync.Mutex // guards ops, n
	ops   []op
	n     int
}

var channelIDs = map[string]string{"#devy": "CDEVY", "#critical": "CCRIT"}

func (p *recPoster) Post(_ context.Context, channel, _ string, m commands.Message) (commands.Posted, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	id := channelIDs[channel]
	ts := fmt.Sprintf("1741096800.%06d", p.n)
	p.ops = append(p.ops, op{"post", id, ts, p.clock.Now(), m})
	return commands.Posted{Channel: id, TS: ts}, nil
}

func (p *recPoster) Update(_ context.Context, channel, ts string, m commands.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ops = append(p.ops, op{"update", channel, ts, p.clock.Now(), m})
	return nil
}

func (p *recPoster) take() []op {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.ops
	p.ops = nil
	return out
}

// fakeIncidents opens incidents in memory.
type fakeIncidents struct {
	mu       sync.Mutex // guards all
	opened   []IncidentRequest
	open     map[uint64]bool
	timeline map[uint64][]string
}

func (f *fakeIncidents) OpenFromSignal(_ context.Context, r IncidentRequest) (uint64, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, r)
	n := uint64(len(f.opened) + 6)
	f.open[n] = true
	return n, fmt.Sprintf("CINC%d", n), nil
}

func (f *fakeIncidents) AddToTimeline(_ context.Context, n uint64, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timeline[n] = append(f.timeline[n], text)
	return nil
}

func (f *fakeIncidents) IsOpen(_ context.Context, n uint64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open[n], nil
}

// fakePromotions knows a list of promotions.
type fakePromotions []Promotion

func (f fakePromotions) LastPromotion(_ context.Context, t time.Time) (Promotion, bool, error) {
	var best Promotion
	ok := false
	for _, p := range f {
		if !p.FinishedAt.After(t) && (!ok || p.FinishedAt.After(best.FinishedAt)) {
			best, ok = p, true
		}
	}
	return best, ok, nil
}

type desk struct {
	*Signals
	clock     *testclock.Clock
	poster    *recPoster
	incidents *fakeIncidents
	store     *MemStore
	seq       int
}

func newDesk(t *testing.T, promos ...Promotion) *desk {
	t.Helper()
	clock := testclock.New(t0)
	d := &desk{
		clock: clock, poster: &recPoster{clock: clock}, store: NewMemStore(),
		incidents: &fakeIncidents{open: map[uint64]bool{}, timeline: map[uint64][]string{}},
	}
	d.Signals = New(Deps{
		Config: Config{DevyChannel: "#devy", CriticalChannel: "#critical"},
		Store:  d.store, Poster: d.poster, Promotions: fakePromotions(promos), Incidents: d.incidents,
		Log: zerolog.Nop(), Now: clock.Now,
	})
	return d
}

// sentryBody reads a Sentry test body and changes fields at dotted paths
// ("data.issue.id").
func sentryBody(t *testing.T, file string, set map[string]any) []byte {
	t.Helper()
	return editJSON(t, filepath.Join("..", "..", "integrations", "sentry", "testdata", file), set)
}

func amBody(t *testing.T, file string, set map[string]any) []byte {
	t.Helper()
	return editJSON(t, filepath.Join("..", "..", "integrations", "alertmanager", "testdata", file), set)
}

func editJSON(t *testing.T, path string, set map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for k, val := range set {
		parts := strings.Split(k, ".")
		m := v
		for _, p := range parts[:len(parts)-1] {
			if i := strings.IndexByte(p, '['); i >= 0 { // alerts[1]
				var n int
				fmt.Sscanf(p[i:], "[%d]", &n)
				m = m[p[:i]].([]any)[n].(map[string]any)
				continue
			}
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = val
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (d *desk) sentry(t *testing.T, resource, file string, set map[string]any) {
	t.Helper()
	d.seq++
	if err := d.Sentry(context.Background(), resource, fmt.Sprintf("req-%d", d.seq), sentryBody(t, file, set)); err != nil {
		t.Fatalf("Sentry(%s): %v", file, err)
	}
}

func (d *desk) alert(t *testing.T, body []byte) {
	t.Helper()
	if err := d.Alertmanager(context.Background(), body); err != nil {
		t.Fatalf("Alertmanager: %v", err)
	}
}

// settle moves the clock past every pacing limit and flushes.
func (d *desk) settle() []op {
	for i := 0; i < 4; i++ {
		d.clock.Add(6 * time.Second)
		d.Flush(context.Background())
	}
	return d.poster.take()
}

// text is everything a message shows, for assertions.
func text(m commands.Message) string {
	parts := []string{m.Text}
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case commands.Header:
			parts = append(parts, b.Text)
		case commands.Section:
			parts = append(parts, b.Text)
		case commands.Actions:
			for _, btn := range b.Buttons {
				parts = append(parts, "["+btn.Text+"]")
			}
		}
	}
	return strings.Join(parts, "\n")
}

func button(t *testing.T, m commands.Message) commands.Button {
	t.Helper()
	bs := m.Buttons()
	if len(bs) != 1 {
		t.Fatalf("message has %d buttons, want 1:\n%s", len(bs), text(m))
	}
	return bs[0]
}

func count(ops []op, kind, channel string) int {
	n := 0
	for _, o := range ops {
		if o.Kind == kind && (channel == "" || o.Channel == channel) {
			n++
		}
	}
	return n
}

func last(t *testing.T, ops []op, channel string) op {
	t.Helper()
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i].Channel == channel {
			return ops[i]
		}
	}
	t.Fatalf("nothing in %s among %d ops", channel, len(ops))
	return op{}
}
