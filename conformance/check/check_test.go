package check

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	pipelineID = "01234567-89ab-cdef-0123-456789abcdef"
	appID      = "11111111-2222-3333-4444-555555555555"
	releaseID  = "99999999-8888-7777-6666-555555555555"
)

// wantViolations checks that got is empty when want is "", otherwise that
// one violation names the spec file and contains want.
func wantViolations(t *testing.T, got []Violation, file, want string) {
	t.Helper()
	if want == "" {
		if len(got) > 0 {
			t.Fatalf("want no violation, got %v", got)
		}
		return
	}
	for _, v := range got {
		if v.File == file && strings.Contains(v.String(), want) {
			return
		}
	}
	t.Fatalf("want a violation of %s containing %q, got %v", file, want, got)
}

func TestHeroku(t *testing.T) {
	h, err := LoadHeroku(Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	promotion := `{"pipeline":{"id":"` + pipelineID + `"},"source":{"app":{"id":"` + appID + `"}},"targets":[{"app":{"id":"` + appID + `"}}]}`
	pinned := `{"pipeline":{"id":"` + pipelineID + `"},"source":{"app":{"id":"` + appID + `"},"release":{"id":"` + releaseID + `"}},"targets":[{"app":{"id":"` + appID + `"}}]}`
	for _, tc := range []struct {
		name, method, path, body string
		file, want               string
	}{
		{"pipeline by name", "GET", "/pipelines/shop", "", "", ""},
		{"couplings by pipeline id", "GET", "/pipelines/" + pipelineID + "/pipeline-couplings", "", "", ""},
		{"couplings by pipeline name", "GET", "/pipelines/shop/pipeline-couplings", "", HerokuSchemaFile, "segment 1 must be #/definitions/pipeline/definitions/id"},
		{"app by name", "GET", "/apps/shop-staging", "", "", ""},
		{"app name with a capital", "GET", "/apps/Shop", "", HerokuSchemaFile, "/definitions/app/definitions/identity"},
		{"releases", "GET", "/apps/shop-staging/releases", "", "", ""},
		{"slug", "GET", "/apps/shop-staging/slugs/" + appID, "", "", ""},
		{"oci image (allowlist)", "GET", "/apps/shop-staging/oci-images/" + appID, "", "", ""},
		{"unknown path", "GET", "/apps/shop-staging/deploys", "", HerokuSchemaFile, "must match a link"},
		{"wrong method", "PUT", "/pipeline-promotions", promotion, HerokuSchemaFile, "only with methods POST"},
		{"promotion", "POST", "/pipeline-promotions", promotion, "", ""},
		{"pinned promotion (allowlist)", "POST", "/pipeline-promotions", pinned, "", ""},
		{"promotion without targets", "POST", "/pipeline-promotions", `{"pipeline":{"id":"` + pipelineID + `"},"source":{"app":{"id":"` + appID + `"}}}`, HerokuSchemaFile, `required property "targets"`},
		{"promotion with a stray property", "POST", "/pipeline-promotions", strings.Replace(promotion, `"targets"`, `"force":true,"targets"`, 1), HerokuSchemaFile, `has no property "force"`},
		{"promotion by app name", "POST", "/pipeline-promotions", strings.Replace(promotion, `"app":{"id":"`+appID+`"}},"targets"`, `"app":{"id":"shop"}},"targets"`, 1), HerokuSchemaFile, "body.source.app.id must match its format"},
		{"review app", "POST", "/review-apps", `{"branch":"x","pipeline":"` + pipelineID + `","source_blob":{"url":"https://x/y.tgz","version":"abc"},"pr_number":7}`, "", ""},
		{"review app pr as string", "POST", "/review-apps", `{"branch":"x","pipeline":"` + pipelineID + `","source_blob":{"url":"https://x/y.tgz"},"pr_number":"7"}`, HerokuSchemaFile, "body.pr_number must be of type"},
		{"review app without source", "POST", "/review-apps", `{"branch":"x","pipeline":"` + pipelineID + `"}`, HerokuSchemaFile, `required property "source_blob"`},
		{"delete review app", "DELETE", "/review-apps/" + appID, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantViolations(t, h.Check(tc.method, tc.path, []byte(tc.body)), tc.file, tc.want)
		})
	}
}

func TestSlack(t *testing.T) {
	s, err := LoadSlack(Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method string
		args         url.Values
		auth         bool
		file, want   string
	}{
		{"post with form token", "chat.postMessage", url.Values{"token": {"xoxb-1"}, "channel": {"C0DEVY0001"}, "text": {"hi"}}, false, "", ""},
		{"post with bearer", "chat.postMessage", url.Values{"channel": {"C0DEVY0001"}, "text": {"hi"}}, true, "", ""},
		{"post without channel", "chat.postMessage", url.Values{"text": {"hi"}}, true, SlackSpecFile, `requires the argument "channel"`},
		{"post without token", "chat.postMessage", url.Values{"channel": {"C0DEVY0001"}}, false, SlackSpecFile, "requires a token"},
		{"update without ts", "chat.update", url.Values{"channel": {"C0DEVY0001"}, "text": {"x"}}, true, SlackSpecFile, `requires the argument "ts"`},
		{"ephemeral without user", "chat.postEphemeral", url.Values{"channel": {"C0DEVY0001"}, "text": {"x"}}, true, SlackSpecFile, `"user"`},
		{"views.open", "views.open", url.Values{"trigger_id": {"1.2.3"}, "view": {"{}"}}, true, "", ""},
		{"views.publish without user", "views.publish", url.Values{"view": {"{}"}}, true, SlackSpecFile, `"user_id"`},
		{"unknown method", "chat.postMessages", url.Values{}, true, SlackSpecFile, "must exist in the spec"},
		{"apps.connections.open (allowlist)", "apps.connections.open", url.Values{}, true, "", ""},
		{"upload url without length (allowlist)", "files.getUploadURLExternal", url.Values{"filename": {"a.png"}}, true, "api.slack.com/changelog", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Check(tc.method, tc.args, tc.auth)
			if tc.file == "api.slack.com/changelog" {
				if len(got) != 1 || !strings.Contains(got[0].String(), `"length"`) || !strings.Contains(got[0].File, "changelog") {
					t.Fatalf("want the missing length named with its source, got %v", got)
				}
				return
			}
			wantViolations(t, got, tc.file, tc.want)
		})
	}
}

