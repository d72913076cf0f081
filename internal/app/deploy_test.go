package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// request asks for a promotion as user in #devy and returns the request
// message Devy posted.
func (h *harness) request(user string) fakeslack.Message {
	h.t.Helper()
	seen := map[string]bool{}
	for _, m := range h.slack.Messages() {
		seen[m.TS] = true
	}
	h.slash(user, devyChan, "/deploy", "promote")
	return h.wait("the promotion request", func(m fakeslack.Message) bool {
		return !seen[m.TS] && m.Channel == devyChan && !m.Ephemeral && strings.Contains(m.Text, "Promotion request #")
	})
}

func (h *harness) click(m fakeslack.Message, action, user string) string {
	h.t.Helper()
	id, err := h.slack.ClickButton(m, action, user)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		h.t.Fatalf("click not acknowledged: %v", err)
	}
	return id
}

// finished waits for the request message to reach a final state.
func (h *harness) finished(m fakeslack.Message, state string) fakeslack.Message {
	h.t.Helper()
	return h.wait("request "+state, func(x fakeslack.Message) bool {
		return x.TS == m.TS && x.Channel == m.Channel && strings.Contains(x.Text, "("+state+")")
	})
}

func (h *harness) promotions() int { return len(h.sb.Heroku.Promotions()) }

