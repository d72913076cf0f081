package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// The services' webhooks end to end: signed deliveries shaped like the real
// ones (api-facts 3.6, 4.6, 5.4) reach Devy's HTTP listener, and the test
// Slack shows what the team sees.

const (
	generalChan     = "C0GENERAL1"
	githubSecret    = "gh-webhook-secret"
	herokuSecret    = "heroku-webhook-secret"
	semaphoreSecret = "semaphore-webhook-secret"
)

// startWebhooks runs Devy with an HTTP listener, the given webhook secrets
// (all three when nil) and a #general channel for pull requests.
func startWebhooks(t *testing.T, secrets map[string]string) (*harness, string) {
	t.Helper()
	if secrets == nil {
		secrets = map[string]string{"GITHUB_WEBHOOK_SECRET": githubSecret, "HEROKU_WEBHOOK_SECRET": herokuSecret, "SEMAPHORE_WEBHOOK_SECRET": semaphoreSecret}
	}
	port := freePort(t)
	env := map[string]string{"PORT": port, "DEVY_USER_MAP": "erin:" + erin + ",dave:" + dave}
	for k, v := range secrets {
		env[k] = v
	}
	h := start(t, env)
	h.slack.AddChannel(generalChan, "general", fakeslack.BotUserID)
	h.sb.Heroku.SetReviewAppDelay(0)
	base := "http://127.0.0.1:" + port
	h.waitHTTP(base)
	return h, base
}

