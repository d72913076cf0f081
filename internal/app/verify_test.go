package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/pgtest"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store/bolt"
)

// startVerify runs Devy with the Heroku webhook, the sandbox's authors bob
// and carol mapped (dave is not: the next clicker vouches for him) and env.
func startVerify(t *testing.T, env map[string]string) (*harness, string) {
	t.Helper()
	port := freePort(t)
	all := map[string]string{"PORT": port, "HEROKU_WEBHOOK_SECRET": herokuSecret, "DEVY_USER_MAP": "bob:" + bob + ",carol:" + carol}
	for k, v := range env {
		all[k] = v
	}
	h := start(t, all)
	base := "http://127.0.0.1:" + port
	waitfor.True(t, "the HTTP listener", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return h, base
}

// releaseMessage delivers staging's release (twice, as a redelivery would)
// and returns the one message Devy posted about it.
func (h *harness) verifyRelease(base string) fakeslack.Message {
	h.t.Helper()
	for _, id := range []string{"evt-1", "evt-2"} {
		if code := h.deliver(base, h.releaseHook("shop-staging", id)); code/100 != 2 {
			h.t.Fatalf("release delivery answered %d", code)
		}
	}
	m := h.wait("the staging release message", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(m.Text, "New staging release")
	})
	return m
}

func (h *harness) ephemeral(user, text string) fakeslack.Message {
	h.t.Helper()
	return h.wait(user+" is told "+text, func(m fakeslack.Message) bool {
		return m.User == user && m.Ephemeral && strings.Contains(m.Text, text)
	})
}

func TestVerifiedOnStaging(t *testing.T) {
	verifiedOnStaging(t, map[string]string{"DEVY_REQUIRE_VERIFIED": "true"})
}

// The same on PostgreSQL: its verifications, claims and override rules.
func TestVerifiedOnStagingPostgreSQL(t *testing.T) {
	verifiedOnStaging(t, map[string]string{"DEVY_REQUIRE_VERIFIED": "true", "DATABASE_URL": pgtest.URL(t)})
}

// verifiedOnStaging is the Etsy step end to end: release → message with
// mentions → approval refused while unverified → each author verifies →
// the request updated → approve → exactly one promotion.
func verifiedOnStaging(t *testing.T, env map[string]string) {
	h, base := startVerify(t, env)
	rel := h.verifyRelease(base)
	body := blocksText(rel)
	for _, want := range []string{"Verify on staging", "3 commits new since production", "<@" + bob + ">", "<@" + carol + ">", "dave", "Fix rounding in cart totals", "Verified on staging", "Request promotion"} {
		if !strings.Contains(body, want) {
			t.Errorf("release message lacks %q:\n%s", want, body)
		}
	}

	req := h.request(alice)
	if text := blocksText(req); !strings.Contains(text, "⏳ <@"+bob+">") || !strings.Contains(text, "⏳ dave") {
		t.Errorf("the request does not show who is left:\n%s", text)
	}
	h.click(req, "deploy.approve", bob)
	h.ephemeral(bob, "Not everyone has verified their commits on staging yet")

	h.click(rel, "deploy.verify", bob)
	h.ephemeral(bob, "Marked 2 commits in staging v3 verified (1 vouched for")
	h.click(rel, "deploy.verify", bob)
	h.ephemeral(bob, "You have nothing left to verify")
	h.click(rel, "deploy.verify", carol)
	h.ephemeral(carol, "Marked 1 commit in staging v3 verified.")
	h.wait("the request showing everyone verified", func(m fakeslack.Message) bool {
		text := blocksText(m)
		return m.TS == req.TS && strings.Contains(text, "✅ <@"+bob+">") && strings.Contains(text, "✅ <@"+carol+">") &&
			strings.Contains(text, "✅ dave — 1 commit, vouched for by <@"+bob+">")
	})

	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")
	if n := h.promotions(); n != 1 {
		t.Fatalf("%d promotions, want 1", n)
	}
	if n := stagingReleases(h); n != 1 {
		t.Errorf("%d staging release messages for one release, want 1", n)
	}
}

// An author DEVY_USER_MAP does not name is found by their commit's e-mail
// (users.lookupByEmail), mentioned, and verifies their own commit; the
// commits of authors Slack does not know stay for someone to vouch for.
func TestVerifyFindsAuthorsByEmail(t *testing.T) {
	const erin = "U0ERIN0001"
	h, base := startVerify(t, nil)
	// A commit without a GitHub account: GitHub gives its git e-mail only.
	h.slack.AddUser(fakeslack.User{ID: erin, Name: "erin", RealName: "Erin", Email: "Contributor@example.com"})
	sha := h.sb.GitHub.Commit("Tidy the cart page", "", "app/cart.rb")
	h.sb.Heroku.Release(sandbox.StagingApp, sha, "erin@acme.test", "Deploy "+sha[:7])

	rel := h.verifyRelease(base)
	if body := blocksText(rel); !strings.Contains(body, "<@"+erin+">") || !strings.Contains(body, "Tidy the cart page") || !strings.Contains(body, "dave") {
		t.Errorf("the release message does not mention the author found by e-mail:\n%s", body)
	}
	h.click(rel, "deploy.verify", erin)
	h.ephemeral(erin, "Marked 2 commits in staging v4 verified (1 vouched for")
	h.slash(carol, devyChan, "/deploy", "status")
	h.wait("the status naming who is left", func(m fakeslack.Message) bool {
		return strings.Contains(m.Text+blocksText(m), "⏳ Verified on staging: 2 of 4 commits; waiting for <@"+bob+">, <@"+carol+">.")
	})
}

