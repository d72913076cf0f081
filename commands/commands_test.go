package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/heroku"
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

func TestParseLockDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30m", 30 * time.Minute, true}, {"2h", 2 * time.Hour, true}, {"1h30m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true}, {"7d", 7 * 24 * time.Hour, true},
		{"8d", 0, false}, {"30s", 0, false}, {"2x", 0, false}, {"-1h", 0, false}, {"d", 0, false}, {"", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseLockDuration(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseLockDuration(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}

func TestLockDuration(t *testing.T) {
	const def = 2 * time.Hour
	tests := []struct {
		in     string
		want   time.Duration
		reason string
		ok     bool
	}{
		{"db upgrade for 1h", time.Hour, "db upgrade", true},
		{"db upgrade for 90 minutes", 90 * time.Minute, "db upgrade", true},
		{"for 2 days", 48 * time.Hour, "", true},
		{"waiting for QA", def, "waiting for QA", true},
		{"waiting for 2 reviewers", def, "waiting for 2 reviewers", true},
		{"release freeze", def, "release freeze", true},
		{"", def, "", true},
		{"for 2x", 0, "", false},
		{"freeze for 9 days", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, rest, err := lockDuration(strings.Fields(tc.in), def)
			if (err == nil) != tc.ok || (tc.ok && (got != tc.want || strings.Join(rest, " ") != tc.reason)) {
				t.Fatalf("lockDuration(%q) = %v, %q, %v; want %v, %q", tc.in, got, rest, err, tc.want, tc.reason)
			}
		})
	}
}

func TestParseSkipCI(t *testing.T) {
	tests := []struct {
		args []string
		want string
		ok   bool
	}{
		{nil, "", true},
		{[]string{"--skip-ci", "hotfix", "for", "outage"}, "hotfix for outage", true},
		{[]string{"--skip-ci"}, "", false},
		{[]string{"now"}, "", false},
	}
	for _, tc := range tests {
		got, err := parseSkipCI(tc.args)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSkipCI(%q) = %q, %v", tc.args, got, err)
		}
	}
}

func TestIsMigration(t *testing.T) {
	for name, want := range map[string]bool{
		"db/migrate/20261120_add_discounts.rb": true, "migrations/0001_init.py": true, "db/schema.rb": true,
		"db/structure.sql": true, "db/seeds/orders.sql": true, "app/models/order.rb": false, "docs/queries.sql": false,
	} {
		if got := isMigration(name); got != want {
			t.Errorf("isMigration(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestMergeTargets(t *testing.T) {
	known := []store.Target{{AppID: "a", AppName: "prod"}, {AppID: "b", AppName: "prod-eu"}}
	_, changed, done := mergeTargets(known, []heroku.PromotionTarget{{AppID: "a", Status: "pending"}, {AppID: "b", Status: "pending"}})
	if changed || done {
		t.Errorf("pending → pending: changed=%v done=%v", changed, done)
	}
	out, changed, done := mergeTargets(known, []heroku.PromotionTarget{{AppID: "a", Status: "succeeded", ReleaseID: "r1"}, {AppID: "b", Status: "pending"}})
	if !changed || done || out[0].Status != "succeeded" || out[0].ReleaseID != "r1" || known[0].Status != "" {
		t.Errorf("one succeeded: %+v changed=%v done=%v (and the input must not change)", out, changed, done)
	}
	out, _, done = mergeTargets(out, []heroku.PromotionTarget{{AppID: "a", Status: "succeeded", ReleaseID: "r1"}, {AppID: "b", Status: "failed", ErrorMessage: "no access"}})
	if !done || out[1].Error != "no access" {
		t.Errorf("all done: %+v done=%v", out, done)
	}
	if _, _, done := mergeTargets(known, nil); done {
		t.Error("no targets yet must not count as done")
	}
}
