package bot

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

// A chart is shared with Slack's current upload flow, in the thread asked
// for: files.getUploadURLExternal, the bytes to the upload URL, then
// files.completeUploadExternal; never the retired files.upload.
func TestUploadSharesTheFileInTheThread(t *testing.T) {
	fake, _, api := testSlack(t)
	fake.AddChannel("C0DEVY0001", "devy", fakeslack.BotUserID)
	s := NewSlack(api)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	png := []byte("\x89PNG\r\n\x1a\nchart")
	if err := s.Upload(ctx, "C0DEVY0001", "1700000000.000100", "stats.png", "Weekly delivery", png); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	files := fake.Files()
	if len(files) != 1 {
		t.Fatalf("files shared: %+v; want one", files)
	}
	f := files[0]
	if f.Name != "stats.png" || f.Title != "Weekly delivery" || f.Channel != "C0DEVY0001" || f.ThreadTS != "1700000000.000100" || !bytes.Equal(f.Data, png) {
		t.Errorf("shared %+v; want stats.png titled Weekly delivery in the thread, with the bytes sent", f)
	}
	for _, m := range []string{"files.getUploadURLExternal", "files.completeUploadExternal"} {
		if fake.Count(m) != 1 {
			t.Errorf("%s called %d times; want once", m, fake.Count(m))
		}
	}
	if fake.Count("files.upload") != 0 {
		t.Errorf("the retired files.upload was called")
	}
}
