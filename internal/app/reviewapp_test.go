package app

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
	"github.com/devy-chatops/devy/store/bolt"
)

// Review apps end to end: /reviewapp, @Devy reviewapp in a PR's thread and
// the message shortcut, over the test Slack socket against the sandbox.

const erin = "U0ERIN0001" // the author of PR #7 in the sandbox

// startReviewApps starts Devy with review apps that build by the first poll
// and erin's GitHub login mapped to Slack.
func startReviewApps(t *testing.T, env map[string]string) *harness {
	t.Helper()
	all := map[string]string{"DEVY_USER_MAP": "erin:" + erin}
	for k, v := range env {
		all[k] = v
	}
	h := start(t, all)
	h.sb.Heroku.SetReviewAppDelay(0)
	return h
}

// mentionDevy posts "@Devy text" in channel (in thread, if set) and sends
// the app_mention event Slack sends for it.
func (h *harness) mentionDevy(user, channel, thread, text string) string {
	h.t.Helper()
	full := "<@" + fakeslack.BotUserID + "> " + text
	ts := h.slack.AddMessage(channel, thread, user, full)
	ev := map[string]any{"type": "app_mention", "user": user, "text": full, "ts": ts, "channel": channel, "event_ts": ts}
	if thread != "" {
		ev["thread_ts"] = thread
	}
	raw, _ := json.Marshal(ev)
	id := h.slack.SendEvent(raw, "Ev"+strings.ReplaceAll(ts, ".", ""))
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		h.t.Fatalf("mention %q was not acknowledged: %v", text, err)
	}
	return ts
}

// shortcutOn runs the "Create review app" message shortcut on a message.
func (h *harness) shortcutOn(user string, msg fakeslack.Message) {
	h.t.Helper()
	m := map[string]any{"type": "message", "user": msg.Author, "ts": msg.TS, "text": msg.Text}
	if msg.ThreadTS != "" {
		m["thread_ts"] = msg.ThreadTS
	}
	raw, _ := json.Marshal(map[string]any{
		"type": "message_action", "token": fakeslack.VerificationToken, "action_ts": "1700000999.000001",
		"team":    map[string]any{"id": fakeslack.TeamID, "domain": fakeslack.TeamDomain},
		"user":    map[string]any{"id": user, "name": "someone", "team_id": fakeslack.TeamID},
		"channel": map[string]any{"id": msg.Channel, "name": "random"}, "callback_id": "create_review_app",
		"trigger_id": h.slack.TriggerID(), "response_url": h.slack.ResponseURL(msg.Channel, user),
		"message_ts": msg.TS, "message": m,
	})
	id := h.slack.SendInteractive(raw)
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		h.t.Fatalf("shortcut was not acknowledged: %v", err)
	}
}

// progress waits for Devy's public progress message about pr in channel
// (and thread, "" for the channel's top level).
func (h *harness) progress(channel, thread string, pr string) fakeslack.Message {
	h.t.Helper()
	return h.wait("the progress message of #"+pr+" in "+channel+" thread "+thread, func(m fakeslack.Message) bool {
		return !m.Ephemeral && m.Author == fakeslack.BotUserID && m.Channel == channel && m.ThreadTS == thread &&
			strings.Contains(m.Text, "review app") && strings.Contains(m.Text, "|#"+pr+">")
	})
}

// updatedTo waits until message m reads want.
func (h *harness) updatedTo(m fakeslack.Message, want string) fakeslack.Message {
	h.t.Helper()
	return h.wait("message "+m.TS+" to read "+want, func(x fakeslack.Message) bool {
		return x.Channel == m.Channel && x.TS == m.TS && strings.Contains(blocksText(x), want)
	})
}

// reviewAppPosts returns the bodies of the POST /review-apps Heroku got.
func (h *harness) reviewAppPosts() [][]byte {
	var out [][]byte
	for _, c := range h.sb.Heroku.Calls() {
		if c.Method == "POST" && c.Path == "/review-apps" {
			out = append(out, c.Body)
		}
	}
	return out
}