func TestPromotionHappyPath(t *testing.T) {
	h := start(t, nil)
	stagingRelease, stagingVersion, _ := h.sb.Heroku.CurrentRelease(sandbox.StagingApp)
	req := h.request(alice)
	body := blocksText(req)
	for _, want := range []string{
		"Promotion request #1", "<@" + alice + ">", "shop-staging v3", "3 commits",
		"Fix rounding in cart totals", "carol", "/acme/shop/pull/6|#6", "db/migrate/20261120_add_discounts.rb",
		"`Procfile` changed", "missing on *shop-prod*: `SENTRY_DSN`", "compare/" + h.sb.ProductionSHA + "..." + h.sb.StagingSHA,
		"passed", "Approve", "Reject",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("request message lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "postgres://sandbox") || strings.Contains(body, "sentry.example") {
		t.Errorf("a config var value leaked into the message:\n%s", body)
	}
	var blocks []map[string]any
	_ = json.Unmarshal(req.Blocks, &blocks)
	if !strings.Contains(string(req.Blocks), `"confirm"`) {
		t.Errorf("the Approve button has no confirmation dialog: %s", req.Blocks)
	}

	h.click(req, "deploy.approve", bob)
	done := h.finished(req, "succeeded")
	if text := blocksText(done); !strings.Contains(text, "Approved by") && !strings.Contains(text, "approved by <@"+bob+">") {
		t.Errorf("final message does not name the approver:\n%s", text)
	}
	for _, app := range []string{"shop-prod", "shop-prod-eu"} {
		if !strings.Contains(blocksText(done), "✅ *"+app+"*: succeeded") {
			t.Errorf("final message lacks %s's result:\n%s", app, blocksText(done))
		}
	}
	ps := h.sb.Heroku.Promotions()
	if len(ps) != 1 {
		t.Fatalf("%d promotions reached Heroku, want 1", len(ps))
	}
	if ps[0].SourceReleaseID != stagingRelease || len(ps[0].TargetAppIDs) != 2 {
		t.Errorf("promotion body %s: want source.release.id %s (v%d) and both production apps", ps[0].Body, stagingRelease, stagingVersion)
	}
	h.wait("the thread reply tagging the requester", func(m fakeslack.Message) bool {
		return m.ThreadTS == req.TS && strings.Contains(m.Text, "<@"+alice+"> your promotion #1") && strings.Contains(m.Text, "live")
	})
	if _, _, commit := h.sb.Heroku.CurrentRelease(sandbox.ProductionApp); commit != h.sb.StagingSHA {
		t.Errorf("production runs %s, want staging's %s", commit, h.sb.StagingSHA)
	}

	// The lock is released and history shows who did what.
	h.slash(carol, devyChan, "/deploy", "history")
	hist := h.wait("history", func(m fakeslack.Message) bool {
		return m.User == carol && strings.Contains(m.Text, "Recent promotions")
	})
	if text := blocksText(hist); !strings.Contains(text, "requested by <@"+alice+">, approved by <@"+bob+">: succeeded") {
		t.Errorf("history:\n%s", text)
	}
	h.slash(carol, devyChan, "/deploy", "status")
	st := h.wait("status", func(m fakeslack.Message) bool { return m.User == carol && strings.Contains(m.Text, "Pipeline shop") })
	if text := blocksText(st); !strings.Contains(text, "not locked") || !strings.Contains(text, "same code") {
		t.Errorf("status after promotion:\n%s", text)
	}
}

func TestPromotionGates(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		setup func(h *harness)
		user  string
		chan_ string
		text  string
		want  string
	}{
		{name: "wrong channel", user: alice, chan_: otherChan, text: "promote", want: "works only in #devy"},
		{name: "a direct message", user: alice, chan_: "D0ALICEBOB", text: "promote", want: "works only in #devy"},
		{name: "a private channel Devy is not in", user: alice, chan_: "G0SECRET01", text: "promote", want: "works only in #devy",
			setup: func(h *harness) { h.slack.AddChannel("G0SECRET01", "secret", alice) }},
		{name: "locked by someone else", user: alice, chan_: devyChan, text: "promote", want: "Production is locked by <@" + bob + ">",
			setup: func(h *harness) {
				h.slash(bob, devyChan, "/deploy", "lock database upgrade for 1h")
				h.wait("lock", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "locked by <@"+bob+">") })
			}},
		{name: "CI failed", user: alice, chan_: devyChan, text: "promote", want: "CI has not passed",
			setup: func(h *harness) { h.sb.Semaphore.AddPipeline("master", h.sb.StagingSHA, "done", "failed") }},
		{name: "CI running", user: alice, chan_: devyChan, text: "promote", want: "CI has not passed",
			setup: func(h *harness) { h.sb.Semaphore.AddPipeline("master", h.sb.StagingSHA, "running", "") }},
		{name: "skip-ci needs an admin", user: alice, chan_: devyChan, text: "promote --skip-ci hotfix", want: "Only Devy admins", env: map[string]string{"DEVY_ADMINS": carol}},
		{name: "skip-ci needs a reason", user: alice, chan_: devyChan, text: "promote --skip-ci", env: map[string]string{"DEVY_ADMINS": alice}, want: "Say why CI is skipped"},
		{name: "unknown argument", user: alice, chan_: devyChan, text: "promote now", want: "takes no arguments"},
		{name: "nothing to promote", user: alice, chan_: devyChan, text: "promote", want: "Nothing to promote",
			setup: func(h *harness) {
				h.sb.Heroku.Release(sandbox.ProductionApp, h.sb.StagingSHA, "x@acme.test", "hotfix")
				h.sb.Heroku.Release(sandbox.ProductionEU, h.sb.StagingSHA, "x@acme.test", "hotfix")
			}},
		{name: "Heroku down", user: alice, chan_: devyChan, text: "promote", want: "Heroku answered 503",
			setup: func(h *harness) {
				h.sb.Heroku.FailNext("GET", "/apps/*", 503, nil, `{"id":"unavailable","message":"down"}`).Require(h.t)
			}},
		{name: "bad lock duration", user: alice, chan_: devyChan, text: "lock for 2x", want: "give a duration such as"},
		{name: "lock over the limit", user: alice, chan_: devyChan, text: "lock for 99d", want: "A lock lasts at most 7 days"},
		{name: "lock one day over", user: alice, chan_: devyChan, text: "lock for 8d", want: "A lock lasts at most 7 days"},
		{name: "lock long enough to overflow", user: alice, chan_: devyChan, text: "lock for 213503982335d", want: "A lock lasts at most 7 days"},
		{name: "negative lock", user: alice, chan_: devyChan, text: "lock for -1h", want: "can't last a negative time"},
		{name: "lock by a non-approver", user: alice, chan_: devyChan, text: "lock freeze", want: "Only <@" + carol + "> can lock",
			env: map[string]string{"DEVY_APPROVERS": carol}},
		{name: "skip-ci with no admins configured", user: alice, chan_: devyChan, text: "promote --skip-ci hotfix", want: "set DEVY_ADMINS"},
		{name: "unlock nothing", user: alice, chan_: devyChan, text: "unlock", want: "not locked"},
		{name: "cancel nothing", user: alice, chan_: devyChan, text: "cancel", want: "no pending promotion request"},
		{name: "status with arguments", user: alice, chan_: devyChan, text: "status please", want: "takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.env)
			if tc.setup != nil {
				tc.setup(h)
			}
			h.slash(tc.user, tc.chan_, "/deploy", tc.text)
			m := h.reply(tc.user, tc.want)
			if strings.Count(m.Text, ". ") > 2 || strings.Contains(m.Text, "Something went wrong") {
				t.Errorf("reply is not a clear sentence or two: %q", m.Text)
			}
			for _, x := range h.slack.Messages() {
				if strings.Contains(x.Text, "Promotion request #") {
					t.Errorf("a request was posted despite the gate: %q", x.Text)
				}
			}
			if h.promotions() != 0 {
				t.Errorf("Heroku was asked to promote")
			}
		})
	}
}

