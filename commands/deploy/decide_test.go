package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store"
)

// slowFirstUpdate is a Poster whose first chat.update after armed is set
// takes hold: Slack having a slow moment.
type slowFirstUpdate struct {
	*commandstest.Recorder
	armed atomic.Bool
	hold  time.Duration
}

func (p *slowFirstUpdate) Update(ctx context.Context, channel, ts string, m commands.Message) error {
	if p.armed.CompareAndSwap(true, false) {
		time.Sleep(p.hold)
	}
	return p.Recorder.Update(ctx, channel, ts, m)
}

// An approval whose message update is slower than the follower's lease
// still promotes: the takeover loop must not find it unattended and settle
// it as unknown before Heroku was ever called.
func TestApprovalOutlastsASlowMessageUpdate(t *testing.T) {
	sb := sandbox.Start()
	sb.FailOnUnmatched(t)
	t.Cleanup(sb.Close)
	sb.Heroku.SetPromotionDelay(0)
	st := commandstest.Store(t)
	poster := &slowFirstUpdate{Recorder: &commandstest.Recorder{}, hold: 800 * time.Millisecond}
	d := New(Deps{
		Config: Config{Pipeline: sandbox.Pipeline, Channel: "devy", LeaseTTL: 150 * time.Millisecond,
			TakeoverEvery: 20 * time.Millisecond, PollInterval: 10 * time.Millisecond, MaxPoll: 50 * time.Millisecond},
		Heroku: heroku.New(sb.HerokuURL, sandbox.HerokuToken, nil), Store: st,
		Poster: poster, Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop(),
	})
	r := commands.NewRouter()
	d.Register(r)
	if err := d.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "promote", UserID: "U1", ChannelID: "C1", ChannelName: "devy", Source: commands.Slash}); err != nil {
		t.Fatalf("promote: %v", err)
	}
	req, err := st.Request(1)
	if err != nil || req.MessageTS == "" {
		t.Fatalf("no request was posted: %+v, %v", req, err)
	}
	poster.armed.Store(true)
	if _, err := r.Click(t.Context(), commands.Action{ActionID: ActionApprove, Value: "1", UserID: "U2", ChannelID: req.Channel, MessageTS: req.MessageTS}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	req = waitfor.Value(t, "request #1 to finish", func() (store.PromotionRequest, bool) {
		r, err := st.Request(1)
		if err != nil {
			t.Fatal(err)
		}
		return r, r.Status != store.StatusPending && r.Status != store.StatusPromoting
	})
	if req.Status != store.StatusSucceeded || len(sb.Heroku.Promotions()) != 1 {
		t.Fatalf("request #1 ended %s (%s) after %d promotion calls; want succeeded after 1", req.Status, req.Note, len(sb.Heroku.Promotions()))
	}
}

// DEVY_APPROVER_NOT_AUTHOR refuses authors; when the commits could not be
// read at all it cannot tell, and refuses everyone but admins.
func TestApproverNotAuthor(t *testing.T) {
	d := New(Deps{
		Config: Config{ApproverNotAuthor: true, Admins: []string{"UADMIN"}, UserMap: map[string]string{"carol": "UCAROL"}},
		Store:  commandstest.Store(t), Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop(),
	})
	read := store.PromotionRequest{CompareURL: "https://github.com/acme/shop/compare/a...b", Authors: []string{"Carol"}}
	unread := store.PromotionRequest{}
	tests := []struct {
		name string
		user string
		r    store.PromotionRequest
		want string // in the refusal; "" to allow
	}{
		{"an author", "UCAROL", read, "You wrote commits in this promotion (as Carol)"},
		{"not an author", "UBOB", read, ""},
		{"commits unknown", "UBOB", unread, "I couldn't tell who wrote the commits"},
		{"commits unknown, an admin", "UADMIN", unread, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := d.checkApprover(t.Context(), tc.user, tc.r)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want a refusal with %q", err, tc.want)
			}
		})
	}
}

// A promotion call whose answer is lost (the connection drops after Heroku
// took it) is neither retried nor written off: production's releases are
// watched until they show the reviewed build.
func TestLostAnswerToThePromotionCallIsSettledFromProduction(t *testing.T) {
	sb := sandbox.Start()
	sb.FailOnUnmatched(t)
	t.Cleanup(sb.Close)
	sb.Heroku.SetPromotionDelay(300 * time.Millisecond)
	target, err := url.Parse(sb.HerokuURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/pipeline-promotions" {
			proxy.ServeHTTP(httptest.NewRecorder(), r) // Heroku takes it…
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close() // …and its answer never arrives
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	st := commandstest.Store(t)
	d := New(Deps{
		Config: Config{Pipeline: sandbox.Pipeline, Channel: "devy", SettleWithin: 10 * time.Second,
			PollInterval: 20 * time.Millisecond, MaxPoll: 100 * time.Millisecond},
		Heroku: heroku.New(front.URL, sandbox.HerokuToken, nil), Store: st,
		Poster: &commandstest.Recorder{}, Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop(),
	})
	r := commands.NewRouter()
	d.Register(r)
	if _, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: "promote", UserID: "U1", ChannelID: "C1", ChannelName: "devy", Source: commands.Slash}); err != nil {
		t.Fatal(err)
	}
	req, _ := st.Request(1)
	if _, err := r.Click(t.Context(), commands.Action{ActionID: ActionApprove, Value: "1", UserID: "U2", ChannelID: req.Channel, MessageTS: req.MessageTS}); err != nil {
		t.Fatal(err)
	}
	req = waitfor.Value(t, "request #1 to finish", func() (store.PromotionRequest, bool) {
		r, err := st.Request(1)
		if err != nil {
			t.Fatal(err)
		}
		return r, r.Status != store.StatusPending && r.Status != store.StatusPromoting
	})
	if req.Status != store.StatusSucceeded || len(sb.Heroku.Promotions()) != 1 {
		t.Fatalf("request #1 ended %s (%s) after %d promotion calls; want succeeded after 1", req.Status, req.Note, len(sb.Heroku.Promotions()))
	}
}
