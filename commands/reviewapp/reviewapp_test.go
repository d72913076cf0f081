package reviewapp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/store"
)

func TestParseReviewArgs(t *testing.T) {
	link := prLinkPattern("acme/shop", "https://github.com/acme/shop")
	tests := []struct {
		args    string
		want    reviewArgs
		wantErr string
	}{
		{"123", reviewArgs{123, reviewCreate}, ""},
		{"#123", reviewArgs{123, reviewCreate}, ""},
		{"7 status", reviewArgs{7, reviewStatus}, ""},
		{"7 STATUS", reviewArgs{7, reviewStatus}, ""},
		{"7 destroy", reviewArgs{7, reviewDestroy}, ""},
		{"<https://github.com/acme/shop/pull/42>", reviewArgs{42, reviewCreate}, ""},
		{"<https://github.com/acme/shop/pull/42|#42> status", reviewArgs{42, reviewStatus}, ""},
		{"2147483647", reviewArgs{2147483647, reviewCreate}, ""},
		{"", reviewArgs{}, "Tell me which pull request: type `/reviewapp 123`"},
		{"abc", reviewArgs{}, "`abc` is not a pull request number; type `/reviewapp 123` with the number of an open pull request, or `/reviewapp help`."},
		{"-1", reviewArgs{}, "`-1` is not a pull request number"},
		{"+1", reviewArgs{}, "`+1` is not a pull request number"},
		{"0", reviewArgs{}, "`0` is not a pull request number"},
		{"1.5", reviewArgs{}, "`1.5` is not a pull request number"},
		{"2147483648", reviewArgs{}, "`2147483648` is not a pull request number"},
		{"99999999999999999999", reviewArgs{}, "`99999999999999999999` is not a pull request number"},
		{"#", reviewArgs{}, "`#` is not a pull request number"},
		{"<!channel>", reviewArgs{}, "`&lt;!channel&gt;` is not a pull request number"},
		{"<https://github.com/other/repo/pull/3>", reviewArgs{}, "is not a pull request number"},
		{"12 frobnicate", reviewArgs{}, "I don't know `/reviewapp 12 frobnicate`; type `/reviewapp 12`, `/reviewapp 12 status` or `/reviewapp 12 destroy`."},
		{"12 status now", reviewArgs{}, "I don't know `/reviewapp 12 status now`"},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			got, err := parseReviewArgs(strings.Fields(tc.args), "/reviewapp", link)
			if tc.wantErr != "" {
				var ue *commands.UserError
				if !errors.As(err, &ue) || !strings.Contains(ue.Msg, tc.wantErr) {
					t.Fatalf("error = %v; want a user error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestFindPRLink(t *testing.T) {
	link := prLinkPattern("acme/shop", "https://ghe.example.com/acme/shop")
	tests := []struct {
		name, text string
		want       int
	}{
		{"Slack-wrapped", "New PR <https://github.com/acme/shop/pull/7>", 7},
		{"with a label", "<https://github.com/acme/shop/pull/7|#7 Dark mode> by erin", 7},
		{"bare", "see https://github.com/acme/shop/pull/12 please", 12},
		{"at the end", "https://github.com/acme/shop/pull/12", 12},
		{"files tab", "<https://github.com/acme/shop/pull/9/files>", 9},
		{"a comment", "<https://github.com/acme/shop/pull/9#issuecomment-1>", 9},
		{"punctuation", "(https://github.com/acme/shop/pull/9).", 9},
		{"case", "<HTTPS://GitHub.com/Acme/Shop/pull/5>", 5},
		{"GitHub Enterprise", "<https://ghe.example.com/acme/shop/pull/3>", 3},
		{"first of several", "<https://github.com/acme/shop/pull/3> and <https://github.com/acme/shop/pull/4>", 3},
		{"another repo first", "<https://github.com/acme/other/pull/3> then <https://github.com/acme/shop/pull/4>", 4},
		{"another repo", "<https://github.com/acme/shopfront/pull/3>", 0},
		{"another owner", "<https://github.com/xacme/shop/pull/3>", 0},
		{"another host", "<https://gitlab.com/acme/shop/pull/3>", 0},
		{"an issue", "<https://github.com/acme/shop/issues/3>", 0},
		{"digits run on", "https://github.com/acme/shop/pull/3abc", 0},
		{"number zero", "https://github.com/acme/shop/pull/0", 0},
		{"too big", "https://github.com/acme/shop/pull/99999999999999999999", 0},
		{"nothing", "Lunch?", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findPRLink(tc.text, link)
			if got != tc.want || ok != (tc.want != 0) {
				t.Fatalf("findPRLink(%q) = %d, %v; want %d", tc.text, got, ok, tc.want)
			}
		})
	}
}

func TestFollowingABuildStopsAtTheTimeLimit(t *testing.T) {
	sb := sandbox.Start()
	sb.FailOnUnmatched(t)
	defer sb.Close()
	sb.Heroku.SetReviewAppDelay(time.Hour)
	gh, err := github.New(sb.GitHubURL+"/", sandbox.GitHubToken, sandbox.Owner+"/"+sandbox.Repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := commandstest.Store(t)
	ctx := t.Context()
	bg := commands.NewBackground(ctx)
	poster := &commandstest.Recorder{}
	ra := New(Deps{
		Config: Config{Pipeline: sandbox.Pipeline, PollInterval: 5 * time.Millisecond, MaxPoll: 20 * time.Millisecond, Timeout: 150 * time.Millisecond},
		Heroku: heroku.New(sb.HerokuURL, sandbox.HerokuToken, nil), GitHub: gh, Store: db, Poster: poster, Bg: bg, Log: zerolog.Nop(),
	})
	r := commands.NewRouter()
	ra.Register(r)

	reply, err := r.Handle(ctx, commands.Request{Command: "reviewapp", Text: "7", UserID: "U1", ChannelID: "C1", Source: commands.Slash})
	// The progress message is the answer; no private "creating…" besides.
	if err != nil || !reply.Empty() || !strings.Contains(poster.Message("1").Text, "Creating a review app for") {
		t.Fatalf("reply = %+v, %v; progress message %q", reply, err, poster.Message("1").Text)
	}
	if !bg.Wait(5 * time.Second) {
		t.Fatal("Devy kept following the build past its time limit")
	}
	m := poster.Message("1")
	if !strings.Contains(m.Text, "Still building after") || !strings.Contains(m.Text, "`/reviewapp 7 status` shows where it stands") {
		t.Errorf("last message = %q; want it to say it is still building and how to check", m.Text)
	}
	polls := sb.Heroku.Count("GET", "/review-apps/*")
	// Back-off: 5, 10, 20, 20… ms within 150 ms is under ten polls.
	if polls < 2 || polls > 10 {
		t.Errorf("%d polls within the time limit; want a few, backing off", polls)
	}
	rec, err := db.ReviewApp(7)
	if err != nil || rec.GaveUpAt.IsZero() || rec.RequestedBy != "U1" || len(rec.Messages) != 1 {
		t.Errorf("record = %+v, %v", rec, err)
	}

	// Asking later still works: the status check reads Heroku afresh.
	st, err := r.Handle(ctx, commands.Request{Command: "reviewapp", Text: "7 status", UserID: "U2", ChannelID: "C1", Source: commands.Slash})
	if err != nil || !st.Ephemeral || !strings.Contains(fmt.Sprint(st.Blocks), "Status: building") {
		t.Errorf("status = %+v, %v", st, err)
	}
}

// Heroku's status words are shown as people say them.
func TestStatusWord(t *testing.T) {
	tests := []struct{ heroku, want string }{
		{store.ReviewPending, "building"}, {store.ReviewCreating, "building"}, {store.ReviewCreated, "ready"},
		{store.ReviewErrored, "failed"}, {store.ReviewDeleting, "deleting"}, {store.ReviewDeleted, "deleted"},
		{"<new>", "&lt;new&gt;"},
	}
	for _, tc := range tests {
		if got := statusWord(tc.heroku); got != tc.want {
			t.Errorf("statusWord(%q) = %q, want %q", tc.heroku, got, tc.want)
		}
	}
}

// Links whose URL comes from outside (GitHub's PR URL, Heroku's web URL)
// are linked only when they are plain http(s) URLs; the label is escaped.
func TestMessageLinksOnlySafeURLs(t *testing.T) {
	gh, err := github.New("https://api.github.test/", "t", "acme/shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	ra := New(Deps{GitHub: gh, Store: commandstest.Store(t), Poster: &commandstest.Recorder{}, Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop()})
	tests := []struct {
		name    string
		rec     store.ReviewApp
		want    []string
		notWant []string
	}{
		{name: "plain", rec: store.ReviewApp{PR: 7, Status: store.ReviewCreated, PRURL: "https://github.test/acme/shop/pull/7", Title: "Dark <mode>", WebURL: "https://shop-pr-7.herokuapp.com/", AppName: "shop-pr-7"},
			want: []string{"<https://github.test/acme/shop/pull/7|#7 Dark &lt;mode&gt;>", "<https://shop-pr-7.herokuapp.com/>"}},
		{name: "hostile", rec: store.ReviewApp{PR: 7, Status: store.ReviewCreated, PRURL: "https://x|<!channel>", Title: "t", WebURL: "javascript:alert(1)", AppName: "<!here>"},
			want: []string{"#7 t", "javascript:alert(1)", "&lt;!here&gt;"}, notWant: []string{"<!channel>", "<!here>", "<javascript:", "<https://x|"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ra.message(tc.rec, "/reviewapp")
			text := fmt.Sprint(m.Text, m.Blocks)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("message lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(text, w) {
					t.Errorf("message holds %q:\n%s", w, text)
				}
			}
		})
	}
}