func (h *harness) headOf(pr int) github.PullRequest {
	h.t.Helper()
	gh, err := github.New(h.sb.GitHubURL+"/", sandbox.GitHubToken, sandbox.Owner+"/"+sandbox.Repo, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := gh.PullRequest(context.Background(), pr)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) herokuClient() *heroku.Client {
	return heroku.New(h.sb.HerokuURL, sandbox.HerokuToken, nil)
}

func TestReviewAppCreateHappyPath(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	h.slash(alice, devyChan, "/reviewapp", "7")

	m := h.progress(devyChan, "", "7")
	for _, want := range []string{"Creating a review app for", "Dark mode for the storefront", "<@" + erin + ">", "erin/dark-mode", "passed", "Asked by <@" + alice + ">"} {
		if !strings.Contains(blocksText(m), want) {
			t.Errorf("progress message lacks %q:\n%s", want, blocksText(m))
		}
	}
	ready := h.updatedTo(m, "Ready: <https://shop-pr-7.herokuapp.com/>")
	if !strings.Contains(ready.Text, "shop-pr-7") || ready.Updates == 0 {
		t.Errorf("ready message = %+v; want the app name, updated in place", ready)
	}
	// One message, updated in place: nothing else was posted, publicly or
	// to the asker (a private "creating…" would repeat the message above).
	for _, x := range h.slack.Messages() {
		if x.Author == fakeslack.BotUserID && x.TS != m.TS || x.Ephemeral {
			t.Errorf("another message (ephemeral %v): %q", x.Ephemeral, x.Text)
		}
	}

	posts := h.reviewAppPosts()
	if len(posts) != 1 {
		t.Fatalf("POST /review-apps received %d times, want 1", len(posts))
	}
	p, err := h.herokuClient().Pipeline(context.Background(), sandbox.Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	sha := h.headOf(7).HeadSHA
	var got map[string]any
	if err := json.Unmarshal(posts[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"branch": "erin/dark-mode", "pipeline": p.ID, "pr_number": float64(7),
		"source_blob": map[string]any{"url": "https://codeload.github.com/acme/shop/legacy.tar.gz/" + sha, "version": sha},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("POST /review-apps body = %s\nwant %v", posts[0], want)
	}
}

func TestReviewAppAlreadyThereIsReported(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	p, err := h.herokuClient().Pipeline(context.Background(), sandbox.Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	pr := h.headOf(7)
	if _, err := h.herokuClient().CreateReviewApp(context.Background(), p.ID, pr.HeadRef, 7, "https://codeload.github.com/x", pr.HeadSHA); err != nil {
		t.Fatal(err)
	}
	// Asking again, and again, answers the asker alone: nothing public.
	for _, user := range []string{bob, carol} {
		h.slash(user, devyChan, "/reviewapp", "7")
		m := h.reply(user, "already has a review app")
		if !strings.Contains(m.Text, "https://shop-pr-7.herokuapp.com/") || !strings.Contains(m.Text, "destroy") {
			t.Errorf("reply = %q; want the existing app's URL and how to remove it", m.Text)
		}
	}
	for _, x := range h.slack.Messages() {
		if !x.Ephemeral && x.Author == fakeslack.BotUserID && strings.Contains(x.Text, "review app") {
			t.Errorf("a public message about the existing review app: %q", x.Text)
		}
	}
	if n := len(h.reviewAppPosts()); n != 1 {
		t.Errorf("POST /review-apps received %d times; want only the first", n)
	}
}

func TestReviewAppRefusesPullRequestsItCannotBuild(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	before := h.sb.Heroku.Count("", "*")
	tests := []struct{ pr, want string }{
		{"404", "Pull request #404 does not exist in acme/shop"},
		{"4", "is closed, so I won't build it"},
		{"5", "is already merged"},
	}
	for _, tc := range tests {
		t.Run(tc.pr, func(t *testing.T) {
			h.slash(alice, devyChan, "/reviewapp", tc.pr)
			h.reply(alice, tc.want)
		})
	}
	if n := h.sb.Heroku.Count("", "*") - before; n != 0 {
		t.Errorf("Heroku got %d calls; want none for PRs that can't be built", n)
	}
}

func TestReviewAppHerokuErrorIsShown(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	h.slash(alice, devyChan, "/reviewapp", "9")
	m := h.progress(devyChan, "", "9")
	failed := h.updatedTo(m, "Failed: Couldn't find that stack: Ruby 3.4.0 is not available on heroku-22.")
	if !strings.Contains(failed.Text, "/reviewapp 9 destroy") {
		t.Errorf("failure = %q; want what to do next", failed.Text)
	}
	// The create call itself refused: nothing built, the message says so.
	h.sb.Heroku.FailNext("POST", "/review-apps", 422, nil, `{"id":"invalid_params","message":"Pipeline has no review app config."}`).Require(t)
	h.slash(alice, devyChan, "/reviewapp", "8")
	m8 := h.progress(devyChan, "", "8")
	h.updatedTo(m8, "Failed: Heroku refused: Pipeline has no review app config.")
	h.reply(alice, "I could not create the review app for #8")
}

func TestReviewAppDestroyPermissions(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, map[string]string{"DEVY_ADMINS": carol})
	h.slash(alice, devyChan, "/reviewapp", "7")
	m := h.progress(devyChan, "", "7")
	h.updatedTo(m, "Ready:")

	h.slash(bob, devyChan, "/reviewapp", "7 destroy")
	refusal := h.reply(bob, "can destroy the review app of #7")
	for _, want := range []string{"<@" + alice + "> (who asked for it)", "<@" + erin + "> (the PR's author)", "a Devy admin"} {
		if !strings.Contains(refusal.Text, want) {
			t.Errorf("refusal lacks %q: %s", want, refusal.Text)
		}
	}
	if n := h.sb.Heroku.Count("DELETE", "/review-apps/*"); n != 0 {
		t.Fatalf("a stranger's destroy reached Heroku (%d DELETE)", n)
	}

	h.slash(alice, devyChan, "/reviewapp", "7 destroy")
	// The review app's message here says who deleted it; that is the one
	// message about it (no second "destroyed" notice).
	h.updatedTo(m, "deleted by <@"+alice+">")
	if n := h.sb.Heroku.Count("DELETE", "/review-apps/*"); n != 1 {
		t.Errorf("DELETE /review-apps received %d times, want 1", n)
	}

	// The PR's author and admins may too; the audit log records each.
	for _, tc := range []struct{ pr, user, login string }{{"7", erin, "erin"}, {"8", carol, "admin"}} {
		h.slash(bob, devyChan, "/reviewapp", tc.pr)
		mine := h.wait("bob's review app of #"+tc.pr, func(x fakeslack.Message) bool {
			return !x.Ephemeral && x.Channel == devyChan && strings.Contains(blocksText(x), "|#"+tc.pr+">") &&
				strings.Contains(blocksText(x), "Asked by <@"+bob+">") && strings.Contains(x.Text, "Ready:")
		})
		h.slash(tc.user, devyChan, "/reviewapp", tc.pr+" destroy")
		h.updatedTo(mine, "deleted by <@"+tc.user+">")
	}
	for _, x := range h.slack.Messages() {
		if strings.Contains(x.Text, "destroyed the review app") {
			t.Errorf("a second message about a deletion: %q", x.Text)
		}
	}
	h.stop()
	db, err := bolt.Open(h.env["DEVY_DB_PATH"], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := db.AuditLog(0, "reviewapp.created", "reviewapp.deleted")
	if err != nil || len(log) != 6 {
		t.Fatalf("audit = %+v, %v; want 3 creations and 3 deletions", log, err)
	}
	if log[0].Action != "reviewapp.deleted" || log[0].Actor != carol || log[5].Action != "reviewapp.created" || log[5].Actor != alice {
		t.Errorf("audit = %+v", log)
	}
}

func TestReviewAppStatusAndList(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	h.slash(bob, devyChan, "/reviewapp", "8 status")
	h.reply(bob, "has no review app; `/reviewapp 8` creates one")
	h.slash(bob, devyChan, "/reviewapp", "list")
	h.reply(bob, "There are no review apps right now")

	h.slash(alice, devyChan, "/reviewapp", "7")
	h.updatedTo(h.progress(devyChan, "", "7"), "Ready:")
	h.sb.Heroku.SetReviewAppDelay(time.Hour) // #8 stays pending
	polls := h.sb.Heroku.Count("GET", "/review-apps/*")
	h.slash(alice, devyChan, "/reviewapp", "8")
	// Devy follows #8 once Heroku accepted it and it is recorded.
	waitfor.True(t, "Devy to follow the review app of #8", func() bool { return h.sb.Heroku.Count("GET", "/review-apps/*") > polls })

	h.slash(bob, devyChan, "/reviewapp", "7 status")
	st := h.reply(bob, "Ready:")
	if !strings.Contains(blocksText(st), "https://shop-pr-7.herokuapp.com/") || !strings.Contains(blocksText(st), "Status: ready · created just now") {
		t.Errorf("status = %s", blocksText(st))
	}
	h.slash(bob, devyChan, "/reviewapp", "list")
	l := h.wait("the list", func(m fakeslack.Message) bool { return m.User == bob && strings.Contains(m.Text, "2 review apps") })
	text := blocksText(l)
	for _, want := range []string{
		"|#7> Dark mode for the storefront · `erin/dark-mode` · ready · just now · <https://shop-pr-7.herokuapp.com/|shop-pr-7>",
		"|#8> Search by product name · `frank/search` · building · just now",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("list lacks %q:\n%s", want, text)
		}
	}
}

func TestReviewAppBadInputMakesNoCall(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	// Devy reads the status once at start, in the background, ending with
	// its compare: count from after it.
	waitfor.True(t, "the start-up status read", func() bool {
		for _, c := range h.sb.GitHub.Calls() {
			if strings.Contains(c.Path, "/compare/") {
				return true
			}
		}
		return false
	})
	herokuBefore, githubBefore := h.sb.Heroku.Count("", "*"), h.sb.GitHub.Count("", "*")
	tests := []struct{ text, want string }{
		{"", "/reviewapp <PR number>"},
		{"abc", "`abc` is not a pull request number; type `/reviewapp 123`"},
		{"-1", "`-1` is not a pull request number"},
		{"0", "`0` is not a pull request number"},
		{"99999999999999999999", "`99999999999999999999` is not a pull request number"},
		{"#", "`#` is not a pull request number"},
		{"12 frobnicate", "I don't know `/reviewapp 12 frobnicate`; type `/reviewapp 12`, `/reviewapp 12 status` or `/reviewapp 12 destroy`."},
		{"12 status now", "I don't know `/reviewapp 12 status now`"},
		{"list all", "`/reviewapp list` takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			h.slash(alice, devyChan, "/reviewapp", tc.text)
			h.reply(alice, tc.want)
		})
	}
	if n, g := h.sb.Heroku.Count("", "*")-herokuBefore, h.sb.GitHub.Count("", "*")-githubBefore; n+g != 0 {
		t.Errorf("bad input reached Heroku (%d calls) or GitHub (%d calls)", n, g)
	}
}

func TestReviewAppFromAPullRequestsThread(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	parent := h.slack.AddMessage(otherChan, "", carol, "New pull request <https://github.com/acme/shop/pull/7|#7 Dark mode for the storefront> by erin")

	// No number: the thread's first message names the PR.
	h.mentionDevy(bob, otherChan, parent, "reviewapp")
	m := h.progress(otherChan, parent, "7")
	ready := h.updatedTo(m, "Ready: <https://shop-pr-7.herokuapp.com/>")
	if ready.ThreadTS != parent || !strings.Contains(blocksText(ready), "`@Devy reviewapp 7 status`") {
		t.Errorf("ready = %+v; want it in the thread with advice that works there", ready)
	}

	// A number wins over the thread's link.
	h.mentionDevy(bob, otherChan, parent, "reviewapp 8")
	h.updatedTo(h.progress(otherChan, parent, "8"), "Ready: <https://shop-pr-8.herokuapp.com/>")

	// Slack will not show Devy the thread: the asker is told what to type.
	h.slack.FailNext("conversations.replies", 200, nil, `{"ok":false,"error":"missing_scope","needed":"channels:history"}`).Require(t)
	h.mentionDevy(bob, otherChan, parent, "reviewapp")
	h.reply(bob, "I couldn't read this thread's first message to find its pull request; type `@Devy reviewapp 123`")

	// A thread about something else, and a mention at the top level.
	lunch := h.slack.AddMessage(otherChan, "", carol, "Lunch? https://github.com/acme/other/pull/7")
	h.mentionDevy(bob, otherChan, lunch, "reviewapp")
	r := h.reply(bob, "This thread's first message links no pull request of acme/shop")
	if r.ThreadTS != lunch {
		t.Errorf("refusal landed in thread %q, want %q", r.ThreadTS, lunch)
	}
	top := h.mentionDevy(bob, otherChan, "", "reviewapp")
	h.wait("the refusal in the mention's own thread", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == bob && m.ThreadTS == top && strings.Contains(m.Text, "links no pull request")
	})
	if n := len(h.reviewAppPosts()); n != 2 {
		t.Errorf("POST /review-apps received %d times, want 2", n)
	}
}

func TestReviewAppMessageShortcut(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	parent := h.slack.AddMessage(otherChan, "", carol, "Let's look at this")
	reply := h.slack.AddMessage(otherChan, parent, carol, "Could someone try <https://github.com/acme/shop/pull/8>?")
	msg := h.wait("the seeded reply", func(m fakeslack.Message) bool { return m.TS == reply })
	h.shortcutOn(bob, msg)
	m := h.progress(otherChan, parent, "8")
	h.updatedTo(m, "Ready: <https://shop-pr-8.herokuapp.com/>")

	plain := h.slack.AddMessage(otherChan, "", carol, "no link here")
	h.shortcutOn(bob, h.wait("the plain message", func(m fakeslack.Message) bool { return m.TS == plain }))
	if r := h.reply(bob, "That message links no pull request of acme/shop"); r.ThreadTS != plain {
		t.Errorf("refusal landed in thread %q, want %q", r.ThreadTS, plain)
	}

	// A private channel Devy was never invited to: only the shortcut's
	// response_url reaches the person.
	h.slack.AddChannel("G0PRIVATE1", "private", carol, bob)
	secret := h.slack.AddMessage("G0PRIVATE1", "", carol, "no link here either")
	h.shortcutOn(bob, h.wait("the private message", func(m fakeslack.Message) bool { return m.TS == secret }))
	h.wait("the refusal in the private channel", func(m fakeslack.Message) bool {
		return m.Channel == "G0PRIVATE1" && m.User == bob && m.Ephemeral && strings.Contains(m.Text, "links no pull request")
	})
}

func TestReviewAppSlashCommandAlsoPostsInThePRsThread(t *testing.T) {
	t.Parallel()
	h := startReviewApps(t, nil)
	notification := h.slack.AddMessage(otherChan, "", fakeslack.BotUserID, "Pull request #7 opened by erin")
	// What the webhook feature will do when it posts the notification.
	h.stop()
	db, err := bolt.Open(h.env["DEVY_DB_PATH"], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPRThread(7, otherChan, notification); err != nil {
		t.Fatal(err)
	}
	db.Close()
	h.run()

	h.slash(alice, devyChan, "/reviewapp", "7")
	inChannel := h.progress(devyChan, "", "7")
	inThread := h.progress(otherChan, notification, "7")
	for _, m := range []fakeslack.Message{inChannel, inThread} {
		h.updatedTo(m, "Ready: <https://shop-pr-7.herokuapp.com/>")
	}
	if n := len(h.reviewAppPosts()); n != 1 {
		t.Errorf("POST /review-apps received %d times, want 1", n)
	}
}

func TestReviewAppBuildResumesAfterRestart(t *testing.T) {
	h := start(t, nil)
	h.sb.Heroku.SetReviewAppDelay(time.Hour) // Heroku builds while Devy is down
	h.slash(alice, devyChan, "/reviewapp", "7")
	m := h.progress(devyChan, "", "7")
	// Devy is following the build once it polls Heroku for it.
	if err := h.slack.WaitFor(h.ctx(), func() bool { return h.sb.Heroku.Count("GET", "/review-apps/*") > 0 }); err != nil {
		t.Fatal(err)
	}
	h.stop()
	h.sb.Heroku.FinishPendingReviewApps()
	h.run()
	h.updatedTo(m, "Ready: <https://shop-pr-7.herokuapp.com/>")
	if n := len(h.reviewAppPosts()); n != 1 {
		t.Fatalf("%d review apps were asked for, want 1", n)
	}
}