func TestBlockKit(t *testing.T) {
	many := func(n int, b string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(b+",", n), ",") + "]"
	}
	section := `{"type":"section","text":{"type":"mrkdwn","text":"hi"}}`
	button := func(text, value, actionID string) string {
		return `{"type":"actions","elements":[{"type":"button","action_id":"` + actionID + `","text":{"type":"plain_text","text":"` + text + `"},"value":"` + value + `"}]}`
	}
	for _, tc := range []struct {
		name, blocks, want string
	}{
		{"fine", many(50, section), ""},
		{"51 blocks", many(51, section), "at most 50 blocks"},
		{"long section", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("x", 3001) + `"}}]`, "text at most 3000"},
		{"empty section", `[{"type":"section","text":{"type":"mrkdwn","text":""}}]`, "at least 1"},
		{"long header", `[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("é", 151) + `"}}]`, "at most 150"},
		{"mrkdwn header", `[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]`, "plain_text"},
		{"11 fields", `[{"type":"section","fields":` + many(11, `{"type":"mrkdwn","text":"f"}`) + `}]`, "at most 10 fields"},
		{"button", "[" + button("Approve", "7", "approve") + "]", ""},
		{"long button text", "[" + button(strings.Repeat("b", 76), "7", "approve") + "]", "element 0 button text at most 75"},
		{"long button value", "[" + button("Go", strings.Repeat("v", 2001), "approve") + "]", "element 0 button value at most 2000"},
		{"long action_id", "[" + button("Go", "7", strings.Repeat("a", 256)) + "]", "element 0 action_id at most 255"},
		{"long block_id", `[{"type":"divider","block_id":"` + strings.Repeat("b", 256) + `"}]`, "block_id at most 255"},
		{"11 context elements", `[{"type":"context","elements":` + many(11, `{"type":"mrkdwn","text":"c"}`) + `}]`, "1 to 10 elements"},
		{"26 buttons", `[{"type":"actions","elements":` + many(26, `{"type":"button","action_id":"a","text":{"type":"plain_text","text":"b"}}`) + `}]`, "1 to 25 elements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := blocksPage
			if strings.Contains(tc.want, "element 0") {
				file = elementsPage // the element's own page states its limits
			}
			wantViolations(t, MessageBlocks(tc.blocks), file, tc.want)
		})
	}
	t.Run("message text", func(t *testing.T) {
		wantViolations(t, MessageText(strings.Repeat("x", 40000)), "", "")
		wantViolations(t, MessageText(strings.Repeat("x", 40001)), chatPage, "at most 40000")
	})
	t.Run("views", func(t *testing.T) {
		wantViolations(t, View(`{"type":"home","blocks":`+many(100, section)+`}`), "", "")
		wantViolations(t, View(`{"type":"home","blocks":`+many(101, section)+`}`), blocksPage, "at most 100 blocks in a home view")
		wantViolations(t, View(`{"type":"modal","title":{"type":"plain_text","text":"`+strings.Repeat("t", 25)+`"},"blocks":[]}`), viewsPage, "modal title at most 24")
	})
}

func TestCorpusIsFound(t *testing.T) {
	dir := Corpus(t)
	if !strings.HasSuffix(dir, CorpusDir) {
		t.Fatalf("corpus at %s", dir)
	}
}

func TestSemaphore(t *testing.T) {
	s, err := LoadSemaphore(Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	good := http.Header{"Authorization": {"Token t"}, "User-Agent": {"SemaphoreCI v2.0 Client"}}
	for _, tc := range []struct {
		name, method, path string
		query              url.Values
		h                  http.Header
		want               string
	}{
		{"list by project", "GET", "/api/v1alpha/pipelines", url.Values{"project_id": {"p"}, "branch_name": {"master"}}, good, ""},
		{"list by workflow", "GET", "/api/v1alpha/pipelines", url.Values{"wf_id": {"w"}}, good, ""},
		{"list without project", "GET", "/api/v1alpha/pipelines", url.Values{}, good, "query parameter project_id"},
		{"describe", "GET", "/api/v1alpha/pipelines/0a9563f9", url.Values{}, good, ""},
		{"v2 path", "GET", "/api/v2/pipelines", url.Values{}, good, "documented v1alpha endpoint"},
		{"bearer", "GET", "/api/v1alpha/pipelines/x", url.Values{}, http.Header{"Authorization": {"Bearer t"}, "User-Agent": {"SemaphoreCI v2.0 Client"}}, "Token"},
		{"user agent", "GET", "/api/v1alpha/pipelines/x", url.Values{}, http.Header{"Authorization": {"Token t"}, "User-Agent": {"Go-http-client/1.1"}}, "User-Agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := SemaphoreDocFile
			if tc.want == "" {
				file = ""
			}
			wantViolations(t, s.Check(tc.method, tc.path, tc.query, tc.h), file, tc.want)
		})
	}
}