func TestApprovalRefusals(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		before func(h *harness)
		by     string
		want   string
	}{
		{name: "self approval", by: alice, want: "someone else has to approve it"},
		{name: "not an approver", env: map[string]string{"DEVY_APPROVERS": carol + ",S0LEADS01"}, by: bob, want: "Only <@" + carol + ">, <!subteam^S0LEADS01> can approve",
			before: func(h *harness) { h.slack.SetUserGroup("S0LEADS01", "U0DAVE0001") }},
		{name: "approver group unreadable fails closed", env: map[string]string{"DEVY_APPROVERS": "S0GONE0001"}, by: bob, want: "I couldn't check whether you are in <!subteam^S0GONE0001>"},
		{name: "author may not approve", env: map[string]string{"DEVY_APPROVER_NOT_AUTHOR": "true", "DEVY_USER_MAP": "carol:" + bob}, by: bob, want: "You wrote commits in this promotion"},
		{name: "stale: staging moved on", by: bob, want: "refused as stale",
			before: func(h *harness) {
				h.sb.Heroku.Release(sandbox.StagingApp, h.sb.GitHub.Commit("Late change", "dave", "app/late.rb"), "dave@acme.test", "late")
			}},
		{name: "CI turned red", by: bob, want: "CI for",
			before: func(h *harness) { h.sb.Semaphore.AddPipeline("master", h.sb.StagingSHA, "done", "failed") }},
		{name: "locked after the request", by: bob, want: "Production is locked by <@" + carol + ">",
			before: func(h *harness) {
				h.slash(carol, devyChan, "/deploy", "lock")
				h.wait("lock", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "locked by <@"+carol+">") })
			}},
		{name: "expired", env: map[string]string{"DEVY_APPROVAL_TTL": "1ms"}, by: bob, want: "expired"},
		{name: "Heroku unreachable while checking fails closed", by: bob, want: "Heroku answered 500",
			before: func(h *harness) {
				h.sb.Heroku.FailNext("GET", "/apps/*", 500, nil, `{"id":"x","message":"boom"}`).Require(h.t)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.env)
			req := h.request(alice)
			if tc.before != nil {
				tc.before(h)
			}
			// The click comes from the message as it was seen: an expired
			// request may have lost its buttons already.
			id, err := h.slack.ClickSeenButton(req, "deploy.approve", tc.by)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
				t.Fatal(err)
			}
			h.reply(tc.by, tc.want)
			if h.promotions() != 0 {
				t.Fatalf("Heroku was asked to promote")
			}
		})
	}
}

