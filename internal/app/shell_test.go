package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// startShell runs `devy shell` with no accounts (the sandbox). expect types
// a line (none if empty) and waits until the shell has shown want; typing is
// the keyboard, for lines whose answer is not awaited.
func startShell(t *testing.T) (expect func(line, want string), typing io.Writer) {
	t.Helper()
	expect, typing, _ = startShellWith(t, nil)
	return expect, typing
}

// startShellWith is startShell with environment variables set, and all it
// has shown so far.
func startShellWith(t *testing.T, env map[string]string) (expect func(line, want string), typing io.Writer, out *syncBuffer) {
	t.Helper()
	in, keys := io.Pipe()
	out = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"shell"}, func(k string) string { return env[k] }, in, out, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		keys.Close()
		if err := <-done; err != nil {
			t.Errorf("shell returned %v", err)
		}
	})
	expect = func(line, want string) {
		t.Helper()
		if line != "" {
			fmt.Fprintln(keys, line)
		}
		waitfor.True(t, fmt.Sprintf("the shell to show %q after %q", want, line), func() bool {
			return strings.Contains(out.String(), want)
		})
	}
	return expect, keys, out
}

// TestShellPromotion is the README's walk-through: the shell, with no
// accounts, runs a promotion from request to success in the sandbox.
func TestShellPromotion(t *testing.T) {
	expect, typing, out := startShellWith(t, nil)
	expect("", "alice in #devy>")
	expect("/deploy status", "Staging is 3 commits ahead of production.")
	expect("/deploy promote", "[1] Approve   [2] Reject")
	expect("click 1", "someone else has to approve it")
	expect("as bob", "You are now bob.")
	expect("click 1", "Approved by @bob")
	// The requester is refused before being asked to confirm; bob, who may
	// approve, is asked once.
	if n := strings.Count(out.String(), "(Promote to production?"); n != 1 {
		t.Errorf("the confirm was shown %d times, want once (to bob, not to alice):\n%s", n, out)
	}
	expect("", "🚀 Promoted to production, approved by @bob.")
	expect("", "@alice your promotion #1 (shop-staging v3) 🚀 is live on shop-prod, shop-prod-eu.")
	expect("/deploy history", "requested by @alice, approved by @bob: succeeded")
	expect("in random", "You are now in #random.")
	expect("/deploy promote", "works only in #devy")
	expect("click 9", "The buttons of message 1 were removed when it changed, so there is nothing to click.")
	expect("/reviewapp help", "/reviewapp list")
	expect("@devy deploy help", "/deploy lock")
	expect("nonsense", "I don't understand")
	fmt.Fprintln(typing, "quit")
}

// TestShellAdminByName: in the shell, DEVY_ADMINS names shell users, so the
// admin paths can be tried there.
func TestShellAdminByName(t *testing.T) {
	expect, typing, _ := startShellWith(t, map[string]string{"DEVY_ADMINS": "bob"})
	expect("", "alice in #devy>")
	expect("/deploy lock testing a migration", "`/deploy unlock` lifts it.")
	expect("as carol", "You are now carol.")
	expect("/deploy unlock", "Only they or a Devy admin can unlock it.")
	expect("as bob", "You are now bob.")
	expect("/deploy unlock", "lifted @alice's lock")
	fmt.Fprintln(typing, "quit")
}

// TestShellScriptFinishesItsWork: a session piped in ends (EOF or `quit`)
// before the work it started; the shell waits for it and shows how it ended,
// with no log lines in between.
func TestShellScriptFinishesItsWork(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []string
	}{
		{name: "promotion, then quit", script: "/deploy status\n/deploy promote\nas bob\nclick 1\nquit\n", want: []string{
			"Waiting for running work to finish (a promotion) — press Ctrl-C to stop now…",
			"🚀 Promoted to production, approved by @bob.",
			"@alice your promotion #1 (shop-staging v3) 🚀 is live on shop-prod, shop-prod-eu.",
		}},
		{name: "review app, then end of input", script: "/reviewapp 7\n", want: []string{
			"Waiting for running work to finish (a review app)",
			"✅ Ready: https://shop-pr-7.herokuapp.com/ (shop-pr-7) — the review app of #7.",
		}},
		{name: "nothing running", script: "/deploy status\nquit\n", want: []string{"Staging is 3 commits ahead"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, logs syncBuffer
			if err := Run(context.Background(), []string{"shell"}, func(string) string { return "" }, strings.NewReader(tc.script), &out, &logs); err != nil {
				t.Fatalf("shell returned %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the shell never showed %q; it showed:\n%s", w, out.String())
				}
			}
			if len(tc.want) == 1 && strings.Contains(out.String(), "Waiting") {
				t.Errorf("the shell waited with nothing running:\n%s", out.String())
			}
			if logs.String() != "" {
				t.Errorf("the shell's log is not quiet:\n%s", logs.String())
			}
		})
	}
}

// TestShellStopsWaitingOnInterrupt: Ctrl-C while the shell waits for a
// promotion stops it at once.
func TestShellStopsWaitingOnInterrupt(t *testing.T) {
	in, keys := io.Pipe()
	out := &syncBuffer{}
	defer keys.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"shell"}, func(string) string { return "" }, in, out, io.Discard) }()
	fmt.Fprint(keys, "/deploy promote\nas bob\nclick 1\nquit\n")
	waitfor.True(t, "the shell to wait for running work", func() bool {
		return strings.Contains(out.String(), "Waiting for running work")
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shell returned %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the shell kept waiting after Ctrl-C")
	}
}

