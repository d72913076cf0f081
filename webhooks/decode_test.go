package webhooks

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// The testdata payloads follow the services' documented shapes: GitHub's
// pull_request event, Heroku's webhook-events examples (heroku/webhooks-docs)
// and Semaphore's notification (semaphoreio/semaphore message.ex; the docs'
// example is semaphore-docs-stopped.json).

func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGitHub(t *testing.T) {
	form := "payload=" + url.QueryEscape(string(payload(t, "github-pull_request-opened.json")))
	tests := []struct {
		name, event, contentType string
		body                     []byte
		want                     commands.PREvent
		wantErr                  error // errIgnored, or errMalformed for any other error
	}{
		{name: "opened", event: "pull_request", contentType: "application/json", body: payload(t, "github-pull_request-opened.json"),
			want: commands.PREvent{Action: "opened", Repo: "acme/shop", Number: 7, Title: "Dark mode for the storefront",
				URL: "https://github.com/acme/shop/pull/7", Author: "erin", Sender: "erin", Branch: "erin/dark-mode", Base: "master",
				HeadSHA: "8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70"}},
		{name: "form encoded", event: "pull_request", contentType: "application/x-www-form-urlencoded", body: []byte(form),
			want: commands.PREvent{Action: "opened", Repo: "acme/shop", Number: 7, Title: "Dark mode for the storefront",
				URL: "https://github.com/acme/shop/pull/7", Author: "erin", Sender: "erin", Branch: "erin/dark-mode", Base: "master",
				HeadSHA: "8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70"}},
		{name: "merged", event: "pull_request", contentType: "application/json", body: payload(t, "github-pull_request-closed-merged.json"),
			want: commands.PREvent{Action: "closed", Repo: "acme/shop", Number: 7, Title: "Dark mode for the storefront",
				URL: "https://github.com/acme/shop/pull/7", Author: "erin", Sender: "bob", Branch: "erin/dark-mode", Base: "master",
				HeadSHA: "8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70", Merged: true, MergedBy: "bob"}},
		{name: "synchronize", event: "pull_request", contentType: "application/json", body: payload(t, "github-pull_request-synchronize.json"),
			want: commands.PREvent{Action: "synchronize", Repo: "acme/shop", Number: 7, Title: "Dark mode for the storefront",
				URL: "https://github.com/acme/shop/pull/7", Author: "erin", Sender: "erin", Branch: "erin/dark-mode", Base: "master",
				HeadSHA: "9cb13b8e2d4f5a6b7c8d9e0f1a2b3c4d5e6f7081", Before: "8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70", After: "9cb13b8e2d4f5a6b7c8d9e0f1a2b3c4d5e6f7081"}},
		{name: "labeled is ignored", event: "pull_request", body: []byte(`{"action":"labeled","number":7,"pull_request":{"number":7,"html_url":"https://github.com/acme/shop/pull/7"}}`), wantErr: errIgnored},
		{name: "push is ignored", event: "push", body: []byte(`{"ref":"refs/heads/master"}`), wantErr: errIgnored},
		{name: "ping is ignored", event: "ping", body: []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`), wantErr: errIgnored},
		{name: "no event header", event: "", body: payload(t, "github-pull_request-opened.json"), wantErr: errIgnored},
		{name: "not JSON", event: "pull_request", body: []byte(`<xml/>`), wantErr: errMalformed},
		{name: "trailing data", event: "pull_request", body: []byte(`{"action":"opened"} {}`), wantErr: errMalformed},
		{name: "no pull_request", event: "pull_request", body: []byte(`{"action":"opened","number":7}`), wantErr: errMalformed},
		{name: "negative number", event: "pull_request", body: []byte(`{"action":"opened","number":-1,"pull_request":{"html_url":"https://github.com/acme/shop/pull/1"}}`), wantErr: errMalformed},
		{name: "huge number", event: "pull_request", body: []byte(`{"action":"opened","number":99999999999,"pull_request":{}}`), wantErr: errMalformed},
		{name: "number as string", event: "pull_request", body: []byte(`{"action":"opened","number":"7","pull_request":{}}`), wantErr: errMalformed},
		{name: "link that would break Slack markup", event: "pull_request", body: []byte(`{"action":"opened","number":7,"pull_request":{"html_url":"https://x|<!channel>"}}`), wantErr: errMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeGitHub(tc.event, tc.contentType, tc.body)
			checkDecodeErr(t, err, tc.wantErr)
			if tc.wantErr == nil && got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeHeroku(t *testing.T) {
	created := time.Date(2026, 11, 24, 22, 50, 29, 0, time.UTC)
	tests := []struct {
		name    string
		body    []byte
		want    HerokuEvent
		wantErr error
	}{
		{name: "release created", body: payload(t, "heroku-release-create.json"), want: HerokuEvent{
			DeliveryID: "b6a68e77-8c13-41c8-b30c-b50cca7a608a/d244009a-670f-4340-88e9-789a4f9002d5", Resource: "release", Action: "create",
			Release: &commands.ReleaseEvent{Action: "create", ID: "5f1463a4-0210-43ba-b906-52599e246482", Version: 4, Status: "succeeded",
				AppID: "44dc9c7a-771c-4a9e-bfe9-a8dbc1c55f4d", AppName: "shop-staging", SlugID: "0c0d9b52-3b6f-4a7e-9c1a-7b0b4f7e2a11",
				Description: "Deploy ee43f5a0", UserEmail: "dave@acme.test", CreatedAt: created}}},
		{name: "release failed (Heroku's example)", body: payload(t, "heroku-release-update-failed.json"), want: HerokuEvent{
			DeliveryID: "4273290b-193c-42fa-8931-7f2c92c5b28f/d244009a-670f-4340-88e9-789a4f9002d5", Resource: "release", Action: "update",
			Release: &commands.ReleaseEvent{Action: "update", ID: "ddc2fba2-b2ad-41f5-bf7c-6e9b4614a53b", Version: 1, Status: "failed", StatusChanged: true,
				AppID: "61cfe066-573f-45b4-a566-138323880eeb", AppName: "sample-app-0008", UserEmail: "user-0008@example.com",
				CreatedAt: time.Date(2016, 5, 10, 7, 30, 32, 0, time.UTC)}}},
		{name: "build failed", body: payload(t, "heroku-build-update-failed.json"), want: HerokuEvent{
			DeliveryID: "3a0c1f5e-55d2-4b0e-9d7c-1f2e3d4c5b6a/6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a", Resource: "build", Action: "update",
			Build: &commands.BuildEvent{Action: "update", ID: "01234567-89ab-cdef-0123-456789abcdef", Status: "failed", StatusChanged: true,
				AppID: "44dc9c7a-771c-4a9e-bfe9-a8dbc1c55f4d", AppName: "shop-staging", Commit: "ee43f5a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6", UserEmail: "dave@acme.test"}}},
		{name: "release of a Fir app (an OCI image, no slug)", body: []byte(`{"id":"e7","action":"create","resource":"release","data":{"id":"r7","version":7,"status":"succeeded","slug":null,"oci_image":{"id":"img-7"},"app":{"id":"a1","name":"x"}},"previous_data":{}}`),
			want: HerokuEvent{DeliveryID: "e7/", Resource: "release", Action: "create", Release: &commands.ReleaseEvent{Action: "create", ID: "r7", Version: 7, Status: "succeeded", AppID: "a1", AppName: "x", SlugID: "img-7"}}},
		{name: "add-on attachment is ignored", body: payload(t, "heroku-addon-attachment-create.json"), wantErr: errIgnored},
		{name: "pending release is ignored", body: []byte(`{"id":"e1","action":"create","resource":"release","data":{"id":"r1","version":5,"status":"pending","app":{"id":"a1","name":"x"}},"previous_data":{}}`), wantErr: errIgnored},
		{name: "release no longer current is ignored", body: []byte(`{"id":"e2","action":"update","resource":"release","data":{"id":"r1","version":5,"status":"succeeded","current":false,"app":{"id":"a1","name":"x"}},"previous_data":{"current":true}}`), wantErr: errIgnored},
		{name: "build succeeded is ignored", body: []byte(`{"id":"e3","action":"update","resource":"build","data":{"id":"b1","status":"succeeded","app":{"id":"a1"}},"previous_data":{"status":"pending"}}`), wantErr: errIgnored},
		{name: "release without data", body: []byte(`{"id":"e4","action":"create","resource":"release","data":null}`), wantErr: errMalformed},
		{name: "version as string", body: []byte(`{"id":"e5","action":"create","resource":"release","data":{"version":"5"}}`), wantErr: errMalformed},
		{name: "not an object", body: []byte(`[1,2,3]`), wantErr: errMalformed},
		{name: "odd previous_data is ignored", body: []byte(`{"id":"e6","action":"create","resource":"release","data":{"id":"r","version":2,"status":"succeeded","app":{"name":"x"}},"previous_data":[1]}`),
			want: HerokuEvent{DeliveryID: "e6/", Resource: "release", Action: "create", Release: &commands.ReleaseEvent{Action: "create", ID: "r", Version: 2, Status: "succeeded", AppName: "x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeHeroku(tc.body)
			checkDecodeErr(t, err, tc.wantErr)
			if tc.wantErr != nil {
				return
			}
			if got.DeliveryID != tc.want.DeliveryID || got.Resource != tc.want.Resource || got.Action != tc.want.Action {
				t.Errorf("got %+v; want %+v", got, tc.want)
			}
			if (got.Release == nil) != (tc.want.Release == nil) || (got.Release != nil && *got.Release != *tc.want.Release) {
				t.Errorf("release:\ngot  %+v\nwant %+v", got.Release, tc.want.Release)
			}
			if (got.Build == nil) != (tc.want.Build == nil) || (got.Build != nil && *got.Build != *tc.want.Build) {
				t.Errorf("build:\ngot  %+v\nwant %+v", got.Build, tc.want.Build)
			}
		})
	}
}

func TestDecodeSemaphore(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		want    commands.PipelineEvent
		wantErr error
	}{
		{name: "master failed", body: payload(t, "semaphore-branch-failed.json"), want: commands.PipelineEvent{
			PipelineID: "fa02c7bd-a6b5-4c3d-9e2f-1a0b9c8d7e6f", WorkflowID: "acabe58e-1b2c-4d3e-8f4a-5b6c7d8e9f0a", Name: "Shop CI",
			Project: "shop", Organization: "acme", State: "done", Result: "failed", ResultReason: "test", Branch: "master",
			SHA: "ee43f5a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6", CommitMessage: "Report errors to Sentry\n\nWires the Sentry DSN.",
			CommitRange: "bedd5a70b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6...ee43f5a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6", Sender: "dave",
			CreatedAt: time.Date(2026, 11, 24, 22, 40, 54, 0, time.UTC), RunningAt: time.Date(2026, 11, 24, 22, 40, 56, 0, time.UTC),
			DoneAt: time.Date(2026, 11, 24, 22, 44, 8, 0, time.UTC)}},
		{name: "pull request passed", body: payload(t, "semaphore-pull_request-passed.json"), want: commands.PipelineEvent{
			PipelineID: "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b", WorkflowID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", Name: "Shop CI",
			Project: "shop", Organization: "acme", State: "done", Result: "passed", ResultReason: "test", Branch: "erin/dark-mode",
			PR: 7, PRBranch: "erin/dark-mode", SHA: "8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70", CommitMessage: "Dark mode toggle",
			CommitRange: "ee43f5a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6...8ba02a7d1c3e4f5a6b7c8d9e0f1a2b3c4d5e6f70", Sender: "erin",
			CreatedAt: time.Date(2026, 11, 24, 10, 3, 0, 0, time.UTC), RunningAt: time.Date(2026, 11, 24, 10, 3, 2, 0, time.UTC),
			DoneAt: time.Date(2026, 11, 24, 10, 5, 47, 0, time.UTC)}},
		{name: "Semaphore's documented example", body: payload(t, "semaphore-docs-stopped.json"), want: commands.PipelineEvent{
			PipelineID: "fa02c7bd-5c0d-4f5c-b46a-1d9ad6f9e5a2", WorkflowID: "acabe58e-0b0e-4bd0-8fc7-1f1a4a7cd8d3", Name: "Notificaitons",
			Project: "notifications", Organization: "semaphore", State: "done", Result: "stopped", ResultReason: "user", Branch: "rw/webhook_impl",
			SHA: "2d9f5fcec1ca7c68fa7bd44dd58ec4ff65814563", CommitMessage: "empty",
			CommitRange: "36ebdf6e5a1e1a8d4a4e51b0eac3ad9a0ee5e47f...2d9f5fcec1ca7c68fa7bd44dd58ec4ff65814563", Sender: "radwo",
			CreatedAt: time.Date(2019, 12, 10, 13, 9, 54, 0, time.UTC), RunningAt: time.Date(2019, 12, 10, 13, 9, 57, 0, time.UTC),
			DoneAt: time.Date(2019, 12, 10, 13, 10, 28, 0, time.UTC)}},
		{name: "PR number as a string", body: []byte(`{"revision":{"reference_type":"pull_request","pull_request":{"number":"12","branch_name":"x"}},"pipeline":{"state":"done","result":"passed"}}`),
			want: commands.PipelineEvent{State: "done", Result: "passed", PR: 12, PRBranch: "x", Branch: "x"}},
		{name: "uppercase enums", body: []byte(`{"revision":{"reference_type":"branch","reference":"refs/heads/master"},"pipeline":{"state":"DONE","result":"PASSED"}}`),
			want: commands.PipelineEvent{State: "done", Result: "passed", Branch: "master"}},
		{name: "tag is ignored", body: []byte(`{"revision":{"reference_type":"tag","tag":{"name":"v1"}},"pipeline":{"state":"done","result":"passed"}}`), wantErr: errIgnored},
		{name: "running is ignored", body: []byte(`{"revision":{"reference_type":"branch","branch":{"name":"master"}},"pipeline":{"state":"running","result":""}}`), wantErr: errIgnored},
		{name: "PR without number", body: []byte(`{"revision":{"reference_type":"pull_request","pull_request":{}},"pipeline":{"state":"done","result":"passed"}}`), wantErr: errMalformed},
		{name: "PR revision without pull_request", body: []byte(`{"revision":{"reference_type":"pull_request"},"pipeline":{"state":"done","result":"passed"}}`), wantErr: errMalformed},
		{name: "garbage", body: []byte(`{"pipeline":`), wantErr: errMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSemaphore(tc.body)
			checkDecodeErr(t, err, tc.wantErr)
			if tc.wantErr == nil && got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// errMalformed stands for "any error but errIgnored" in the tables.
var errMalformed = errors.New("malformed")

func checkDecodeErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == errIgnored && !errors.Is(err, errIgnored):
		t.Fatalf("error = %v; want the event ignored", err)
	case want == errMalformed && (err == nil || errors.Is(err, errIgnored)):
		t.Fatalf("error = %v; want the payload refused", err)
	}
}

// The fuzz targets feed the decoders anything: they must not panic, and an
// event they return is one Devy reports. The seeds are the testdata
// payloads; `go test` runs them, `go test -fuzz FuzzDecodeGitHub` explores.

func FuzzDecodeGitHub(f *testing.F) {
	for _, name := range []string{"github-pull_request-opened.json", "github-pull_request-closed-merged.json", "github-pull_request-synchronize.json"} {
		f.Add("pull_request", "application/json", payload(f, name))
	}
	f.Add("pull_request", "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(payload(f, "github-pull_request-opened.json")))))
	f.Add("ping", "application/json", []byte(`{"zen":"Design for failure."}`))
	f.Add("pull_request", "", []byte(`{"action":"opened","number":1,"pull_request":null}`))
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte) {
		e, err := DecodeGitHub(event, contentType, body)
		if err == nil && !e.Wanted() {
			t.Fatalf("returned an event Devy does not report: %+v", e)
		}
		if err == nil && !safeURL(e.URL) {
			t.Fatalf("returned an unsafe link %q", e.URL)
		}
	})
}

func FuzzDecodeHeroku(f *testing.F) {
	for _, name := range []string{"heroku-release-create.json", "heroku-release-update-failed.json", "heroku-build-update-failed.json", "heroku-addon-attachment-create.json"} {
		f.Add(payload(f, name))
	}
	f.Add([]byte(`{"resource":"release","action":"update","data":{},"previous_data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := DecodeHeroku(body)
		if err != nil {
			return
		}
		switch {
		case e.Release != nil && e.Build != nil, e.Release == nil && e.Build == nil:
			t.Fatalf("want exactly one of release and build: %+v", e)
		case e.Release != nil && !e.Release.Wanted(), e.Build != nil && !e.Build.Wanted():
			t.Fatalf("returned an event Devy does not report: %+v", e)
		}
	})
}

func FuzzDecodeSemaphore(f *testing.F) {
	for _, name := range []string{"semaphore-branch-failed.json", "semaphore-pull_request-passed.json", "semaphore-docs-stopped.json"} {
		f.Add(payload(f, name))
	}
	f.Add([]byte(`{"revision":{"reference_type":"pull_request","pull_request":{"number":"7"}},"pipeline":{"state":"done","result":"failed","done_at":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := DecodeSemaphore(body)
		if err == nil && !e.Wanted() {
			t.Fatalf("returned an event Devy does not report: %+v", e)
		}
	})
}
