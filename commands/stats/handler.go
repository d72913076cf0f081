package stats

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// Uploader shares a file in a channel (in a thread when threadTS is set).
// In Slack it is the files.getUploadURLExternal → upload →
// files.completeUploadExternal flow; in the shell, FileUploader.
type Uploader interface {
	Upload(ctx context.Context, channel, threadTS, filename, title string, png []byte) error
}

// Deps is what /deploy stats needs.
type Deps struct {
	Source   Source
	Poster   commands.Poster
	Uploader Uploader // nil: no chart
	Now      func() time.Time
	Location *time.Location // DEVY_TIMEZONE
	// SuspectWindow is DEVY_SUSPECT_WINDOW: how long after a promotion an
	// incident or a critical alert counts against it.
	SuspectWindow time.Duration
}

// Stats answers /deploy stats.
type Stats struct{ d Deps }

// New builds the stats command.
func New(d Deps) *Stats {
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Stats{d: d}
}

// Sub is the `stats` subcommand for /deploy's table.
func (s *Stats) Sub() commands.Sub {
	return commands.Sub{
		Name:    "stats",
		Args:    "[7d|30d|90d]",
		Help:    "the four DORA keys from Devy's records, beside the period before (default 30d)",
		Handler: s.Handle,
	}
}

// Handle runs /deploy stats [7d|30d|90d]. The reply goes to the channel:
// the keys are the team's. With more than a week of data the weekly chart
// follows in the reply's thread, so the message is posted first to have a
// thread to put it in.
func (s *Stats) Handle(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	p, err := ParsePeriod(args)
	if err != nil {
		return commands.Reply{}, err
	}
	now := s.d.Now()
	h, err := Load(ctx, s.d.Source, WindowAt(p, now, s.d.Location))
	if err != nil {
		return commands.Reply{}, err
	}
	r := Compute(h, p, now, s.d.Location, s.d.SuspectWindow)
	msg := r.Message()
	if s.d.Uploader == nil || s.d.Poster == nil || !r.HasChart() {
		return commands.Reply{Message: msg}, nil
	}
	png, err := r.Chart()
	if err != nil {
		return commands.Reply{}, err
	}
	posted, err := s.d.Poster.Post(ctx, req.ChannelID, req.ThreadTS, msg)
	if err != nil {
		return commands.Reply{}, fmt.Errorf("stats: post the %s keys: %w", p, err)
	}
	thread := req.ThreadTS
	if thread == "" {
		thread = posted.TS
	}
	name := fmt.Sprintf("devy-stats-%s-%s.png", p, r.To.Format("2006-01-02"))
	title := "Weekly delivery, last " + days(p)
	if err := s.d.Uploader.Upload(ctx, posted.Channel, thread, name, title, png); err != nil {
		return commands.Reply{}, fmt.Errorf("stats: upload the %s chart: %w", p, err)
	}
	return commands.Reply{}, nil
}

// FileUploader is the shell's Uploader: it writes the PNG into Dir and
// prints where, since a terminal cannot show it.
type FileUploader struct {
	Dir string // "" means the working directory
	Out io.Writer
}

// Upload writes png to Dir/filename and prints its path.
func (f FileUploader) Upload(_ context.Context, _, _, filename, title string, png []byte) error {
	path := filepath.Join(f.Dir, filepath.Base(filename))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("stats: write chart %s: %w", path, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if _, err := fmt.Fprintf(f.Out, "%s: %s\n", title, path); err != nil {
		return fmt.Errorf("stats: print chart path: %w", err)
	}
	return nil
}
