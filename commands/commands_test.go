package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store"
)

func TestRouterHelpComesFromTheTable(t *testing.T) {
	var got []string
	r := NewRouter()
	r.Add(Command{Name: "deploy", Summary: "ship it", Subs: []Sub{
		{"status", "", "show state", func(ctx context.Context, req Request, args []string) (Reply, error) {
			got = append(got, "status:"+strings.Join(args, ","))
			return Reply{}, nil
		}},
		{"lock", "[reason]", "lock it", nil},
	}})
	r.Add(Command{Name: "reviewapp", Summary: "apps", Default: func(ctx context.Context, req Request, args []string) (Reply, error) {
		got = append(got, "default:"+strings.Join(args, ","))
		return Reply{}, nil
	}})
	tests := []struct {
		cmd, text string
		want      string // in the reply, or a handler trace
	}{
		{"deploy", "", "• `/deploy lock [reason]` — lock it"},
		{"deploy", "help", "*/deploy* — ship it"},
		{"/deploy", "HELP", "• `/deploy status` — show state"},
		{"deploy", "frob", "I don't know `/deploy frob`."},
		{"deploy", "status a b", "status:a,b"},
		{"deploy", "STATUS", "status:"},
		{"reviewapp", "123 destroy", "default:123,destroy"},
		{"nope", "x", "I don't know `nope`; I can help with `deploy`, `reviewapp`"},
		{"", "", "I can help with `deploy`, `reviewapp`"},
		{"help", "", "• `/deploy status` — show state"}, // @Devy help: every command's usage
		{"", "", "*/reviewapp* — apps"},
	}
	for _, tc := range tests {
		t.Run(tc.cmd+" "+tc.text, func(t *testing.T) {
			got = nil
			reply, err := r.Handle(context.Background(), Request{Command: tc.cmd, Text: tc.text})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(reply.Text+strings.Join(got, ""), tc.want) {
				t.Fatalf("got %q / %v, want %q", reply.Text, got, tc.want)
			}
			if !reply.Empty() && !reply.Ephemeral {
				t.Errorf("help and refusals must be shown only to the asker")
			}
		})
	}
	reply, _ := r.Click(context.Background(), Action{ActionID: "unknown"})
	if !strings.Contains(reply.Text, "no longer something I know") {
		t.Errorf("unknown action: %q", reply.Text)
	}
}

// A handler's panic is its error: the asker is told something went wrong,
// and the process, with every promotion it follows, goes on.
func TestRouterTurnsAPanicIntoAnError(t *testing.T) {
	r := NewRouter()
	boom := func(ctx context.Context, req Request, args []string) (Reply, error) { panic("index out of range") }
	r.Add(Command{Name: "deploy", Subs: []Sub{{"status", "", "", boom}}})
	r.OnAction("deploy.approve", func(ctx context.Context, a Action) (Reply, error) { panic("nil map") })
	_, err := r.Handle(context.Background(), Request{Command: "deploy", Text: "status"})
	if err == nil || !strings.Contains(err.Error(), "/deploy panicked: index out of range") {
		t.Errorf("Handle's error = %v", err)
	}
	if reply, internal := ErrorReply(err, "r1"); !internal || strings.Contains(reply.Text, "index") {
		t.Errorf("the asker was told %q", reply.Text)
	}
	if _, err := r.Click(context.Background(), Action{ActionID: "deploy.approve"}); err == nil || !strings.Contains(err.Error(), "nil map") {
		t.Errorf("Click's error = %v", err)
	}
}

// A click's precheck refuses as its action says; an action without one, or
// unknown, lets the click go on (the click checks again and answers).
func TestRouterPrecheck(t *testing.T) {
	r := NewRouter()
	r.OnPrecheck("deploy.approve", func(ctx context.Context, a Action) error {
		if a.UserID == "alice" {
			return Userf("You asked for this promotion.")
		}
		return nil
	})
	r.OnPrecheck("boom", func(ctx context.Context, a Action) error { panic("nil map") })
	tests := []struct {
		name, action, user, want string
	}{
		{"refused", "deploy.approve", "alice", "You asked for this promotion."},
		{"allowed", "deploy.approve", "bob", ""},
		{"no check", "deploy.reject", "alice", ""},
		{"panic", "boom", "bob", "nil map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Precheck(context.Background(), Action{ActionID: tc.action, UserID: tc.user})
			if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Precheck = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBackgroundWorkThatPanicsEndsAlone(t *testing.T) {
	bg := NewBackground(context.Background())
	told := make(chan string, 1)
	bg.OnPanic(func(v any, stack []byte) { told <- fmt.Sprint(v) })
	bg.Go(func(context.Context) { panic("boom") })
	if !bg.Wait(5 * time.Second) {
		t.Fatal("the work that panicked was still running")
	}
	if got := <-told; got != "boom" {
		t.Errorf("OnPanic heard %q", got)
	}
}

func TestErrorReply(t *testing.T) {
	tests := []struct {
		err      error
		want     string
		internal bool
	}{
		{Userf("Nope."), "Nope.", false},
		{fmt.Errorf("wrapped: %w", Userf("Still a user error.")), "Still a user error.", false},
		{&apierr.Error{Service: "Heroku", Op: "reading the staging release", StatusCode: 503}, "Heroku answered 503 while reading the staging release; try again in a minute.", false},
		{context.DeadlineExceeded, "That took too long", true},
		{fmt.Errorf("pg: approve the request: %w: %w", store.ErrUnavailable, context.DeadlineExceeded), "My state store is unavailable right now, so I couldn't do that; try again in a minute (ref abc123).", true},
		{errors.New("store: decode request 3: boom"), "Something went wrong (ref abc123)", true},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			r, internal := ErrorReply(tc.err, "abc123")
			if !strings.HasPrefix(r.Text, tc.want) || internal != tc.internal || !r.Ephemeral {
				t.Fatalf("got %q internal=%v", r.Text, internal)
			}
			if tc.internal && strings.Contains(r.Text, "boom") {
				t.Fatal("a Go error string reached the user")
			}
		})
	}
}

// Every runs its work at once, again each interval, and returns when the
// context ends.
func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var runs atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, time.Millisecond, func(context.Context) { runs.Add(1) })
	}()
	waitfor.True(t, "three runs", func() bool { return runs.Load() >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
}