func TestApproverInGroupMayApprove(t *testing.T) {
	h := start(t, map[string]string{"DEVY_APPROVERS": "S0LEADS01"})
	h.slack.SetUserGroup("S0LEADS01", carol)
	req := h.request(alice)
	h.click(req, "deploy.approve", carol)
	h.finished(req, "succeeded")
}

func TestRejectAndCancel(t *testing.T) {
	h := start(t, nil)
	req := h.request(alice)
	h.click(req, "deploy.reject", bob)
	m := h.finished(req, "rejected")
	// The requester hears of it, as of a success.
	h.wait("the thread reply telling the requester", func(x fakeslack.Message) bool {
		return x.ThreadTS == req.TS && strings.Contains(x.Text, "<@"+alice+"> your promotion #1") && strings.Contains(x.Text, "rejected by <@"+bob+">")
	})
	if !strings.Contains(blocksText(m), "Rejected by <@"+bob+">") || strings.Contains(string(m.Blocks), "deploy.approve") {
		t.Fatalf("rejected message:\n%s", blocksText(m))
	}
	// The buttons are gone; a click that still arrives (an old client, a
	// replay) is told what happened.
	id := h.slack.SendBlockAction(fakeslack.BlockAction{ActionID: "deploy.approve", BlockID: "deploy.request.1", Value: "1", UserID: carol, ChannelID: devyChan, MessageTS: req.TS})
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.reply(carol, "already rejected by <@"+bob+">")

	req2 := h.request(alice)
	h.slash(bob, devyChan, "/deploy", "cancel")
	h.reply(bob, "only they can withdraw it")
	h.slash(alice, devyChan, "/deploy", "cancel")
	h.reply(alice, "Withdrew your promotion request #2")
	h.finished(req2, "cancelled")
	if h.promotions() != 0 {
		t.Fatal("Heroku was asked to promote")
	}

	// History lists both, with who decided; narrowed to promotions, it
	// says there are none, not that nothing ever happened.
	h.slash(carol, devyChan, "/deploy", "history")
	hist := h.wait("history", func(m fakeslack.Message) bool {
		return m.User == carol && strings.Contains(m.Text, "Recent promotions and requests")
	})
	text := blocksText(hist)
	for _, want := range []string{"requested by <@" + alice + ">, rejected by <@" + bob + ">: rejected", "requested by <@" + alice + ">: withdrawn"} {
		if !strings.Contains(text, want) {
			t.Errorf("history lacks %q:\n%s", want, text)
		}
	}
	h.slash(carol, devyChan, "/deploy", "history promoted")
	h.reply(carol, "None of the 2 recent promotion requests was promoted")
}

func TestPendingRequestBlocksASecond(t *testing.T) {
	h := start(t, nil)
	h.request(alice)
	h.slash(bob, devyChan, "/deploy", "promote")
	h.reply(bob, "waits for approval")
}

