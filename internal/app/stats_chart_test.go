package app

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/png" // image.DecodeConfig reads the chart
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/testclock"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store"
	"github.com/devy-chatops/devy/store/bolt"
)

// seedPromotions writes a bbolt file holding a promotion every three days
// over the four weeks before now, each with a commit authored a day before
// it was requested: enough history for /deploy stats 30d to draw its
// chart. It returns the file's path for DEVY_DB_PATH.
func seedPromotions(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "devy.db")
	clk := testclock.New(time.Now().Add(-28 * 24 * time.Hour))
	db, err := bolt.Open(path, time.Second, bolt.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		status := store.StatusSucceeded
		if i%4 == 3 {
			status = store.StatusFailed
		}
		promoted(t, db, clk, store.PromotionRequest{Pipeline: "p1", StagingAppName: "shop-staging", ReleaseVersion: 40 + i,
			CompareURL: "https://github.test/o/r/compare/a...b", CommitCount: 1, Commits: []store.CommitInfo{
				{SHA: "c" + strconv.Itoa(i), AuthoredAt: clk.Now().Add(-24 * time.Hour), Message: "change " + strconv.Itoa(i)},
			}}, 20*time.Minute, status)
		clk.Add(3 * 24 * time.Hour)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// /deploy stats 30d over four weeks of history posts the keys in the
// channel it was typed in and shares the weekly chart in that message's
// thread through Slack's three-step upload: files.getUploadURLExternal
// with the file's name and length, the PNG's bytes POSTed to the URL it
// returned, and files.completeUploadExternal sharing that file id in the
// channel and thread. files.upload is retired and never called.
func TestDeployStatsUploadsTheChart(t *testing.T) {
	h := start(t, map[string]string{"DEVY_DB_PATH": seedPromotions(t)})
	h.slash(alice, otherChan, "/deploy", "stats 30d")
	m := h.wait("the stats reply in #random", func(m fakeslack.Message) bool {
		return m.Channel == otherChan && !m.Ephemeral && strings.Contains(blocksText(m), "last 30 days")
	})
	if text := blocksText(m); strings.Contains(text, "No promotions") {
		t.Errorf("stats over the seeded history said:\n%s", text)
	}
	f := waitfor.Value(t, "the chart to be shared", func() (fakeslack.File, bool) {
		fs := h.slack.Files()
		if len(fs) == 0 {
			return fakeslack.File{}, false
		}
		return fs[0], true
	})
	if n := len(h.slack.Files()); n != 1 {
		t.Errorf("%d files shared, want 1", n)
	}

	// Where it went: the command's channel, in the reply's thread.
	if f.Channel != otherChan || f.ThreadTS != m.TS {
		t.Errorf("chart shared in %s thread %q; want %s thread %q (the stats reply)", f.Channel, f.ThreadTS, otherChan, m.TS)
	}
	if want := "Weekly delivery, last 30 days"; f.Title != want {
		t.Errorf("chart title %q, want %q", f.Title, want)
	}
	if !strings.HasPrefix(f.Name, "devy-stats-30d-") || !strings.HasSuffix(f.Name, ".png") {
		t.Errorf("chart file name %q, want devy-stats-30d-<date>.png", f.Name)
	}

	// What was POSTed to the upload URL: a PNG of a sensible size.
	if sig := []byte("\x89PNG\r\n\x1a\n"); !bytes.HasPrefix(f.Data, sig) {
		t.Errorf("uploaded bytes do not start with PNG's signature: % x", f.Data[:min(len(f.Data), 8)])
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(f.Data))
	if err != nil || format != "png" || cfg.Width < 200 || cfg.Height < 200 || cfg.Width > 4000 || cfg.Height > 4000 {
		t.Errorf("uploaded image: %s %dx%d, %v; want a PNG between 200 and 4000 pixels a side", format, cfg.Width, cfg.Height, err)
	}

	// The Web API calls, in Slack's argument names.
	var get, complete []fakeslack.Call
	order := map[string]int{}
	for i, c := range h.slack.APICalls() {
		switch c.Method {
		case "files.getUploadURLExternal":
			get = append(get, c)
			order[c.Method] = i
		case "files.completeUploadExternal":
			complete = append(complete, c)
			order[c.Method] = i
		}
	}
	if len(get) != 1 || len(complete) != 1 {
		t.Fatalf("%d files.getUploadURLExternal and %d files.completeUploadExternal calls, want 1 each", len(get), len(complete))
	}
	if order["files.getUploadURLExternal"] > order["files.completeUploadExternal"] {
		t.Errorf("files.completeUploadExternal was called before files.getUploadURLExternal")
	}
	if n := h.slack.Count("files.upload"); n != 0 {
		t.Errorf("the retired files.upload was called %d times", n)
	}
	g := get[0].Values
	if g.Get("filename") != f.Name || g.Get("length") != strconv.Itoa(len(f.Data)) {
		t.Errorf("files.getUploadURLExternal filename=%q length=%q; want %q and the %d bytes uploaded", g.Get("filename"), g.Get("length"), f.Name, len(f.Data))
	}
	c := complete[0].Values
	var files []map[string]string
	if err := json.Unmarshal([]byte(c.Get("files")), &files); err != nil {
		t.Fatalf("files.completeUploadExternal files=%q: %v", c.Get("files"), err)
	}
	if len(files) != 1 || files[0]["id"] != f.ID || files[0]["title"] != f.Title {
		t.Errorf("files.completeUploadExternal files=%s; want [{id:%s, title:%q}]", c.Get("files"), f.ID, f.Title)
	}
	if c.Get("channel_id") != otherChan || c.Get("thread_ts") != m.TS {
		t.Errorf("files.completeUploadExternal channel_id=%q thread_ts=%q; want %s and the reply's %s", c.Get("channel_id"), c.Get("thread_ts"), otherChan, m.TS)
	}
	// The keys are the message the chart hangs under, so the upload
	// carries no comment of its own.
	if c.Has("initial_comment") || c.Has("channels") {
		t.Errorf("files.completeUploadExternal initial_comment=%q channels=%q; want neither", c.Get("initial_comment"), c.Get("channels"))
	}
}

// A period /deploy stats does not know is answered to its typist alone in
// one sentence, and nothing is computed or uploaded.
func TestDeployStatsRefusesAnUnknownPeriod(t *testing.T) {
	h := start(t, map[string]string{"DEVY_DB_PATH": seedPromotions(t)})
	h.slash(alice, otherChan, "/deploy", "stats 45d")
	r := h.reply(alice, "`/deploy stats` takes 7d, 30d or 90d")
	if strings.Contains(r.Text, "\n") || strings.Count(r.Text, ". ") > 0 || !strings.HasSuffix(r.Text, ".") || !strings.Contains(r.Text, "45d") {
		t.Errorf("refusal %q; want one sentence naming 45d", r.Text)
	}
	for _, m := range h.slack.Messages() {
		if !m.Ephemeral {
			t.Errorf("a message for the channel was posted: %s: %s", m.Channel, m.Text)
		}
	}
	if n := h.slack.Count("files.*"); n != 0 || len(h.slack.Files()) != 0 {
		t.Errorf("%d files.* calls and %d files shared after a refused period", n, len(h.slack.Files()))
	}
}
