package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// Someone who opened Home sees it follow Devy's state: each change made
// over the socket republishes their Home, changes close together make one
// publish, and no two publishes for one person come closer than the
// interval (10 s in production, shortened here through the harness's
// pacing). People who never opened Home get no views.publish, even when
// they are the ones changing the state.
func TestAppHomeFollowsChanges(t *testing.T) {
	const every = 2 * time.Second
	h := startPaced(t, nil, pacing{homeEvery: every})
	// home is the text of user's Home as published last, and how many
	// times it was published.
	home := func(user string) (string, int) {
		raw, n := h.slack.HomeView(user)
		var v struct{ Blocks json.RawMessage }
		_ = json.Unmarshal(raw, &v)
		return blocksText(fakeslack.Message{Blocks: v.Blocks}), n
	}
	// published waits for user's n-th publish to show every one of want.
	published := func(user string, n int, want ...string) string {
		t.Helper()
		return waitfor.Value(t, fmt.Sprintf("publish %d of %s's Home showing %s", n, user, strings.Join(want, ", ")), func() (string, bool) {
			v, got := home(user)
			if got < n {
				return "", false
			}
			for _, w := range want {
				if !strings.Contains(v, w) {
					return v, false
				}
			}
			return v, true
		})
	}

	opened := time.Now()
	h.slack.OpenHome(alice)
	published(alice, 1, "No promotion pending", "Production is not locked")

	// Two changes close together: alice's request and bob's lock.
	h.request(alice)
	h.slash(bob, devyChan, "/deploy", "lock")
	h.wait("bob's lock", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "locked by <@"+bob+">") })
	// Every publish after the first comes at least `every` after it, so
	// until then alice has had exactly one.
	if _, n := home(alice); time.Since(opened) < every && n != 1 {
		t.Errorf("alice's Home was published %d times within %s of opening it; want 1", n, every)
	} else if time.Since(opened) >= every {
		t.Logf("the changes took longer than %s; the within-the-interval check was skipped", every)
	}
	published(alice, 2, "Request #1 by <@"+alice+">", "Production is locked by <@"+bob+">")
	if d := time.Since(opened); d < every {
		t.Errorf("alice's Home was republished %s after she opened it; want at least %s", d, every)
	}

	// A third change after that refresh waits out the interval, then makes
	// one more publish: the two changes before made one, not two.
	h.slash(bob, devyChan, "/deploy", "unlock")
	h.wait("bob's unlock", func(m fakeslack.Message) bool {
		return !m.Ephemeral && m.Channel == devyChan && strings.Contains(m.Text, "<@"+bob+"> unlocked")
	})
	// The refresh came at least `every` after the first publish, and the
	// next comes at least `every` after it.
	if _, n := home(alice); time.Since(opened) < 2*every && n != 2 {
		t.Errorf("alice's Home was published %d times before the interval after its refresh ended; want 2", n)
	}
	published(alice, 3, "Production is not locked", "Request #1 by <@"+alice+">")
	if d := time.Since(opened); d < 2*every {
		t.Errorf("three publishes of alice's Home within %s; want them at least %s apart", d, every)
	}
	if _, n := home(alice); n != 3 {
		t.Errorf("alice's Home was published %d times for an opening and three changes, two of them close together; want 3", n)
	}

	for _, u := range []string{bob, carol} {
		if v, n := home(u); n != 0 {
			t.Errorf("%s never opened Home and got %d publishes:\n%s", u, n, v)
		}
	}
	for _, c := range h.slack.APICalls() {
		if c.Method == "views.publish" && c.Values.Get("user_id") != alice {
			t.Errorf("views.publish for %s, who never opened Home", c.Values.Get("user_id"))
		}
	}
}
