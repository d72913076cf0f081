package home

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/internal/waitfor"
)

type fakes struct {
	pipeline  Pipeline
	incidents []Incident
	apps      []ReviewApp
	keys      []string
	err       error

	mu        sync.Mutex // guards published
	published map[string]int
}

func (f *fakes) Pipeline(context.Context) (Pipeline, error)                { return f.pipeline, f.err }
func (f *fakes) OpenIncidents(context.Context) ([]Incident, error)         { return f.incidents, f.err }
func (f *fakes) ReviewAppsOf(context.Context, string) ([]ReviewApp, error) { return f.apps, f.err }
func (f *fakes) Keys(context.Context) ([]string, error)                    { return f.keys, f.err }
func (f *fakes) PublishHome(_ context.Context, user string, _ commands.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published[user]++
	return nil
}

func (f *fakes) count(user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.published[user]
}

func newHome(f *fakes, d Deps) *Home {
	d.Deploy, d.Incidents, d.ReviewApps, d.Keys, d.Publisher = f, f, f, f, f
	if d.Bg == nil {
		d.Bg = commands.NewBackground(context.Background())
	}
	d.Log = zerolog.Nop()
	return New(d)
}

// Whatever the records hold, the view stays within Slack's limits for a
// Home tab: 100 blocks, 3,000 characters of section text, 10 fields of
// 2,000, headers of 150.
func TestViewWithinSlackLimits(t *testing.T) {
	long := strings.Repeat("x<&>", 2000)
	huge := &fakes{
		pipeline: Pipeline{Name: long, Staging: long, Ahead: long, CI: long, Lock: long, Pending: long, CanRequest: true},
		keys:     []string{long, long},
	}
	for i := range 500 {
		huge.pipeline.Production = append(huge.pipeline.Production, long)
		huge.incidents = append(huge.incidents, Incident{Number: uint64(i), Title: long, Severity: "SEV1", OpenedAt: time.Now()})
		huge.apps = append(huge.apps, ReviewApp{PR: i, Branch: long, Status: "created"})
	}
	usage := make([]string, 200)
	for i := range usage {
		usage[i] = long
	}
	tests := []struct {
		name string
		f    *fakes
		want []string
	}{
		{"empty", &fakes{}, []string{"No open incidents.", "You have no review apps"}},
		{"unreadable", &fakes{err: errors.New("boom")}, []string{"I couldn't read the pipeline", "I couldn't read the incidents"}},
		{"huge", huge, []string{"…and 490 more."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newHome(tc.f, Deps{Usage: usage}).View(context.Background(), "U1")
			if len(m.Blocks) > maxBlocks {
				t.Errorf("%d blocks; Slack allows %d", len(m.Blocks), maxBlocks)
			}
			var all strings.Builder
			for _, b := range m.Blocks {
				switch b := b.(type) {
				case commands.Header:
					if utf8.RuneCountInString(b.Text) > maxHeader {
						t.Errorf("header of %d characters", utf8.RuneCountInString(b.Text))
					}
					all.WriteString(b.Text)
				case commands.Section:
					if utf8.RuneCountInString(b.Text) > maxSection || len(b.Fields) > maxFields {
						t.Errorf("section of %d characters and %d fields", utf8.RuneCountInString(b.Text), len(b.Fields))
					}
					for _, f := range b.Fields {
						if utf8.RuneCountInString(f) > maxField {
							t.Errorf("field of %d characters", utf8.RuneCountInString(f))
						}
					}
					all.WriteString(b.Text)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("view lacks %q", w)
				}
			}
			if strings.Contains(all.String(), "x<&>") && tc.name == "huge" && strings.Contains(all.String(), "#0 x<") {
				t.Errorf("an incident title reached the view unescaped")
			}
		})
	}
}

// After a change, people who opened Home within the watch get a fresh
// view; several changes within Every make one publish, and people who
// opened it longer ago get none.
func TestChangedRefreshesRecentViewersAtMostOncePerInterval(t *testing.T) {
	f := &fakes{published: map[string]int{}}
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h := newHome(f, Deps{Now: clock, Watch: 10 * time.Minute, Every: 50 * time.Millisecond})

	if _, err := h.Opened(context.Background(), "U_OLD"); err != nil {
		t.Fatal(err)
	}
	advance(11 * time.Minute)
	if _, err := h.Opened(context.Background(), "U_NEW"); err != nil {
		t.Fatal(err)
	}
	advance(time.Second) // past Every since the opening's publish
	for range 5 {
		h.Changed()
	}
	waitfor.True(t, "U_NEW's refresh", func() bool { return f.count("U_NEW") == 1 })
	h.Changed() // within Every of the refresh: waits, then publishes once
	h.Changed()
	advance(time.Second)
	waitfor.True(t, "U_NEW's second refresh", func() bool { return f.count("U_NEW") == 2 })
	if n := f.count("U_OLD"); n != 0 {
		t.Errorf("U_OLD opened Home 11 minutes before and got %d refreshes", n)
	}
}