func TestTamperedButtons(t *testing.T) {
	h := start(t, nil)
	req := h.request(alice)
	for _, v := range []string{"abc", "-1", "0", "999", "1; drop", "18446744073709551616"} {
		id := h.slack.SendBlockAction(fakeslack.BlockAction{ActionID: "deploy.approve", BlockID: "x", Value: v, UserID: bob, ChannelID: devyChan, MessageTS: req.TS})
		if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
			t.Fatal(err)
		}
	}
	// The request's own id, on another message here or in another channel.
	here := h.slack.AddMessage(devyChan, "", alice, "lunch?")
	there := h.slack.AddMessage(otherChan, "", alice, "lunch?")
	for _, elsewhere := range []fakeslack.BlockAction{
		{ActionID: "deploy.approve", BlockID: "x", Value: "1", UserID: bob, ChannelID: devyChan, MessageTS: here},
		{ActionID: "deploy.approve", BlockID: "x", Value: "1", UserID: bob, ChannelID: otherChan, MessageTS: there},
	} {
		if _, err := h.slack.WaitAck(h.ctx(), h.slack.SendBlockAction(elsewhere)); err != nil {
			t.Fatal(err)
		}
	}
	id := h.slack.SendBlockAction(fakeslack.BlockAction{ActionID: "deploy.nonsense", BlockID: "x", Value: "1", UserID: bob, ChannelID: devyChan, MessageTS: req.TS})
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		t.Fatal(err)
	}
	h.wait("nine refusals", func(fakeslack.Message) bool {
		n := 0
		for _, m := range h.slack.Messages() {
			if m.User == bob && m.Ephemeral {
				n++
			}
		}
		return n >= 9
	})
	n := 0
	for _, m := range h.slack.Messages() {
		if m.User == bob && m.Ephemeral && strings.Contains(m.Text, "does not belong to promotion request #1") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d clicks from other messages were told they decide nothing; want 2", n)
	}
	if h.promotions() != 0 {
		t.Fatal("a tampered click promoted")
	}
	// The real request is untouched and still approvable.
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")
}

func TestExactlyOnePromotionUnderConcurrentClicksAndRedelivery(t *testing.T) {
	h := start(t, nil)
	req := h.request(alice)
	var wg sync.WaitGroup
	var ids []string
	var mu sync.Mutex
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Everyone clicks the button they saw, however quickly the
			// first click changes the message.
			id, err := h.slack.ClickSeenButton(req, "deploy.approve", fmt.Sprintf("U0CLICK%03d", i))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
			t.Fatal(err)
		}
		if err := h.slack.Redeliver(id, "timeout"); err != nil {
			t.Fatal(err)
		}
	}
	h.finished(req, "succeeded")
	// Everyone who lost the race is told who decided.
	h.wait("19 'already approved' answers", func(fakeslack.Message) bool {
		n := 0
		for _, m := range h.slack.Messages() {
			if m.Ephemeral && strings.Contains(m.Text, "already approved by") {
				n++
			}
		}
		return n >= 19
	})
	if n := h.promotions(); n != 1 {
		t.Fatalf("%d promotions reached Heroku, want exactly 1", n)
	}
}

func TestPromotionTargetFailureShowsHerokusError(t *testing.T) {
	h := start(t, nil)
	h.sb.Heroku.FailPromotionTo(sandbox.ProductionEU, "User does not have access to that app").Require(t)
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	m := h.finished(req, "failed")
	text := blocksText(m)
	if !strings.Contains(text, "✅ *shop-prod*: succeeded") || !strings.Contains(text, "❌ *shop-prod-eu*: failed — Heroku says: User does not have access to that app") {
		t.Fatalf("failed message:\n%s", text)
	}
	h.wait("thread reply", func(x fakeslack.Message) bool { return x.ThreadTS == req.TS && strings.Contains(x.Text, "failed") })
	// The lock was released even though it failed.
	h.slash(bob, devyChan, "/deploy", "lock")
	h.wait("lock taken", func(x fakeslack.Message) bool { return strings.Contains(x.Text, "locked by <@"+bob+">") })
}

func TestRestartMidPromotionResumesWithoutPromotingTwice(t *testing.T) {
	h := start(t, nil)
	h.sb.Heroku.SetPromotionDelay(1 << 40) // Heroku takes "forever" while Devy is down
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	if err := h.slack.WaitFor(h.ctx(), func() bool { return h.sb.Heroku.Count("GET", "/pipeline-promotions/*") > 0 }); err != nil {
		t.Fatal(err)
	}
	h.stop()
	h.sb.Heroku.FinishPendingPromotions()
	h.run()
	h.finished(req, "succeeded")
	if n := h.promotions(); n != 1 {
		t.Fatalf("%d promotions reached Heroku, want exactly 1", n)
	}
	h.slash(carol, devyChan, "/deploy", "lock")
	h.wait("lock free again", func(x fakeslack.Message) bool { return strings.Contains(x.Text, "locked by <@"+carol+">") })
}