// Without a Heroku webhook, /deploy status and promote notice the staging
// release nobody announced and post its message, once.
func TestStagingReleaseNoticedWithoutWebhook(t *testing.T) {
	h := start(t, map[string]string{"HEROKU_WEBHOOK_SECRET": "", "DEVY_USER_MAP": "bob:" + bob + ",carol:" + carol})
	h.slash(alice, devyChan, "/deploy", "status")
	rel := h.wait("the staging release message", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(m.Text, "New staging release")
	})
	if body := blocksText(rel); !strings.Contains(body, "Verified on staging") || !strings.Contains(body, "<@"+bob+">") {
		t.Errorf("the release message lacks the Etsy step:\n%s", body)
	}
	h.slash(carol, devyChan, "/deploy", "status")
	h.reply(carol, "Pipeline shop")
	req := h.request(alice)
	h.click(rel, "deploy.verify", bob)
	h.ephemeral(bob, "Marked 2 commits in staging v3 verified")
	h.wait("the request showing bob verified", func(m fakeslack.Message) bool {
		return m.TS == req.TS && strings.Contains(blocksText(m), "✅ <@"+bob+">")
	})
	if n := stagingReleases(h); n != 1 {
		t.Errorf("%d staging release messages after two statuses and a promote, want 1", n)
	}
}

// Without a Heroku webhook, a staging release made while Devy was down is
// announced by the read at start, before anyone asks, and only once: not
// again by the next command, nor by the next start.
func TestStagingReleaseSeenAtStartIsAnnounced(t *testing.T) {
	h := start(t, map[string]string{"HEROKU_WEBHOOK_SECRET": "", "DEVY_USER_MAP": "bob:" + bob + ",carol:" + carol})
	h.wait("the staging release message after the start", isStagingRelease)
	h.slash(alice, devyChan, "/deploy", "status")
	h.reply(alice, "Pipeline shop")
	h.stop()
	h.run()
	h.slash(carol, devyChan, "/deploy", "status")
	h.reply(carol, "Pipeline shop")
	if n := stagingReleases(h); n != 1 {
		t.Errorf("%d staging release messages after a start, a status, a restart and a status; want 1", n)
	}
}

// Halfway through DEVY_APPROVAL_TTL the authors still unverified get one
// reminder in the release message's thread, and no other, also after a
// restart.
func TestVerifyReminderHalfwayThroughTTL(t *testing.T) {
	h, base := startVerify(t, map[string]string{"DEVY_APPROVAL_TTL": "2s"})
	rel := h.verifyRelease(base)
	h.click(rel, "deploy.verify", bob)
	h.ephemeral(bob, "Marked 2 commits in staging v3 verified")
	isNudge := func(m fakeslack.Message) bool {
		return m.ThreadTS == rel.TS && strings.Contains(m.Text, "still waits for you to verify")
	}
	nudge := h.wait("the reminder in the release's thread", isNudge)
	if !strings.Contains(nudge.Text, "<@"+carol+">") || strings.Contains(nudge.Text, bob) {
		t.Errorf("the reminder names the wrong people: %s", nudge.Text)
	}
	h.stop()
	h.run()
	// A few of the checks (every 100 ms with this TTL) after the restart.
	time.Sleep(time.Second)
	n := 0
	for _, m := range h.slack.Messages() {
		if isNudge(m) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reminders, want 1", n)
	}
}

// An admin's Approve while commits are unverified opens a modal asking why;
// approving through it promotes, shows the reason on the request and is in
// the audit log. A non-admin's click is refused, naming who is left.
func TestVerifyAdminOverride(t *testing.T) {
	h, base := startVerify(t, map[string]string{"DEVY_REQUIRE_VERIFIED": "true", "DEVY_ADMINS": carol})
	h.verifyRelease(base)
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	h.ephemeral(bob, "<@"+bob+">, <@"+carol+">, dave still have to")
	if n := len(h.slack.Views()); n != 0 {
		t.Fatalf("%d modals opened for a non-admin's click", n)
	}

	h.click(req, "deploy.approve", carol)
	v := h.openedView(1)
	if v["callback_id"] != "deploy.override" {
		t.Fatalf("the modal is %v; want the override", v["callback_id"])
	}
	h.submit(carol, v, map[string]field{"reason": {text: "Hotfix for the checkout outage; tested by QA"}})
	h.wait("the request showing the override", func(m fakeslack.Message) bool {
		text := blocksText(m)
		return m.TS == req.TS && strings.Contains(text, "⚠️ <@"+carol+"> approved with unverified commits: “Hotfix for the checkout outage; tested by QA”")
	})
	h.finished(req, "succeeded")
	if n := h.promotions(); n != 1 {
		t.Fatalf("%d promotions, want 1", n)
	}
	h.stop()
	db, err := bolt.Open(h.env["DEVY_DB_PATH"], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := db.AuditLog(0, "promotion.verification_overridden")
	if err != nil || len(log) != 1 {
		t.Fatalf("audit = %+v, %v; want one override", log, err)
	}
	if e := log[0]; e.Actor != carol || e.Detail["reason"] != "Hotfix for the checkout outage; tested by QA" || !strings.Contains(e.Detail["unverified"], "dave") {
		t.Errorf("audit entry = %+v", e)
	}
}

// isStagingRelease tells the message of a new staging release in #devy.
func isStagingRelease(m fakeslack.Message) bool {
	return m.Channel == devyChan && strings.Contains(m.Text, "New staging release")
}

// stagingReleases counts the messages of new staging releases in #devy.
func stagingReleases(h *harness) int {
	n := 0
	for _, m := range h.slack.Messages() {
		if isStagingRelease(m) {
			n++
		}
	}
	return n
}
