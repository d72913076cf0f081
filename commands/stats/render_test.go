package stats

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// text flattens a message the way the shell shows it, one block a line.
func text(m commands.Message) string {
	var lines []string
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case commands.Header:
			lines = append(lines, "# "+b.Text)
		case commands.Section:
			lines = append(lines, b.Text)
			for _, f := range b.Fields {
				lines = append(lines, "  | "+strings.ReplaceAll(f, "\n", " / "))
			}
		case commands.Context:
			lines = append(lines, "  ("+strings.Join(b.Texts, " ")+")")
		}
	}
	return strings.Join(lines, "\n")
}

func TestReportMessage(t *testing.T) {
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name   string
		h      History
		period Period
		text   string
		blocks string
	}{
		{
			name:   "no data",
			period: Month,
			text:   "No promotions in the last 30 days.",
			blocks: "No promotions in the last 30 days.",
		},
		{
			name:   "nothing now, something before",
			period: Week,
			h: History{Promotions: []Promotion{
				{Number: 1, FinishedAt: ago(8 * day), Outcome: Succeeded, CommitAuthorDates: authored(ago(8*day), 90*time.Minute)},
			}},
			text: "Delivery, last 7 days: 0 promotions.",
			blocks: `# Delivery, last 7 days
  (23 Jun 12:00 – 30 Jun 12:00 (UTC), beside the 7 days before.)
No promotions in the last 7 days.
*Deployment frequency*
  | *Last 7 days* · low / no promotions
  | *7 days before* · high / 1 promotion (1 a week)
*Lead time for changes*
  | *Last 7 days* · no band / no promotions
  | *7 days before* · elite / median 1h 30m, p90 1h 30m / over 1 commit
*Change-failure rate*
  | *Last 7 days* · no band / no promotions
  | *7 days before* · elite / 0% — 0 of 1 promotion
  (A promotion counts as a change failure when an incident or a critical alert follows it within 2h.)
*Time to restore*
  | *Last 7 days* · no band / no incidents resolved
  | *7 days before* · no band / no incidents resolved
  (Bands from DORA's 2023 Accelerate State of DevOps Report.)`,
		},
		{
			name:   "a month of promotions",
			period: Month,
			h: History{
				Promotions: []Promotion{
					{Number: 1, FinishedAt: ago(20 * day), Outcome: Succeeded},
					{Number: 2, FinishedAt: ago(10 * day), Outcome: Succeeded, CommitAuthorDates: authored(ago(10*day), 26*time.Hour)},
					{Number: 3, FinishedAt: ago(2 * day), Outcome: Succeeded, CommitAuthorDates: authored(ago(2*day), 3*time.Hour, 5*time.Hour)},
				},
				Incidents: []Incident{
					{Number: 4, Title: "db down", OpenedAt: ago(2*day - time.Hour), ResolvedAt: ago(2*day - 2*time.Hour)},
					{Number: 5, Title: "slow", OpenedAt: ago(time.Hour)},
				},
			},
			text: "Delivery, last 30 days: 3 promotions, median lead time 5h, change-failure rate 33.3%, median time to restore 1h.",
			blocks: `# Delivery, last 30 days
  (31 May 12:00 – 30 Jun 12:00 (UTC), beside the 30 days before.)
*Deployment frequency*
  | *Last 30 days* · medium / 3 promotions (0.7 a week)
  | *30 days before* · low / no promotions
*Lead time for changes*
  | *Last 30 days* · elite / median 5h, p90 1d 2h / over 3 commits
  | *30 days before* · no band / no promotions
  (Lead time from 2 of 3 promotions; older ones predate commit data.)
*Change-failure rate*
  | *Last 30 days* · low / 33.3% — 1 of 3 promotions
  | *30 days before* · no band / no promotions
  (A promotion counts as a change failure when an incident or a critical alert follows it within 2h.)
*Time to restore*
  | *Last 30 days* · high / median 1h / over 1 resolved incident
  | *30 days before* · no band / no incidents resolved
  (1 incident still open, not counted until resolved.)
  (Bands from DORA's 2023 Accelerate State of DevOps Report.)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Compute(tt.h, tt.period, now, time.UTC, 2*time.Hour).Message()
			if m.Text != tt.text {
				t.Errorf("text = %q\nwant   %q", m.Text, tt.text)
			}
			if got := text(m); got != tt.blocks {
				t.Errorf("blocks:\n%s\nwant:\n%s", got, tt.blocks)
			}
		})
	}
}

type fakeSource struct {
	h    History
	err  error
	from time.Time // the last range asked for
}

func (f *fakeSource) Promotions(_ context.Context, from, to time.Time) ([]Promotion, error) {
	f.from = from
	return f.h.Promotions, f.err
}

func (f *fakeSource) Incidents(context.Context, time.Time, time.Time) ([]Incident, error) {
	return f.h.Incidents, nil
}

func (f *fakeSource) CriticalAlerts(context.Context, time.Time, time.Time) ([]CriticalAlert, error) {
	return f.h.Alerts, nil
}

type posted struct {
	channel, thread string
	m               commands.Message
}

type fakePoster struct{ posts []posted }

func (f *fakePoster) Post(_ context.Context, channel, thread string, m commands.Message) (commands.Posted, error) {
	f.posts = append(f.posts, posted{channel, thread, m})
	return commands.Posted{Channel: "C0DEVY", TS: "1700000000.000100"}, nil
}

func (f *fakePoster) Update(context.Context, string, string, commands.Message) error { return nil }

type upload struct {
	channel, thread, filename, title string
	png                              []byte
}

type fakeUploader struct{ uploads []upload }

func (f *fakeUploader) Upload(_ context.Context, channel, thread, filename, title string, png []byte) error {
	f.uploads = append(f.uploads, upload{channel, thread, filename, title, png})
	return nil
}

// weekly is a promotion every few days over the last five weeks.
func weekly(now time.Time) History {
	var h History
	for i := 1; i <= 12; i++ {
		at := now.Add(-time.Duration(i) * 3 * day)
		h.Promotions = append(h.Promotions, Promotion{Number: uint64(i), FinishedAt: at, Outcome: Succeeded,
			CommitAuthorDates: authored(at, time.Duration(i)*time.Hour)})
	}
	h.Incidents = []Incident{{Number: 1, OpenedAt: now.Add(-9*day - time.Hour), ResolvedAt: now.Add(-9 * day)}}
	return h
}

func TestHandle(t *testing.T) {
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		args      []string
		h         History
		thread    string
		wantErr   string
		wantReply string // the reply's text, when it is the reply
		wantPost  bool
		wantFrom  time.Time
		uploadIn  string // thread of the chart
	}{
		{name: "bad period", args: []string{"5y"}, wantErr: "`/deploy stats` takes 7d, 30d or 90d (30d when left out), not `5y`."},
		{name: "no data", wantReply: "No promotions in the last 30 days.", wantFrom: now.AddDate(0, 0, -60)},
		{name: "a week has no chart", args: []string{"7d"}, h: weekly(now), wantReply: "Delivery, last 7 days: 2 promotions, median lead time 1h 30m, change-failure rate 0%.", wantFrom: now.AddDate(0, 0, -14)},
		{name: "a month has a chart in the reply's thread", h: weekly(now), wantPost: true, uploadIn: "1700000000.000100", wantFrom: now.AddDate(0, 0, -60)},
		{name: "asked in a thread: the chart stays there", args: []string{"90d"}, h: weekly(now), thread: "1699999999.000200", wantPost: true, uploadIn: "1699999999.000200", wantFrom: now.AddDate(0, 0, -180)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, poster, up := &fakeSource{h: tt.h}, &fakePoster{}, &fakeUploader{}
			s := New(Deps{Source: src, Poster: poster, Uploader: up, Now: func() time.Time { return now }, SuspectWindow: 2 * time.Hour})
			reply, err := s.Handle(t.Context(), commands.Request{Command: "deploy", ChannelID: "C0DEVY", ThreadTS: tt.thread}, tt.args)
			if tt.wantErr != "" {
				var ue *commands.UserError
				if !errors.As(err, &ue) || ue.Msg != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if !src.from.Equal(tt.wantFrom) {
				t.Errorf("read from %v, want %v", src.from, tt.wantFrom)
			}
			if !tt.wantPost {
				if reply.Text != tt.wantReply || reply.Ephemeral || len(poster.posts) != 0 || len(up.uploads) != 0 {
					t.Fatalf("reply %q (ephemeral %v), %d posts, %d uploads; want %q in channel only",
						reply.Text, reply.Ephemeral, len(poster.posts), len(up.uploads), tt.wantReply)
				}
				return
			}
			if !reply.Empty() || len(poster.posts) != 1 || len(up.uploads) != 1 {
				t.Fatalf("reply %q, %d posts, %d uploads; want the message posted and a chart", reply.Text, len(poster.posts), len(up.uploads))
			}
			if p := poster.posts[0]; p.channel != "C0DEVY" || p.thread != tt.thread {
				t.Errorf("posted in %s/%s, want C0DEVY/%s", p.channel, p.thread, tt.thread)
			}
			u := up.uploads[0]
			if u.channel != "C0DEVY" || u.thread != tt.uploadIn || !strings.HasPrefix(u.filename, "devy-stats-") {
				t.Errorf("uploaded %s to %s/%s, want C0DEVY/%s", u.filename, u.channel, u.thread, tt.uploadIn)
			}
			img, err := png.Decode(bytes.NewReader(u.png))
			if err != nil {
				t.Fatalf("chart is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
				t.Errorf("chart is %v, too small to read", b)
			}
		})
	}
}

func TestChartNeedsMoreThanAWeek(t *testing.T) {
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    History
		p    Period
		want bool
	}{
		{"no data", History{}, Month, false},
		{"six days of promotions", History{Promotions: []Promotion{{FinishedAt: now.Add(-6 * day), Outcome: Succeeded}}}, Month, false},
		{"eight days of promotions", History{Promotions: []Promotion{{FinishedAt: now.Add(-8 * day), Outcome: Succeeded}}}, Month, true},
		{"an incident eight days ago", History{Incidents: []Incident{{OpenedAt: now.Add(-8 * day)}}}, Month, true},
		{"a week's period", weekly(now), Week, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compute(tt.h, tt.p, now, time.UTC, time.Hour).HasChart(); got != tt.want {
				t.Errorf("HasChart = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFileUploader(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	u := FileUploader{Dir: dir, Out: &out}
	if err := u.Upload(t.Context(), "C1", "", "../devy-stats-30d.png", "Weekly delivery, last 30 days", []byte("png")); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	path := filepath.Join(dir, "devy-stats-30d.png")
	if b, err := os.ReadFile(path); err != nil || string(b) != "png" {
		t.Fatalf("file %s = %q, %v", path, b, err)
	}
	if got, want := out.String(), "Weekly delivery, last 30 days: "+path+"\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