func TestLostPromotionCallIsNotRetried(t *testing.T) {
	h := start(t, nil)
	h.sb.Heroku.FailNext("POST", "/pipeline-promotions", 503, nil, `{"id":"unavailable","message":"try later"}`).Require(t)
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	m := h.finished(req, "unknown")
	if text := blocksText(m); !strings.Contains(text, "I did not promote again") || !strings.Contains(text, "still v2") {
		t.Fatalf("unknown outcome message:\n%s", text)
	}
	if n := len(h.sb.Heroku.Promotions()); n != 0 {
		t.Fatalf("%d promotions recorded, want 0: Devy must not retry blindly", n)
	}
}

func TestLockAndUnlock(t *testing.T) {
	h := start(t, map[string]string{"DEVY_ADMINS": carol})
	h.slash(alice, devyChan, "/deploy", "lock migrating the orders table for 30m")
	m := h.wait("lock", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "locked by <@"+alice+">") })
	if m.Ephemeral || !strings.Contains(m.Text, "“migrating the orders table”") {
		t.Errorf("lock announcement: %+v", m)
	}
	h.slash(bob, devyChan, "/deploy", "unlock")
	h.reply(bob, "Only they or a Devy admin can unlock it")
	h.slash(bob, devyChan, "/deploy", "lock")
	h.reply(bob, "Ask them to `/deploy unlock`")
	h.slash(carol, devyChan, "/deploy", "unlock")
	h.wait("admin unlock", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "lifted <@"+alice+">'s lock") })
}

func TestStatusBurstSharesHerokuCalls(t *testing.T) {
	h := start(t, nil)
	before := len(h.sb.Heroku.Calls())
	var ids []string
	for i := 0; i < 50; i++ {
		ids = append(ids, h.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", Text: "status", UserID: fmt.Sprintf("U0BURST%03d", i), ChannelID: devyChan, ChannelName: "devy"}))
	}
	for _, id := range ids {
		if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
			t.Fatal(err)
		}
	}
	h.wait("50 status replies", func(fakeslack.Message) bool {
		n := 0
		for _, m := range h.slack.Messages() {
			if strings.Contains(m.Text, "Pipeline shop") {
				n++
			}
		}
		return n == 50
	})
	// One status costs 11 calls (pipeline, couplings, 3 apps, 3 releases,
	// 3 slugs); fifty at once must share them.
	if calls := len(h.sb.Heroku.Calls()) - before; calls > 22 {
		t.Fatalf("50 concurrent /deploy status cost %d Heroku calls; they should share one read", calls)
	}
}

func TestSlowCommandSaysItIsWorking(t *testing.T) {
	h := start(t, nil)
	release := make(chan struct{})
	h.sb.Heroku.SetHook(func() { <-release }) // Heroku hangs until released
	h.slash(alice, devyChan, "/deploy", "promote")
	h.reply(alice, "⏳ Working on `/deploy promote`")
	close(release)
	h.wait("the request", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "Promotion request #1") })
}

// A /deploy status that waits on a cold read gets the progress note while
// it waits, then the status, and so does everyone waiting on the same read.
func TestSlowStatusSaysItIsWorkingThenAnswers(t *testing.T) {
	h := start(t, nil)
	h.stop() // a new process has no status read yet
	release := make(chan struct{})
	// Only the status reads releases: Devy starts, reads the pipeline, and
	// its first status read hangs.
	h.sb.Heroku.SetRequestHook(func(r *http.Request) {
		if strings.Contains(r.URL.Path, "/releases") {
			<-release
		}
	})
	h.run()
	h.slash(alice, devyChan, "/deploy", "status")
	h.slash(bob, devyChan, "/deploy", "status")
	h.reply(alice, "⏳ Working on `/deploy status`")
	h.reply(bob, "⏳ Working on `/deploy status`")
	close(release)
	for _, who := range []string{alice, bob} {
		h.reply(who, "Pipeline shop")
	}
}