// TestShellLogger: the shell's terminal shows errors as one readable line and
// no warnings, unless LOG_FORMAT=console asks for the whole log.
func TestShellLogger(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		wantWarn bool
	}{
		{name: "default", format: "json"},
		{name: "LOG_FORMAT=console", format: "console", wantWarn: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			log := newShellLogger(config.Config{LogFormat: tc.format, LogLevel: zerolog.InfoLevel}, &b)
			log.Warn().Msg("reading promotion targets failed; will retry")
			log.Error().Err(errors.New("disk full")).Uint64("request", 1).Msg("recording the promotion outcome failed")
			got := b.String()
			if strings.Contains(got, "will retry") != tc.wantWarn {
				t.Errorf("warning shown = %v, want %v:\n%s", !tc.wantWarn, tc.wantWarn, got)
			}
			lines := strings.Split(strings.TrimSpace(got), "\n")
			last := lines[len(lines)-1]
			if strings.Contains(got, "{") || !strings.Contains(last, "recording the promotion outcome failed") || !strings.Contains(last, "disk full") {
				t.Errorf("the error is not one readable line:\n%s", got)
			}
		})
	}
}

// TestShellIncidentCommander: `/incident commander @bob` typed in the shell
// reaches the command as Slack's escaped mention.
func TestShellIncidentCommander(t *testing.T) {
	expect, typing := startShell(t)
	expect("in critical", "You are now in #critical.")
	expect("/incident open Checkout returns 500 --sev1", "(#inc-1-checkout-returns-500 was created)")
	expect("in inc-1-checkout-returns-500", "You are now in #inc-1-checkout-returns-500.")
	expect("/incident commander @bob", "🎖️ @bob is now the incident commander (handed over by @alice).")
	expect("/incident show 1", "Commander\n    @bob")
	fmt.Fprintln(typing, "quit")
}

// TestShellFormLeftForACommand: a command typed while a form asks its
// questions leaves the form and runs, and `--sev1` without a title presets
// the form's severity.
func TestShellFormLeftForACommand(t *testing.T) {
	expect, typing := startShell(t)
	expect("in critical", "You are now in #critical.")
	expect("/incident open --sev1", "[form: Open an incident]")
	expect("", "Title")
	expect("/incident open Search slow --SEV3", `(form "Open an incident" not sent: running your command instead)`)
	expect("", "(#inc-1-search-slow was created)")
	expect("", "Opened incident #1 (SEV3)")
	fmt.Fprintln(typing, "/incident open --sev1")
	expect("Checkout down", "SEV1 — critical: customers can't use the product   (preset: an empty line keeps it)")
	fmt.Fprintln(typing, "")
	expect("", "Summary (optional)")
	fmt.Fprintln(typing, "")
	expect("", "Opened incident #2 (SEV1)")
	fmt.Fprintln(typing, "quit")
}

// TestShellPromoteAgainAfterMerge: after one promotion the sandbox has
// nothing left to promote until `simulate merge` lands a commit by someone
// else on staging; then status and a new request show it.
func TestShellPromoteAgainAfterMerge(t *testing.T) {
	expect, typing := startShell(t)
	expect("/deploy promote", "[1] Approve   [2] Reject")
	expect("as bob", "You are now bob.")
	expect("click 1", "🚀 Promoted to production, approved by @bob.")
	expect("/deploy status", "Staging and production run the same code.")
	expect("simulate merge", "🚚 New staging release: shop-staging v4")
	expect("", "1 commit ahead of production")
	expect("/deploy status", "Staging is 1 commit ahead of production.")
	expect("as alice", "You are now alice.")
	expect("/deploy promote", "Promotion request #2: staging → production")
	expect("", "Speed up product images — grace (#10)")
	fmt.Fprintln(typing, "quit")
}

// TestShellCIFailedChangesTheSandbox: `simulate ci-failed` fails the CI of
// the commit it names, so status and promotion agree with the message, and
// the message shows real names.
func TestShellCIFailedChangesTheSandbox(t *testing.T) {
	expect, typing := startShell(t)
	expect("/deploy status", "CI for staging's")
	expect("simulate ci-failed", "❌ CI failed on `master`")
	expect("", "Pipeline\n    Build and test")
	expect("", "Reason\n    test — a test failed")
	expect("/deploy status", "`: ❌ failed")
	expect("/deploy promote", "(❌ failed), so I won't ask for a promotion")
	fmt.Fprintln(typing, "quit")
}

// TestShellSimulateAndReviewAppEdges: a pull request that does not exist is
// said in one sentence, and the PRs the sandbox's history names exist.
func TestShellSimulateAndReviewAppEdges(t *testing.T) {
	expect, typing := startShell(t)
	expect("simulate pr-opened 999", "There is no pull request #999 in acme/shop.")
	expect("/reviewapp 6", "Pull request #6 is already merged")
	fmt.Fprintln(typing, "quit")
}

// TestShellSmallEdges: help names every command, a fresh shell has no
// buttons yet, and the timeline says who wrote each update.
func TestShellSmallEdges(t *testing.T) {
	expect, typing := startShell(t)
	expect("click 1", "There is no message with buttons yet.")
	expect("help", "/reviewapp 7")
	expect("", "/incident open Checkout down --sev1")
	expect("in critical", "You are now in #critical.")
	expect("/incident open X down", "(#inc-1-x-down was created)")
	expect("/incident update 1 first news", "📝 Incident #1")
	expect("/incident show 1", "📝 first news — by @alice")
	fmt.Fprintln(typing, "quit")
}
