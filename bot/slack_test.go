package bot

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/internal/fakeslack"
)

// An ephemeral answer whose response_url no longer works (they last 30
// minutes; a form can take longer to fill in) is shown with
// chat.postEphemeral instead, where Devy is a member.
func TestEphemeralFallsBackWhenTheResponseURLIsSpent(t *testing.T) {
	fake, srv, api := testSlack(t, "response_url") // the spent URL below, on purpose
	fake.AddChannel("C0DEVY0001", "devy", fakeslack.BotUserID, "U0ALICE001")
	s := NewSlack(api)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	spent := srv.URL + "/response/999" // never handed out: Slack answers 404 expired_url
	if err := s.Ephemeral(ctx, "C0DEVY0001", "", "U0ALICE001", spent, commands.Message{Text: "Filed."}); err != nil {
		t.Fatalf("Ephemeral: %v", err)
	}
	m, err := fake.WaitMessage(ctx, func(m fakeslack.Message) bool { return m.Text == "Filed." })
	if err != nil || m.Via != "chat.postEphemeral" || m.User != "U0ALICE001" {
		t.Fatalf("the answer was %+v (%v); want it through chat.postEphemeral to U0ALICE001", m, err)
	}
	// With no channel to fall back on, the response_url's failure is the answer.
	if err := s.Ephemeral(ctx, "", "", "U0ALICE001", spent, commands.Message{Text: "Filed."}); err == nil {
		t.Errorf("a spent response_url without a channel reported success")
	}
}

// A pull request's link in a message that apps post (GitHub's puts it in an
// attachment's title_link; others in a block) is found as well as one in
// the text, and links the text already has are not repeated.
func TestMessageTextKeepsLinksOfAttachmentsAndBlocks(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"text only", `{"type":"message","text":"see <https://github.com/acme/shop/pull/7|#7>"}`,
			"see <https://github.com/acme/shop/pull/7|#7>"},
		{"attachment", `{"type":"message","text":"","attachments":[{"fallback":"[acme/shop] Pull request opened","title":"#8 Dark mode","title_link":"https://github.com/acme/shop/pull/8","text":"Adds a theme"}]}`,
			"https://github.com/acme/shop/pull/8"},
		{"rich text block", `{"type":"message","text":"PR","blocks":[{"type":"rich_text","block_id":"b","elements":[{"type":"rich_text_section","elements":[{"type":"link","url":"https://github.com/acme/shop/pull/9","text":"#9"}]}]}]}`,
			"PR\nhttps://github.com/acme/shop/pull/9"},
		{"section block repeating the text", `{"type":"message","text":"<https://github.com/acme/shop/pull/7|#7>","blocks":[{"type":"section","block_id":"s","text":{"type":"mrkdwn","text":"<https://github.com/acme/shop/pull/7|#7>"}}]}`,
			"<https://github.com/acme/shop/pull/7|#7>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m slack.Msg
			if err := json.Unmarshal([]byte(tc.raw), &m); err != nil {
				t.Fatal(err)
			}
			if got := messageText(m); got != tc.want {
				t.Errorf("messageText = %q, want %q", got, tc.want)
			}
		})
	}
}

// testSlack is a test Slack that fails the test on any request it has no
// route for (but those of allowed), and a client of it.
func testSlack(t *testing.T, allowed ...string) (*fakeslack.Server, *httptest.Server, *slack.Client) {
	t.Helper()
	fake := fakeslack.New("xoxb-test", "xapp-test")
	fake.FailOnUnmatched(t)
	for _, a := range allowed {
		fake.AllowUnmatched(a)
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetBaseURL(srv.URL)
	return fake, srv, slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/api/"))
}