// Slack names every private channel "privategroup" in a slash command's
// payload; the deploy channel is then recognised by its id's real name.
func TestPromoteFromAPrivateDeployChannel(t *testing.T) {
	const private = "G0DEVYPRIV"
	h := start(t, map[string]string{"DEVY_DEPLOY_CHANNEL": "deploys"})
	h.slack.AddChannel(private, "deploys", fakeslack.BotUserID, alice)
	h.slash(alice, private, "/deploy", "promote")
	h.wait("the promotion request", func(m fakeslack.Message) bool {
		return m.Channel == private && !m.Ephemeral && strings.Contains(m.Text, "Promotion request #1")
	})
}

// Semaphore lists every branch's pipelines together, newest first: on a busy
// project the staging commit's green run is far down that list, and is
// found by asking for its branch.
func TestPromoteOnABusySemaphoreProject(t *testing.T) {
	h := start(t, nil)
	for i := range 200 {
		h.sb.Semaphore.AddPipeline(fmt.Sprintf("feature/%d", i%7), fmt.Sprintf("%040x", i+1), "done", "passed")
	}
	req := h.request(alice)
	if text := blocksText(req); !strings.Contains(text, "passed") {
		t.Errorf("the request does not show staging's CI as passed:\n%s", text)
	}
}

// reports counts the thread replies telling the requester of request
// message req how it ended.
func (h *harness) reports(req fakeslack.Message) int {
	n := 0
	for _, m := range h.slack.Messages() {
		if m.ThreadTS == req.TS && strings.Contains(m.Text, "your promotion #") {
			n++
		}
	}
	return n
}

// The outcome and its reports are recorded together: a process that stops
// after recording the outcome, before its report got out, leaves the report
// to the next start, which posts it once.
func TestReportOfAnOutcomeSurvivesAStop(t *testing.T) {
	h := start(t, nil)
	req := h.request(alice)
	posts := h.slack.Count("chat.postMessage")
	// Slack refuses the report; Devy stops before trying again.
	h.slack.FailNext("chat.postMessage", 500, nil, `{"ok":false,"error":"internal_error"}`).Require(t)
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")
	waitfor.True(t, "the report to be tried", func() bool { return h.slack.Count("chat.postMessage") > posts })
	h.stop()
	if n := h.reports(req); n != 0 {
		t.Fatalf("%d reports before the restart, want 0 (Slack refused it)", n)
	}
	h.run()
	h.wait("the report after the restart", func(m fakeslack.Message) bool {
		return m.ThreadTS == req.TS && strings.Contains(m.Text, "<@"+alice+"> your promotion #1") && strings.Contains(m.Text, "live")
	})
	// Another start finds nothing left to report.
	h.stop()
	h.run()
	h.slash(carol, devyChan, "/deploy", "status")
	h.reply(carol, "Pipeline shop")
	if n := h.reports(req); n != 1 {
		t.Fatalf("%d reports of promotion #1, want exactly 1:%s", n, h.dump())
	}
}

func TestLockDurationInAnyCase(t *testing.T) {
	h := start(t, nil)
	h.slash(alice, devyChan, "/deploy", "lock freeze FOR 3H")
	m := h.wait("lock", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "locked by <@"+alice+">") })
	if !strings.Contains(m.Text, "“freeze”") || !strings.Contains(m.Text, "until") {
		t.Fatalf("lock announcement: %q", m.Text)
	}
}

