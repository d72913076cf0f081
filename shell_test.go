package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// startShell runs `devy shell` with no accounts (the sandbox). expect types
// a line (none if empty) and waits until the shell has shown want; typing is
// the keyboard, for lines whose answer is not awaited.
func startShell(t *testing.T) (expect func(line, want string), typing io.Writer) {
	t.Helper()
	in, keys := io.Pipe()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"shell"}, func(string) string { return "" }, in, out, io.Discard)
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
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("after %q the shell never showed %q; it showed:\n%s", line, want, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return expect, keys
}

// TestShellPromotion is the README's walk-through: the shell, with no
// accounts, runs a promotion from request to success in the sandbox.
func TestShellPromotion(t *testing.T) {
	expect, typing := startShell(t)
	expect("", "alice in #devy>")
	expect("/deploy status", "Staging is 3 commits ahead of production.")
	expect("/deploy promote", "[1] Approve   [2] Reject")
	expect("click 1", "someone else has to approve it")
	expect("as bob", "You are now bob.")
	expect("click 1", "Approved by @bob")
	expect("", "🚀 Promoted to production, approved by @bob.")
	expect("", "@alice your promotion #1 (shop-staging v3) 🚀 is live on shop-prod, shop-prod-eu.")
	expect("/deploy history", "requested by @alice, approved by @bob: succeeded")
	expect("in random", "You are now in #random.")
	expect("/deploy promote", "works only in #devy")
	expect("click 9", "There is no message with buttons yet.")
	expect("/reviewapp help", "/reviewapp list")
	expect("@devy deploy help", "/deploy lock")
	expect("nonsense", "I don't understand")
	fmt.Fprintln(typing, "quit")
}
