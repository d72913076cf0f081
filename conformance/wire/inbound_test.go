package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/conformance/check"
)

var trailingComma = regexp.MustCompile(`,(\s*[}\]])`)

// covered counts the folder's files the wire tests used, by test.
type covered struct {
	t     *testing.T
	files []string
}

func (c *covered) add(rel string) { c.files = append(c.files, rel) }

func (c *covered) report() {
	sort.Strings(c.files)
	c.t.Logf("%s used %d files of shared/conformance", c.t.Name(), len(c.files))
}

func files(t *testing.T, dir, glob string) []string {
	t.Helper()
	out, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil || len(out) == 0 {
		t.Fatalf("no %s in %s", glob, dir)
	}
	sort.Strings(out)
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hmacSHA256(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// deliver posts a webhook body signed the way its service signs it
// (api-facts.md §3.6, §4.6, §5.4) and returns the status.
func (d *devy) deliver(service string, body []byte, header http.Header) int {
	d.t.Helper()
	req, err := http.NewRequest("POST", "http://127.0.0.1:"+d.port+"/webhooks/"+service, bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch service {
	case "github":
		req.Header.Set("X-GitHub-Delivery", newEnvelopeID())
		req.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(hmacSHA256(githubSecret, body)))
	case "heroku":
		req.Header.Set("Heroku-Webhook-Id", newEnvelopeID())
		req.Header.Set("Heroku-Webhook-Hmac-SHA256", base64.StdEncoding.EncodeToString(hmacSHA256(herokuSecret, body)))
	case "semaphore":
		req.Header.Set("User-Agent", "Semaphore-Webhook")
		req.Header.Set("X-Semaphore-Webhook-Id", newEnvelopeID())
		req.Header.Set("X-Semaphore-Signature-256", hex.EncodeToString(hmacSHA256(semaphoreSecret, body)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("delivering to /webhooks/%s: %v", service, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// edit decodes a JSON sample, lets f change it, and encodes it again.
func edit(t *testing.T, raw []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	if v == nil {
		v = map[string]any{}
		m[key] = v
	}
	return v
}

// TestWebhooks sends every GitHub, Heroku and Semaphore webhook sample of
// the folder, correctly signed, to the binary's endpoints: each must be
// answered 2xx (ignored kinds included). The kinds Devy handles,
// re-addressed to the configured repository, apps and branch, must then
// produce their Slack messages.
func TestWebhooks(t *testing.T) {
	corpus := check.Corpus(t)
	d := start(t)
	cov := &covered{t: t}
	defer cov.report()
	rel := func(p string) string { r, _ := filepath.Rel(corpus, p); return r }
	twoXX := func(file string, code int) {
		t.Helper()
		if code/100 != 2 {
			t.Errorf("%s: answered %d, want 2xx (a sender retries or disables a hook on anything else)", file, code)
		}
	}

	// GitHub: the event is the example's folder (X-GitHub-Event).
	gh := filepath.Join(corpus, "github/payload-examples")
	for _, f := range files(t, gh, "*/*.json") {
		event := filepath.Base(filepath.Dir(f))
		twoXX(rel(f), d.deliver("github", readFile(t, f), http.Header{"X-Github-Event": {event}}))
		cov.add(rel(f))
	}
	// Handled: a pull request opened, new commits, closed — re-addressed to
	// acme/shop as #101.
	pr := func(name string, change func(m map[string]any)) []byte {
		return edit(t, readFile(t, filepath.Join(gh, "pull_request", name)), func(m map[string]any) {
			m["number"] = 101
			p := obj(m, "pull_request")
			p["number"], p["title"] = 101, "Conformance: add search"
			p["html_url"] = "https://github.com/" + repo + "/pull/101"
			obj(m, "repository")["full_name"] = repo
			if change != nil {
				change(m)
			}
		})
	}
	twoXX("re-addressed pull_request/opened", d.deliver("github", pr("opened.payload.json", nil), http.Header{"X-Github-Event": {"pull_request"}}))
	opened := d.waitPost("the pull request's announcement in #general", contains(chanGen, "Conformance: add search", "Create review app"))
	twoXX("re-addressed pull_request/synchronize", d.deliver("github", pr("synchronize.payload.json", nil), http.Header{"X-Github-Event": {"pull_request"}}))
	d.waitPost("new commits in the pull request's thread", func(p post) bool {
		return p.ThreadTS == opened.TS && strings.Contains(p.all(), "New commits")
	})
	twoXX("re-addressed pull_request/closed", d.deliver("github", pr("closed.payload.json", nil), http.Header{"X-Github-Event": {"pull_request"}}))
	d.waitPost("the close in the pull request's thread", func(p post) bool {
		return p.ThreadTS == opened.TS && (strings.Contains(p.all(), "Merged into") || strings.Contains(p.all(), "Closed without merging"))
	})

	// Heroku app webhooks.
	hk := filepath.Join(corpus, "heroku/app-webhooks")
	for _, f := range files(t, hk, "*.json") {
		twoXX(rel(f), d.deliver("heroku", readFile(t, f), nil))
		cov.add(rel(f))
	}
	toStaging := func(name string, version int) []byte {
		return edit(t, readFile(t, filepath.Join(hk, name)), func(m map[string]any) {
			m["id"] = newEnvelopeID()
			if m["action"] == "update" {
				// Heroku's previous_data holds the fields an update
				// changed; the Zulip-edited variants left it empty.
				m["previous_data"] = map[string]any{"status": "pending"}
			}
			data := obj(m, "data")
			data["app"] = map[string]any{"id": stagingID, "name": "shop-staging"}
			if _, ok := data["version"]; ok {
				data["version"] = version
			}
		})
	}
	twoXX("re-addressed api:release create succeeded", d.deliver("heroku", toStaging("api_release.create.succeeded.zulip.json", 43), nil))
	d.waitPost("the new staging release in #devy", contains(chanDevy, "New staging release", "shop-staging", "v43", "Request promotion"))
	twoXX("re-addressed api:release update failed", d.deliver("heroku", toStaging("api_release.update.failed.zulip.json", 44), nil))
	d.waitPost("the failed release in #devy", contains(chanDevy, "Release v44 of *shop-staging*", "failed"))
	twoXX("re-addressed api:build update failed", d.deliver("heroku", toStaging("api_build.update.failed.zulip.json", 0), nil))
	d.waitPost("the failed build in #devy", contains(chanDevy, "could not build", "shop-staging"))

	// The legacy Deploy Hook posts a form, not an app webhook: Devy's
	// endpoint takes JSON, so it is refused as unreadable (400), as
	// product.md says of malformed JSON.
	dh := filepath.Join(corpus, "heroku/deploy-hook/http_post_deploy_hook.form-urlencoded.zulip.txt")
	if code := d.deliver("heroku", readFile(t, dh), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); code != http.StatusBadRequest {
		t.Errorf("%s: answered %d, want 400 (not an app webhook: malformed JSON)", rel(dh), code)
	}
	cov.add(rel(dh))

	// Semaphore webhook notifications.
	sm := filepath.Join(corpus, "semaphore/webhook-notifications")
	for _, f := range files(t, sm, "*.json") {
		twoXX(rel(f), d.deliver("semaphore", readFile(t, f), nil))
		cov.add(rel(f))
	}
	docs := readFile(t, filepath.Join(sm, "pipeline_done.docs-current-site.json"))
	// The docs' fragments of revision, each put into the docs' payload.
	for name, refType := range map[string]string{"fragment.revision.pull_request.docs-v2-legacy-site.txt": "pull_request", "fragment.revision.tag.docs-v2-legacy-site.txt": "tag"} {
		// Published with trailing commas (a fragment of a larger object):
		// dropped, so that the rest reads as JSON.
		frag := strings.TrimSuffix(strings.TrimSpace(string(readFile(t, filepath.Join(sm, name)))), ",")
		frag = trailingComma.ReplaceAllString(frag, "$1")
		key, value, ok := strings.Cut(frag, ":")
		if !ok {
			t.Fatalf("%s: not a `\"key\": value` fragment", name)
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body := edit(t, docs, func(m map[string]any) {
			rev := obj(m, "revision")
			rev[strings.Trim(strings.TrimSpace(key), `"`)] = v
			rev["reference_type"] = refType
			obj(m, "pipeline")["id"] = newEnvelopeID()
		})
		twoXX(name+" in the docs' payload", d.deliver("semaphore", body, nil))
		cov.add(filepath.Join("semaphore/webhook-notifications", name))
	}
	// Handled: a failed pipeline on master, re-addressed to the project.
	failed := edit(t, docs, func(m map[string]any) {
		obj(m, "project")["id"] = projectID
		rev := obj(m, "revision")
		rev["reference_type"], rev["reference"] = "branch", "refs/heads/master"
		rev["commit_sha"] = stagingSHA
		br := obj(rev, "branch")
		br["name"] = "master"
		p := obj(m, "pipeline")
		p["id"], p["result"], p["result_reason"] = newEnvelopeID(), "failed", "test"
	})
	twoXX("re-addressed pipeline failed on master", d.deliver("semaphore", failed, nil))
	d.waitPost("the failed CI run in #devy", contains(chanDevy, "CI failed on `master`", stagingSHA[:7]))

	d.alive("the webhooks")
	d.finish()
}

// TestSocketMode sends every Socket Mode frame and interaction sample of
// the folder over the socket: each envelope must be acknowledged by its
// envelope_id, and Devy must still answer /deploy status afterwards.
// response_url and the slash commands' channel are re-addressed to this
// Slack so that answers can be seen; everything else is sent as published.
func TestSocketMode(t *testing.T) {
	corpus := check.Corpus(t)
	d := start(t)
	cov := &covered{t: t}
	defer cov.report()
	rel := func(p string) string { r, _ := filepath.Rel(corpus, p); return r }
	sm := filepath.Join(corpus, "slack/socket-mode")

	readdress := func(payload map[string]any) {
		if _, ok := payload["response_url"]; ok {
			payload["response_url"] = d.slack.url + "/respond/sample/" + alice
		}
		if urls, ok := payload["response_urls"].([]any); ok {
			for _, u := range urls {
				if um, ok := u.(map[string]any); ok {
					um["response_url"] = d.slack.url + "/respond/sample/" + alice
				}
			}
		}
	}
	for _, f := range files(t, sm, "*.json") {
		raw := readFile(t, f)
		var frame map[string]any
		if err := json.Unmarshal(raw, &frame); err != nil {
			t.Fatalf("%s: %v", rel(f), err)
		}
		cov.add(rel(f))
		switch frame["type"] {
		case "hello":
			if err := d.slack.send(raw); err != nil {
				t.Fatal(err)
			}
		case "disconnect":
			// Slack asks for a new connection: Devy must open one.
			n := d.slack.connections()
			if err := d.slack.send(raw); err != nil {
				t.Fatal(err)
			}
			if !d.slack.waitFor("a new socket", 10*time.Second, func() bool { return len(d.slack.conns) > n }) {
				t.Errorf("%s: Devy did not reconnect after a disconnect frame", rel(f))
			}
		default:
			payload, _ := frame["payload"].(map[string]any)
			readdress(payload)
			// A fresh id: the samples reuse theirs, and Devy rightly
			// ignores a redelivery it has acknowledged.
			frame["envelope_id"] = newEnvelopeID()
			d.sendEnvelope(rel(f), frame)
		}
	}
	d.alive("the socket-mode samples")

	for _, f := range files(t, filepath.Join(corpus, "slack/interactions"), "*.json") {
		var payload map[string]any
		if err := json.Unmarshal(readFile(t, f), &payload); err != nil {
			t.Fatalf("%s: %v", rel(f), err)
		}
		readdress(payload)
		d.sendEnvelope(rel(f), map[string]any{"type": "interactive", "envelope_id": newEnvelopeID(), "accepts_response_payload": payload["type"] == "view_submission", "payload": payload})
		cov.add(rel(f))
	}
	d.alive("the interaction samples")

	for _, f := range files(t, filepath.Join(corpus, "slack/events-api"), "*.json") {
		var payload map[string]any
		if err := json.Unmarshal(readFile(t, f), &payload); err != nil {
			t.Fatalf("%s: %v", rel(f), err)
		}
		d.sendEnvelope(rel(f), map[string]any{"type": "events_api", "envelope_id": newEnvelopeID(), "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": "", "payload": payload})
		cov.add(rel(f))
	}

	// The HTTP slash-command body: in Socket Mode the same keys come as a
	// JSON object (api-facts.md §1.4).
	sc := filepath.Join(corpus, "slack/slash-commands/slash_command.http.form-urlencoded.bolt-python.txt")
	form, err := url.ParseQuery(strings.TrimSpace(string(readFile(t, sc))))
	if err != nil {
		t.Fatalf("%s: %v", rel(sc), err)
	}
	payload := map[string]any{}
	for k := range form {
		payload[k] = form.Get(k)
	}
	readdress(payload)
	d.sendEnvelope(rel(sc), map[string]any{"type": "slash_commands", "envelope_id": newEnvelopeID(), "accepts_response_payload": true, "payload": payload})
	cov.add(rel(sc))

	d.alive("every Slack sample")
	d.finish()
}