// A lock typed in another channel is announced in the deploy channel too,
// where people look before promoting; so is its unlock.
func TestLockElsewhereIsAnnouncedInTheDeployChannel(t *testing.T) {
	h := start(t, nil)
	h.slash(alice, otherChan, "/deploy", "lock db upgrade for 1h")
	for _, ch := range []string{otherChan, devyChan} {
		h.wait("the lock in "+ch, func(m fakeslack.Message) bool {
			return m.Channel == ch && !m.Ephemeral && strings.Contains(m.Text, "locked by <@"+alice+">")
		})
	}
	h.slash(alice, otherChan, "/deploy", "unlock")
	for _, ch := range []string{otherChan, devyChan} {
		h.wait("the unlock in "+ch, func(m fakeslack.Message) bool {
			return m.Channel == ch && !m.Ephemeral && strings.Contains(m.Text, "<@"+alice+"> unlocked")
		})
	}
}

// product.md's table: with DEVY_APPROVERS set only approvers lock, and only
// approvers and the requester reject; with no admins, any approver unlocks.
func TestWhoMayLockUnlockAndReject(t *testing.T) {
	h := start(t, map[string]string{"DEVY_APPROVERS": carol + "," + dave})
	req := h.request(alice)
	h.click(req, "deploy.reject", bob)
	h.reply(bob, "Only <@"+carol+">, <@"+dave+"> or the requester can reject")
	h.click(req, "deploy.reject", alice) // the requester may
	h.finished(req, "rejected")

	h.slash(bob, devyChan, "/deploy", "lock")
	h.reply(bob, "Only <@"+carol+">, <@"+dave+"> can lock")
	h.slash(carol, devyChan, "/deploy", "lock freeze")
	h.wait("carol's lock", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "locked by <@"+carol+">") })
	h.slash(bob, devyChan, "/deploy", "unlock")
	h.reply(bob, "Only they or one of <@"+carol+">, <@"+dave+"> can unlock it")
	h.slash(dave, devyChan, "/deploy", "unlock")
	h.wait("dave lifting carol's lock, naming her", func(m fakeslack.Message) bool {
		return !m.Ephemeral && strings.Contains(m.Text, "<@"+dave+"> lifted <@"+carol+">'s lock")
	})
}

// A request expires at its time, not at the next click: its message says so
// and loses its buttons, and the requester hears of it in the thread; also
// when Devy was stopped meanwhile (overdue at start, or due after it).
func TestRequestsExpireOnTime(t *testing.T) {
	tests := []struct {
		name    string
		restart bool
		down    time.Duration // how long Devy stays stopped
	}{
		{name: "while Devy runs"},
		{name: "due after a restart", restart: true},
		{name: "overdue at a restart", restart: true, down: 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, map[string]string{"DEVY_APPROVAL_TTL": "1s"})
			req := h.request(alice)
			if tc.restart {
				// Stopped once the request is recorded with its message.
				waitfor.True(t, "the promotion request to be recorded", func() bool {
					return strings.Contains(h.logs.String(), `"sub":"promote","user":"`+alice)
				})
				h.stop()
				stopped := time.Now()
				waitfor.True(t, "Devy to stay down", func() bool { return time.Since(stopped) >= tc.down })
				h.run()
			}
			m := h.finished(req, "expired")
			if !strings.Contains(blocksText(m), "Expired at") || strings.Contains(string(m.Blocks), "deploy.approve") {
				t.Fatalf("expired message still offers a decision:\n%s", blocksText(m))
			}
			h.wait("the thread reply telling the requester", func(x fakeslack.Message) bool {
				return x.ThreadTS == req.TS && strings.Contains(x.Text, "<@"+alice+"> your promotion #1") && strings.Contains(x.Text, "expired after 1s")
			})
			// Told once, however many ways the expiry was noticed.
			h.slash(bob, devyChan, "/deploy", "status")
			h.reply(bob, "Pipeline")
			if n := h.reports(req); n != 1 {
				t.Errorf("%d thread replies, want 1:%s", n, h.dump())
			}
		})
	}
}
