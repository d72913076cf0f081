package deploy

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/commandstest"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/store/bolt"
)

const (
	bobID   = "U0BOB00001"
	carolID = "U0CAROL001"
	adminID = "U0ADMIN001"
)

// verifyDesk is a /deploy over the sandbox with bob and carol mapped and
// one admin, and staging's release message posted as 1.000100 in C1.
func verifyDesk(t *testing.T) (*commands.Router, *Desk, *sandbox.Sandbox, *bolt.DB, string) {
	t.Helper()
	sb := sandbox.Start()
	sb.FailOnUnmatched(t)
	t.Cleanup(sb.Close)
	gh, err := github.New(sb.GitHubURL+"/", sandbox.GitHubToken, sandbox.Owner+"/"+sandbox.Repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := commandstest.Store(t)
	d := New(Deps{
		Config: Config{Pipeline: sandbox.Pipeline, Channel: "devy", Admins: []string{adminID},
			UserMap: map[string]string{"bob": bobID, "carol": carolID}},
		Heroku: heroku.New(sb.HerokuURL, sandbox.HerokuToken, nil), GitHub: gh, Store: db,
		Poster: &commandstest.Recorder{}, Bg: commands.NewBackground(t.Context()), Log: zerolog.Nop(),
	})
	r := commands.NewRouter()
	d.Register(r)
	rg, err := d.readRange(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id := rg.snap.Staging.Release.ID
	if _, ok, err := d.ReleaseBlocks(t.Context(), id); err != nil || !ok {
		t.Fatalf("ReleaseBlocks = %v, %v", ok, err)
	}
	d.ReleasePosted(t.Context(), id, commands.Posted{Channel: "C1", TS: "1.000100"}, nil)
	return r, d, sb, db, id
}

// verified counts the verifications of the sandbox's range.
func verified(t *testing.T, d *Desk) int {
	t.Helper()
	rg, err := d.readRange(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	as, err := d.verifyState(rg.snap.Pipeline.ID, rg.commits)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range as {
		n += a.Verified
	}
	return n
}

// A Verified on staging button whose value Devy did not put there, or that
// belongs to another message, changes nothing and says so.
func TestVerifyButtonValues(t *testing.T) {
	r, d, _, _, id := verifyDesk(t)
	tests := []struct {
		name, value, ts, want string
	}{
		{"tampered", "../../etc/passwd", "1.000100", "does not point at a staging release I know"},
		{"too long", strings.Repeat("a", 65), "1.000100", "does not point at a staging release I know"},
		{"a release never posted", "00000000-0000-4000-8000-000000000999", "1.000100", "does not belong to a staging release message of mine"},
		{"another message", id, "1.000999", "does not belong to a staging release message of mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Click(t.Context(), commands.Action{ActionID: ActionVerify, Value: tt.value, UserID: bobID, ChannelID: "C1", MessageTS: tt.ts})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v; want %q", err, tt.want)
			}
			if n := verified(t, d); n != 0 {
				t.Errorf("%d commits verified; want none", n)
			}
		})
	}
}

// A click on the message of a release staging no longer runs names the
// one it runs and verifies nothing.
func TestVerifyButtonOfAnOldRelease(t *testing.T) {
	r, d, sb, _, id := verifyDesk(t)
	sb.Merge()
	_, err := r.Click(t.Context(), commands.Action{ActionID: ActionVerify, Value: id, UserID: bobID, ChannelID: "C1", MessageTS: "1.000100"})
	if err == nil || !strings.Contains(err.Error(), "That message is about staging v3, but staging now runs v4") {
		t.Fatalf("error = %v; want the current release named", err)
	}
	if n := verified(t, d); n != 0 {
		t.Errorf("%d commits verified; want none", n)
	}
}

// /deploy verify takes nothing, or one person when an admin asks.
func TestVerifyCommand(t *testing.T) {
	tests := []struct {
		name, user, text, want string
		before                 []commands.Request // asked first
		verified               int
	}{
		{"own commits", bobID, "verify", "Marked 2 commits in staging v3 verified (1 vouched for", nil, 2},
		{"someone else's, not an admin", bobID, "verify <@" + carolID + ">", "Only Devy admins can verify someone else's commits", nil, 0},
		{"someone else's, as an admin", adminID, "verify <@" + carolID + "|carol>", "Marked 1 commit in staging v3 verified for <@" + carolID + ">.", nil, 1},
		{"a name, not a mention", adminID, "verify carol", "`/deploy verify` takes no arguments, or one person", nil, 0},
		{"two people", adminID, "verify <@" + carolID + "> <@" + bobID + ">", "`/deploy verify` takes no arguments, or one person", nil, 0},
		{"nothing left", adminID, "verify", "You have nothing left to verify in staging v3", []commands.Request{
			{Text: "verify <@" + carolID + ">", UserID: adminID}, {Text: "verify", UserID: bobID}, // bob vouches for dave
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, d, _, _, _ := verifyDesk(t)
			for _, req := range tt.before {
				req.Command, req.ChannelID, req.Source = "deploy", "C1", commands.Slash
				if _, err := r.Handle(t.Context(), req); err != nil {
					t.Fatal(err)
				}
			}
			reply, err := r.Handle(t.Context(), commands.Request{Command: "deploy", Text: tt.text, UserID: tt.user, ChannelID: "C1", Source: commands.Slash})
			got := reply.Text
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("answer = %q; want %q", got, tt.want)
			}
			if n := verified(t, d); n != tt.verified {
				t.Errorf("%d commits verified; want %d", n, tt.verified)
			}
		})
	}
}