// waitHTTP waits until Devy's HTTP listener at base answers; it starts
// with the bot.
func (h *harness) waitHTTP(base string) {
	h.t.Helper()
	waitfor.True(h.t, "the HTTP listener to answer /healthz", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// hook is one delivery: where, what, which headers, and how to sign it.
type hook struct {
	service string // github, heroku or semaphore
	body    []byte
	header  map[string]string
	secret  string // signs with it; "" sends no signature
}

func (h *harness) deliver(base string, d hook) int {
	h.t.Helper()
	req, err := http.NewRequest("POST", base+"/webhooks/"+d.service, bytes.NewReader(d.body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range d.header {
		req.Header.Set(k, v)
	}
	if d.secret != "" {
		m := hmac.New(sha256.New, []byte(d.secret))
		m.Write(d.body)
		sum := m.Sum(nil)
		switch d.service {
		case "github":
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(sum))
		case "heroku":
			req.Header.Set("Heroku-Webhook-Hmac-SHA256", base64.StdEncoding.EncodeToString(sum))
		case "semaphore":
			req.Header.Set("X-Semaphore-Signature-256", hex.EncodeToString(sum))
		}
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(start); took > time.Second {
		h.t.Errorf("a %s webhook took %v to answer; the services want an answer within a second", d.service, took)
	}
	return resp.StatusCode
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// prHook is GitHub's pull_request delivery for the sandbox's PR #7.
func (h *harness) prHook(action, delivery string, extra map[string]any) hook {
	pr := h.headOf(7)
	p := map[string]any{
		"action": action, "number": 7,
		"pull_request": map[string]any{
			"url": "https://api.github.com/repos/acme/shop/pulls/7", "id": 1864398472, "html_url": "https://github.com/acme/shop/pull/7",
			"number": 7, "state": "open", "locked": false, "title": pr.Title, "draft": false, "merged": false, "merged_by": nil,
			"user": map[string]any{"login": "erin", "id": 5123, "type": "User"},
			"head": map[string]any{"label": "acme:erin/dark-mode", "ref": "erin/dark-mode", "sha": pr.HeadSHA},
			"base": map[string]any{"label": "acme:master", "ref": "master", "sha": h.sb.StagingSHA},
		},
		"repository": map[string]any{"id": 700112, "name": "shop", "full_name": "acme/shop", "private": true},
		"sender":     map[string]any{"login": "erin", "id": 5123, "type": "User"},
	}
	for k, v := range extra {
		if k == "pull_request" {
			for kk, vv := range v.(map[string]any) {
				p["pull_request"].(map[string]any)[kk] = vv
			}
			continue
		}
		p[k] = v
	}
	return hook{service: "github", body: mustJSON(p), secret: githubSecret,
		header: map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery}}
}

// releaseHook is Heroku's api:release delivery for app's current release.
func (h *harness) releaseHook(appName, eventID string) hook {
	p, err := h.herokuClient().Pipeline(context.Background(), sandbox.Pipeline)
	if err != nil {
		h.t.Fatal(err)
	}
	var appID string
	for _, a := range append(p.Staging, p.Production...) {
		if a.Name == appName {
			appID = a.ID
		}
	}
	rel, err := h.herokuClient().CurrentRelease(context.Background(), appID)
	if err != nil {
		h.t.Fatal(err)
	}
	body := mustJSON(map[string]any{
		"action": "create", "actor": map[string]any{"email": rel.UserEmail, "id": "f87b5e7e-4631-46cc-9912-9fcdbbb6c985"},
		"created_at": rel.CreatedAt, "id": eventID,
		"data": map[string]any{
			"addon_plan_names": []string{}, "app": map[string]any{"id": appID, "name": appName}, "created_at": rel.CreatedAt,
			"description": rel.Description, "status": "succeeded", "id": rel.ID, "slug": map[string]any{"id": rel.SlugID},
			"updated_at": rel.CreatedAt, "user": map[string]any{"email": rel.UserEmail, "id": "f87b5e7e-4631-46cc-9912-9fcdbbb6c985"},
			"version": rel.Version, "current": true,
		},
		"previous_data": map[string]any{}, "published_at": nil, "resource": "release", "sequence": nil,
		"updated_at": rel.CreatedAt, "version": "application/vnd.heroku+json; version=3",
		"webhook_metadata": map[string]any{
			"attempt": map[string]any{"id": "8a44f820-2354-489d-9a11-a793cbf49979"}, "delivery": map[string]any{"id": "d-" + eventID},
			"event": map[string]any{"id": eventID, "include": "api:release"}, "webhook": map[string]any{"id": "b54e6a7e-d162-4bd7-ab42-1011582c19cc"},
		},
	})
	return hook{service: "heroku", body: body, secret: herokuSecret}
}

// pipelineHook is Semaphore's notification of a finished pipeline. Its
// webhook id is made up from the pipeline's; Semaphore makes a new one for
// every attempt.
func (h *harness) pipelineHook(pipelineID, result string, revision map[string]any) hook {
	body := mustJSON(map[string]any{
		"version": "1.0.0", "organization": map[string]any{"name": "acme", "id": "36360e31-6a6b-4b6f-9e3f-3c1b2c1d0e0f"},
		"project": map[string]any{"name": "shop", "id": sandbox.ProjectID}, "repository": map[string]any{"url": "https://github.com/acme/shop", "slug": "acme/shop"},
		"revision": revision,
		"workflow": map[string]any{"initial_pipeline_id": "fa02c7bd-a6b5-4c3d-9e2f-1a0b9c8d7e6f", "id": "acabe58e-1b2c-4d3e-8f4a-5b6c7d8e9f0a", "created_at": "2026-11-24T22:40:54Z"},
		"pipeline": map[string]any{
			"yaml_file_name": "semaphore.yml", "working_directory": ".semaphore", "state": "done", "result": result, "result_reason": "test",
			"name": "Shop CI", "id": pipelineID, "error_description": "",
			"created_at": "2026-11-24T22:40:54Z", "pending_at": "2026-11-24T22:40:55Z", "queuing_at": "2026-11-24T22:40:55Z",
			"running_at": "2026-11-24T22:40:56Z", "stopping_at": nil, "done_at": "2026-11-24T22:44:08Z",
		},
		"blocks": []any{},
	})
	return hook{service: "semaphore", body: body, secret: semaphoreSecret, header: map[string]string{"X-Semaphore-Webhook-Id": "w-" + pipelineID}}
}

func (h *harness) masterRevision() map[string]any {
	return map[string]any{
		"tag": nil, "sender": map[string]any{"login": "dave", "email": "dave@acme.test", "avatar_url": "https://avatars.githubusercontent.com/u/5125"},
		"reference_type": "branch", "reference": "refs/heads/master", "pull_request": nil,
		"commit_sha": h.sb.StagingSHA, "commit_message": "Report errors to Sentry",
		"branch": map[string]any{"name": "master", "commit_range": h.sb.ProductionSHA + "..." + h.sb.StagingSHA},
	}
}

// posts counts Devy's public messages in channel, replies included.
func (h *harness) posts(channel string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range h.slack.Messages() {
		if m.Channel == channel && !m.Ephemeral && m.Author == fakeslack.BotUserID {
			out = append(out, m)
		}
	}
	return out
}

func hasButton(t *testing.T, m fakeslack.Message, actionID, value, text string) {
	t.Helper()
	var blocks []struct {
		Type     string            `json:"type"`
		Elements []json.RawMessage `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, raw := range b.Elements {
			var e struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
				Text     struct {
					Text string `json:"text"`
				} `json:"text"`
			}
			if json.Unmarshal(raw, &e) == nil && e.ActionID == actionID && e.Value == value && e.Text.Text == text {
				return
			}
		}
	}
	t.Errorf("no %q button (%s=%s) in %s", text, actionID, value, m.Blocks)
}

func TestWebhookPullRequestFlow(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)

	if code := h.deliver(base, h.prHook("opened", "d-opened", nil)); code != 200 {
		t.Fatalf("opened answered %d; want 200", code)
	}
	note := h.wait("the PR notification", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS == "" && strings.Contains(m.Text, "Pull request")
	})
	for _, want := range []string{"<https://github.com/acme/shop/pull/7|#7 Dark mode for the storefront>", "<@" + erin + ">", "`erin/dark-mode` → `master`"} {
		if !strings.Contains(blocksText(note), want) {
			t.Errorf("notification lacks %q:\n%s", want, blocksText(note))
		}
	}
	hasButton(t, note, "reviewapp.create", "7", "Create review app")

	// GitHub's redelivery of the same delivery posts nothing more.
	if code := h.deliver(base, h.prHook("opened", "d-opened", nil)); code != 200 {
		t.Errorf("redelivery answered %d; want 200", code)
	}

	// The button starts the review app, as /reviewapp 7 does, replying in the thread.
	h.click(note, "reviewapp.create", alice)
	progress := h.progress(generalChan, note.TS, "7")
	h.updatedTo(progress, "Ready: <https://shop-pr-7.herokuapp.com/>")
	if n := len(h.reviewAppPosts()); n != 1 {
		t.Errorf("POST /review-apps received %d times; want 1", n)
	}

	// Later events go into the thread.
	sync := h.prHook("synchronize", "d-sync", map[string]any{"before": h.headOf(7).HeadSHA, "after": h.headOf(7).HeadSHA})
	if code := h.deliver(base, sync); code != 200 {
		t.Fatalf("synchronize answered %d", code)
	}
	h.wait("new commits in the thread", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS == note.TS && strings.Contains(m.Text, "New commits on `erin/dark-mode`")
	})
	merged := h.prHook("closed", "d-merged", map[string]any{"sender": map[string]any{"login": "bob"},
		"pull_request": map[string]any{"state": "closed", "merged": true, "merged_by": map[string]any{"login": "bob"}}})
	if code := h.deliver(base, merged); code != 200 {
		t.Fatalf("closed answered %d", code)
	}
	done := h.wait("merged in the thread", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS == note.TS && strings.Contains(m.Text, "Merged into `master` by bob")
	})
	if !strings.Contains(blocksText(done), "`@Devy reviewapp 7 destroy`") || !strings.Contains(blocksText(done), "shop-pr-7") {
		t.Errorf("the merged PR's review app is not offered for destruction:\n%s", blocksText(done))
	}

	// The branch's pipelines go into the thread too.
	pr := h.headOf(7)
	rev := map[string]any{"reference_type": "pull_request", "reference": "refs/pull/7/merge", "commit_sha": pr.HeadSHA, "commit_message": "Dark mode toggle",
		"sender": map[string]any{"login": "erin"}, "branch": nil,
		"pull_request": map[string]any{"head_repo_slug": "acme/shop", "number": 7, "name": pr.Title, "head_sha": pr.HeadSHA, "branch_name": "erin/dark-mode", "commit_range": ""}}
	if code := h.deliver(base, h.pipelineHook("ppl-pr", "failed", rev)); code != 200 {
		t.Fatalf("pipeline answered %d", code)
	}
	ci := h.wait("CI in the thread", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS == note.TS && strings.Contains(m.Text, "CI failed")
	})
	if !strings.Contains(blocksText(ci), "<@"+erin+">") {
		t.Errorf("the failing PR pipeline does not name its author:\n%s", blocksText(ci))
	}

	// Exactly one top-level notification, four replies from the flows above
	// and the review app's progress.
	var top int
	for _, m := range h.posts(generalChan) {
		if m.ThreadTS == "" {
			top++
		}
	}
	if top != 1 || len(h.posts(generalChan)) != 5 {
		t.Errorf("%d top-level messages and %d in all in #general; want 1 and 5:%s", top, len(h.posts(generalChan)), h.dump())
	}
}

func TestWebhookStagingReleaseRequestsPromotion(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)
	rel := h.releaseHook(sandbox.StagingApp, "ev-staging-1")
	if code := h.deliver(base, rel); code != 200 {
		t.Fatalf("release answered %d; want 200", code)
	}
	note := h.wait("the staging release", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(m.Text, "New staging release")
	})
	for _, want := range []string{"*shop-staging* v3", "`" + h.sb.StagingSHA[:7] + "`", "3 commits ahead", "*shop-prod* v2", "dave@acme.test"} {
		if !strings.Contains(blocksText(note), want) {
			t.Errorf("release message lacks %q:\n%s", want, blocksText(note))
		}
	}
	var p map[string]any
	_ = json.Unmarshal(rel.body, &p)
	hasButton(t, note, "deploy.request", p["data"].(map[string]any)["id"].(string), "Request promotion")

	// Heroku's retry of the same event posts nothing more.
	if code := h.deliver(base, rel); code != 200 {
		t.Errorf("redelivery answered %d; want 200", code)
	}

	// The button opens the same request as /deploy promote, for the clicker.
	h.click(note, "deploy.request", alice)
	req := h.wait("the promotion request", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(m.Text, "Promotion request #1 by <@"+alice+">")
	})
	if !strings.Contains(blocksText(req), "Approve") {
		t.Errorf("request message lacks its buttons:\n%s", blocksText(req))
	}
	// …with the same gates: a second click finds the pending request.
	h.click(note, "deploy.request", bob)
	h.reply(bob, "waits for approval")

	// A production release that did not go through Devy says so.
	if code := h.deliver(base, h.releaseHook(sandbox.ProductionApp, "ev-prod-1")); code != 200 {
		t.Fatalf("production release answered %d", code)
	}
	h.wait("the production release", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(m.Text, "*shop-prod* is now v2") && strings.Contains(m.Text, "did not go through Devy")
	})
	var releases int
	for _, m := range h.posts(devyChan) {
		if strings.Contains(m.Text, "New staging release") {
			releases++
		}
	}
	if releases != 1 {
		t.Errorf("%d staging release messages; want 1", releases)
	}
}

func TestWebhookMasterPipeline(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)
	failed := h.pipelineHook("ppl-1", "failed", h.masterRevision())
	resent := failed // Semaphore resends the same body with a new webhook id
	resent.header = map[string]string{"X-Semaphore-Webhook-Id": "0c9e6a47-5d1b-4f7e-9a3c-2b8d4e6f1a0c"}
	for i, d := range []hook{failed, resent} {
		if code := h.deliver(base, d); code != 200 {
			t.Fatalf("delivery %d answered %d; want 200", i+1, code)
		}
	}
	m := h.wait("CI failed on master", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(m.Text, "CI failed on `master`")
	})
	text := blocksText(m)
	// The failing commit's author (dave, mapped), not the push's others.
	for _, want := range []string{"*Author*\n<@" + dave + ">\n", "“Report errors to Sentry”", h.sb.SemaphoreURL + "/workflows/acabe58e-1b2c-4d3e-8f4a-5b6c7d8e9f0a|Shop CI", "3m 12s"} {
		if !strings.Contains(text, want) {
			t.Errorf("CI message lacks %q:\n%s", want, text)
		}
	}
	for _, other := range []string{"carol", "bob", "alice"} {
		if strings.Contains(text, other) {
			t.Errorf("CI message names %s, who did not write the failing commit:\n%s", other, text)
		}
	}
	passed := h.pipelineHook("ppl-2", "passed", h.masterRevision())
	if code := h.deliver(base, passed); code != 200 {
		t.Fatalf("passed answered %d", code)
	}
	h.wait("CI passed on master", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(m.Text, "CI passed on `master`")
	})
	if n := len(h.posts(devyChan)); n != 2 {
		t.Errorf("%d messages in #devy; want 2 (the retry posts nothing):%s", n, h.dump())
	}
	// A branch with no known pull request is not reported.
	rev := h.masterRevision()
	rev["reference"], rev["branch"] = "refs/heads/spike", map[string]any{"name": "spike", "commit_range": ""}
	if code := h.deliver(base, h.pipelineHook("ppl-3", "failed", rev)); code != 200 {
		t.Fatalf("branch pipeline answered %d", code)
	}
	h.waitLog("pipeline of a branch with no known pull request")
	if n := len(h.posts(devyChan)); n != 2 {
		t.Errorf("%d messages in #devy after a branch pipeline; want still 2", n)
	}
}

// A pull request's events sent back to back, as GitHub does when a branch
// is pushed just after the pull request was opened, all land in the thread
// of its announcement, and so does its pipeline.
func TestWebhookPullRequestFollowUpsRightAfterOpened(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)
	pr := h.headOf(7)
	rev := map[string]any{"reference_type": "pull_request", "reference": "refs/pull/7/merge", "commit_sha": pr.HeadSHA, "commit_message": "Dark mode toggle",
		"sender": map[string]any{"login": "erin"}, "branch": nil,
		"pull_request": map[string]any{"number": 7, "head_sha": pr.HeadSHA, "branch_name": "erin/dark-mode", "commit_range": ""}}
	for _, d := range []hook{
		h.prHook("opened", "d-opened", nil),
		h.prHook("synchronize", "d-sync", map[string]any{"before": pr.HeadSHA, "after": pr.HeadSHA}),
		h.pipelineHook("ppl-pr", "passed", rev),
		h.prHook("closed", "d-closed", map[string]any{"pull_request": map[string]any{"state": "closed"}}),
	} {
		if code := h.deliver(base, d); code != 200 {
			t.Fatalf("%s answered %d; want 200", d.service, code)
		}
	}
	note := h.wait("the PR notification", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS == "" && strings.Contains(m.Text, "Pull request")
	})
	for _, want := range []string{"New commits on `erin/dark-mode`", "CI passed", "Closed without merging"} {
		h.wait(want+" in the thread", func(m fakeslack.Message) bool {
			return m.Channel == generalChan && m.ThreadTS == note.TS && strings.Contains(m.Text, want)
		})
	}
	if n := len(h.posts(generalChan)); n != 4 {
		t.Errorf("%d messages in #general; want the notification and 3 replies:%s", n, h.dump())
	}
}

// A delivery whose message Slack refused is handled again when redelivered.
func TestWebhookFailedNotificationIsRedelivered(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)
	h.slack.FailNext("chat.postMessage", http.StatusOK, nil, `{"ok":false,"error":"fatal_error"}`).Require(t)
	opened := h.prHook("opened", "d-opened", nil)
	if code := h.deliver(base, opened); code != 200 {
		t.Fatalf("opened answered %d; want 200", code)
	}
	h.waitLog("notifying Slack of a webhook failed")
	if code := h.deliver(base, opened); code != 200 { // "Redeliver" on GitHub's page
		t.Fatalf("redelivery answered %d; want 200", code)
	}
	h.wait("the PR notification", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS == "" && strings.Contains(m.Text, "Pull request")
	})
	h.waitLog("pull request announced")
	if code := h.deliver(base, opened); code != 200 {
		t.Fatalf("second redelivery answered %d; want 200", code)
	}
	h.waitLog("already handled")
	if n := len(h.posts(generalChan)); n != 1 {
		t.Errorf("%d messages in #general; want 1:%s", n, h.dump())
	}
}

// waitLog waits until Devy's log says msg.
func (h *harness) waitLog(msg string) {
	h.t.Helper()
	h.waitLogCount(msg, 1)
}

// waitLogCount waits until Devy's log has said msg n times.
func (h *harness) waitLogCount(msg string, n int) {
	h.t.Helper()
	waitfor.True(h.t, fmt.Sprintf("Devy to log %q %d times", msg, n), func() bool {
		return strings.Count(h.logs.String(), msg) >= n
	})
}

// The delivery id is not signed: the same signed body re-sent under new
// ids posts once, across a restart too; a delivery whose post Slack
// refused is handled again when it comes back, under any id.
func TestWebhookReplaysPostOnce(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)
	opened := h.prHook("opened", "d-1", nil)
	if code := h.deliver(base, opened); code != 200 {
		t.Fatalf("opened answered %d; want 200", code)
	}
	h.waitLog("pull request announced")
	for _, id := range []string{"d-2", "d-3"} {
		opened.header["X-GitHub-Delivery"] = id
		if code := h.deliver(base, opened); code != 200 {
			t.Fatalf("the replay as %s answered %d; want 200", id, code)
		}
	}
	h.waitLogCount("already handled", 2)

	h.stop()
	h.run()
	h.waitHTTP(base)
	for _, id := range []string{"d-1", "d-4"} {
		opened.header["X-GitHub-Delivery"] = id
		if code := h.deliver(base, opened); code != 200 {
			t.Fatalf("the replay as %s after a restart answered %d; want 200", id, code)
		}
	}
	h.waitLogCount("already handled", 4)
	if n := len(h.posts(generalChan)); n != 1 {
		t.Errorf("%d messages in #general; want 1:%s", n, h.dump())
	}

	// Slack refuses the post of the pull request's closing: its redelivery,
	// under a new id, posts.
	h.slack.FailNext("chat.postMessage", http.StatusOK, nil, `{"ok":false,"error":"fatal_error"}`).Require(t)
	closed := h.prHook("closed", "d-closed-1", map[string]any{"pull_request": map[string]any{"state": "closed"}})
	if code := h.deliver(base, closed); code != 200 {
		t.Fatalf("closed answered %d; want 200", code)
	}
	h.waitLog("notifying Slack of a webhook failed")
	closed.header["X-GitHub-Delivery"] = "d-closed-2"
	if code := h.deliver(base, closed); code != 200 {
		t.Fatalf("the redelivery of closed answered %d; want 200", code)
	}
	h.wait("the closing in the thread", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS != ""
	})
}

// TestShellSimulatesWebhooks: the shell makes up the services' webhooks
// from the sandbox and shows the messages, whose buttons work.
func TestShellSimulatesWebhooks(t *testing.T) {
	t.Parallel()
	expect, typing := startShell(t)
	expect("", "simulate pr-opened 7")
	expect("simulate ci-failed 7", "Devy has not announced #7")
	expect("simulate pr-opened 7", "[message 1 in #general]")
	expect("", "[1] Create review app")
	expect("in general", "You are now in #general.")
	expect("click 1", "[message 2 in #general (in the thread of message 1)]")
	expect("", "Creating a review app for #7")
	expect("simulate ci-failed 7", "[message 3 in #general (in the thread of message 1)]")
	expect("simulate staging-release", "New staging release: shop-staging v3")
	expect("", "3 commits ahead of production")
	expect("", "[1] Request promotion")
	expect("simulate ci-failed", "CI failed on `master`")
	expect("", "Author\n    @dave")
	expect("simulate prod-release", "did not go through Devy")
	expect("simulate pr-merged 7", "Merged into `master` by @erin.")
	expect("simulate nonsense", "I can simulate")
	fmt.Fprintln(typing, "quit")
}

// TestWebhookRefusals: every endpoint refuses what it must, and posts
// nothing for it. A valid delivery sent last proves the endpoint works and,
// once its message is there, that the refused ones posted nothing.
func TestWebhookRefusals(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)
	big := bytes.Repeat([]byte(" "), 5<<20+1)
	pr := h.prHook("opened", "d-1", nil)
	rel := h.releaseHook(sandbox.StagingApp, "ev-1")
	ci := h.pipelineHook("ppl-1", "failed", h.masterRevision())
	tests := []struct {
		name  string
		valid hook
	}{{"github", pr}, {"heroku", rel}, {"semaphore", ci}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := func(f func(*hook)) hook {
				d := tc.valid
				d.header = map[string]string{}
				for k, v := range tc.valid.header {
					d.header[k] = v
				}
				f(&d)
				return d
			}
			refusals := []struct {
				name string
				d    hook
				want int
			}{
				{"unsigned", bad(func(d *hook) { d.secret = "" }), 401},
				{"signed with another secret", bad(func(d *hook) { d.secret = "not-the-secret" }), 401},
				{"body changed after signing", bad(func(d *hook) {
					d.secret, d.header[sigHeader(tc.name)] = "", sigOf(tc.name, tc.valid)
					d.body = append(append([]byte(nil), d.body...), ' ')
				}), 401},
				{"oversized", bad(func(d *hook) { d.body = big }), 413},
				{"unknown event", bad(func(d *hook) { d.body, d.header["X-GitHub-Event"] = unknownEvent(tc.name), "star" }), 204},
			}
			for _, r := range refusals {
				if code := h.deliver(base, r.d); code != r.want {
					t.Errorf("%s answered %d; want %d", r.name, code, r.want)
				}
			}
		})
	}
	// Now the valid ones, and only their three messages.
	for _, d := range []hook{pr, rel, ci} {
		if code := h.deliver(base, d); code != 200 {
			t.Fatalf("valid %s delivery answered %d", d.service, code)
		}
	}
	h.wait("the PR notification", func(m fakeslack.Message) bool { return m.Channel == generalChan })
	h.wait("the release", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "New staging release") })
	h.wait("the CI result", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "CI failed on `master`") })
	if n := h.slack.Count("chat.postMessage"); n != 3 {
		t.Errorf("chat.postMessage called %d times; want 3 (refused deliveries post nothing):%s", n, h.dump())
	}
}

func sigHeader(service string) string {
	return map[string]string{"github": "X-Hub-Signature-256", "heroku": "Heroku-Webhook-Hmac-SHA256", "semaphore": "X-Semaphore-Signature-256"}[service]
}

// sigOf is the valid signature of d, to send with a changed body.
func sigOf(service string, d hook) string {
	m := hmac.New(sha256.New, []byte(d.secret))
	m.Write(d.body)
	sum := m.Sum(nil)
	switch service {
	case "github":
		return "sha256=" + hex.EncodeToString(sum)
	case "heroku":
		return base64.StdEncoding.EncodeToString(sum)
	}
	return hex.EncodeToString(sum)
}

// unknownEvent is a delivery of an event type Devy does nothing with.
func unknownEvent(service string) []byte {
	switch service {
	case "github":
		return []byte(`{"action":"created","starred_at":"2026-11-24T10:00:00Z","repository":{"full_name":"acme/shop"},"sender":{"login":"zed"}}`)
	case "heroku":
		return []byte(`{"action":"create","id":"e-x","resource":"addon-attachment","data":{"id":"a","name":"DATABASE"},"previous_data":{},"webhook_metadata":{"delivery":{"id":"dx"}}}`)
	}
	return []byte(`{"version":"1.0.0","revision":{"reference_type":"tag","reference":"refs/tags/v1","tag":{"name":"v1"}},"pipeline":{"state":"done","result":"passed"}}`)
}

// An endpoint whose secret is not set does not exist; /healthz is still there.
func TestWebhookEndpointsNeedTheirSecret(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, map[string]string{"GITHUB_WEBHOOK_SECRET": githubSecret, "HEROKU_WEBHOOK_SECRET": ""})
	tests := []struct {
		name string
		d    hook
		want int
	}{
		{"github is on", h.prHook("opened", "d-1", nil), 200},
		{"heroku is off", hook{service: "heroku", body: []byte(`{}`), secret: herokuSecret}, 404},
		{"semaphore is off", hook{service: "semaphore", body: []byte(`{}`), secret: semaphoreSecret}, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := h.deliver(base, tc.d); code != tc.want {
				t.Errorf("answered %d; want %d", code, tc.want)
			}
		})
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz answered %d; want 200", resp.StatusCode)
	}
	h.wait("the PR notification", func(m fakeslack.Message) bool { return m.Channel == generalChan })
	if strings.Contains(h.logs.String(), githubSecret) {
		t.Error("the webhook secret appears in the log")
	}
}

// The PR channel is configured by name (the default, "general"); Slack
// updates messages only by channel id, so the PR thread must be remembered
// by id for /reviewapp typed elsewhere to update its progress there.
func TestReviewAppProgressInAPRThreadAnnouncedByName(t *testing.T) {
	t.Parallel()
	h, base := startWebhooks(t, nil)
	if code := h.deliver(base, h.prHook("opened", "d-opened-name", nil)); code != 200 {
		t.Fatalf("opened answered %d; want 200", code)
	}
	note := h.wait("the PR notification", func(m fakeslack.Message) bool {
		return m.Channel == generalChan && m.ThreadTS == "" && strings.Contains(m.Text, "Pull request")
	})
	// Devy remembers the thread just after posting the notification.
	if err := h.slack.WaitFor(h.ctx(), func() bool { return strings.Contains(h.logs.String(), "pull request announced") }); err != nil {
		t.Fatal(err)
	}
	h.slash(alice, devyChan, "/reviewapp", "7")
	inThread := h.progress(generalChan, note.TS, "7")
	h.updatedTo(inThread, "Ready: <https://shop-pr-7.herokuapp.com/>")
}
