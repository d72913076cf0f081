package webhooks

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/devy-chatops/devy/commands"
)

// The decoders read only the fields Devy uses, into small wire structs, and
// turn them into commands' events. They never panic on any input (fuzzed),
// and their errors name what was wrong, never the payload's values.

// maxPR bounds pull request numbers: GitHub's are positive 32-bit integers.
const maxPR = 1<<31 - 1

// DecodeGitHub reads a GitHub delivery of event (X-GitHub-Event) with
// go-github's ParseWebHook. Only pull_request events with an action Devy
// reports are returned; anything else is errIgnored. A form-encoded
// delivery (a webhook set up with content type
// application/x-www-form-urlencoded) carries the JSON in its payload field;
// any other or missing Content-Type is read as JSON, as GitHub sends it.
// The signature covers the raw body either way and is checked before.
func DecodeGitHub(event, contentType string, body []byte) (commands.PREvent, error) {
	if event != "pull_request" {
		return commands.PREvent{}, errIgnored
	}
	mt := "application/json"
	if m, _, err := mime.ParseMediaType(contentType); err == nil && m == "application/x-www-form-urlencoded" {
		mt = m
	}
	// No signature and no secret: go-github only takes the JSON out of the
	// body here; VerifyGitHub checked the signature over the raw body.
	payload, err := gh.ValidatePayloadFromBody(mt, bytes.NewReader(body), "", nil)
	if err != nil {
		return commands.PREvent{}, fmt.Errorf("github: %s delivery: %w", mt, err)
	}
	parsed, err := gh.ParseWebHook(event, payload)
	if err != nil {
		return commands.PREvent{}, fmt.Errorf("github: pull_request payload: %w", jsonProblem(err))
	}
	p, ok := parsed.(*gh.PullRequestEvent)
	if !ok || p.PullRequest == nil {
		return commands.PREvent{}, fmt.Errorf("github: pull_request payload has no pull_request")
	}
	pr := p.PullRequest
	n := int64(p.GetNumber())
	if n == 0 {
		n = int64(pr.GetNumber())
	}
	if n <= 0 || n > maxPR {
		return commands.PREvent{}, fmt.Errorf("github: pull request number out of range")
	}
	e := commands.PREvent{
		Action: p.GetAction(), Repo: p.GetRepo().GetFullName(), Number: int(n), Title: pr.GetTitle(), URL: pr.GetHTMLURL(),
		Author: pr.GetUser().GetLogin(), Sender: p.GetSender().GetLogin(), Branch: pr.GetHead().GetRef(), Base: pr.GetBase().GetRef(),
		HeadSHA: pr.GetHead().GetSHA(), Before: p.GetBefore(), After: p.GetAfter(), Draft: pr.GetDraft(), Merged: pr.GetMerged(),
		MergedBy: pr.GetMergedBy().GetLogin(),
	}
	if !safeURL(e.URL) && e.Repo != "" {
		e.URL = "https://github.com/" + e.Repo + "/pull/" + strconv.Itoa(e.Number)
	}
	if !safeURL(e.URL) {
		return e, fmt.Errorf("github: pull request without a usable html_url")
	}
	if !e.Wanted() {
		return e, errIgnored
	}
	return e, nil
}

// jsonProblem keeps what was wrong with a payload and drops the values
// encoding/json quotes: payloads stay out of the log.
func jsonProblem(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("not JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("field %s is not a %s", typ.Field, typ.Type)
	}
	return errors.New("not a readable JSON object")
}

// herokuEnvelope is the envelope of Heroku's app webhook events
// (devcenter webhook-events; heroku/webhooks-docs event examples).
type herokuEnvelope struct {
	ID              string          `json:"id"`
	Action          string          `json:"action"`
	Resource        string          `json:"resource"`
	Data            json.RawMessage `json:"data"`
	PreviousData    json.RawMessage `json:"previous_data"`
	WebhookMetadata struct {
		Delivery struct {
			ID string `json:"id"`
		} `json:"delivery"`
	} `json:"webhook_metadata"`
}

type herokuApp struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type herokuRelease struct {
	ID          string    `json:"id"`
	Version     int       `json:"version"`
	Status      string    `json:"status"`
	Description *string   `json:"description"`
	App         herokuApp `json:"app"`
	Slug        *struct {
		ID string `json:"id"`
	} `json:"slug"`
	OCIImage *struct { // a Fir-generation app's build, instead of a slug
		ID string `json:"id"`
	} `json:"oci_image"`
	User struct {
		Email string `json:"email"`
	} `json:"user"`
	CreatedAt string `json:"created_at"`
}

type herokuBuild struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	App        herokuApp `json:"app"`
	SourceBlob struct {
		Version *string `json:"version"`
	} `json:"source_blob"`
	User struct {
		Email string `json:"email"`
	} `json:"user"`
}

// HerokuEvent is a decoded Heroku delivery: a release or a build.
type HerokuEvent struct {
	DeliveryID string // the event's id and its delivery's: a retry repeats both
	Resource   string
	Action     string
	Release    *commands.ReleaseEvent
	Build      *commands.BuildEvent
}

// DecodeHeroku reads a Heroku app webhook delivery. Releases and builds
// with an outcome to report are returned; other resources and updates are
// errIgnored.
func DecodeHeroku(body []byte) (HerokuEvent, error) {
	var env herokuEnvelope
	if err := strictJSON(body, &env); err != nil {
		return HerokuEvent{}, fmt.Errorf("heroku: envelope: %w", err)
	}
	out := HerokuEvent{Resource: env.Resource, Action: env.Action}
	if env.ID != "" || env.WebhookMetadata.Delivery.ID != "" {
		out.DeliveryID = env.ID + "/" + env.WebhookMetadata.Delivery.ID
	}
	if env.Resource != "release" && env.Resource != "build" {
		return out, errIgnored
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return out, fmt.Errorf("heroku: %s event without data", env.Resource)
	}
	// previous_data names the fields an update changed, with their old
	// values: {"status": "pending"}. It may be absent, {} or null.
	var prev map[string]json.RawMessage
	_ = json.Unmarshal(env.PreviousData, &prev)
	_, statusChanged := prev["status"]
	statusChanged = statusChanged && env.Action == "update"

	switch env.Resource {
	case "release":
		var r herokuRelease
		if err := json.Unmarshal(env.Data, &r); err != nil {
			return out, fmt.Errorf("heroku: release data: %w", err)
		}
		e := commands.ReleaseEvent{
			Action: env.Action, ID: r.ID, Version: r.Version, Status: r.Status, StatusChanged: statusChanged,
			AppID: r.App.ID, AppName: r.App.Name, UserEmail: r.User.Email,
		}
		if r.Description != nil {
			e.Description = *r.Description
		}
		switch {
		case r.Slug != nil:
			e.SlugID = r.Slug.ID
		case r.OCIImage != nil:
			e.SlugID = r.OCIImage.ID
		}
		e.CreatedAt, _ = time.Parse(time.RFC3339, r.CreatedAt)
		out.Release = &e
		if !e.Wanted() {
			return out, errIgnored
		}
	case "build":
		var b herokuBuild
		if err := json.Unmarshal(env.Data, &b); err != nil {
			return out, fmt.Errorf("heroku: build data: %w", err)
		}
		e := commands.BuildEvent{
			Action: env.Action, ID: b.ID, Status: b.Status, StatusChanged: statusChanged,
			AppID: b.App.ID, AppName: b.App.Name, UserEmail: b.User.Email,
		}
		if b.SourceBlob.Version != nil {
			e.Commit = *b.SourceBlob.Version
		}
		out.Build = &e
		if !e.Wanted() {
			return out, errIgnored
		}
	}
	return out, nil
}

// semaphorePayload is Semaphore's webhook notification (notifications/…/
// webhook/message.ex in semaphoreio/semaphore).
type semaphorePayload struct {
	Organization struct {
		Name string `json:"name"`
	} `json:"organization"`
	Project struct {
		Name string `json:"name"`
	} `json:"project"`
	Revision struct {
		Reference     string `json:"reference"`
		ReferenceType string `json:"reference_type"`
		CommitSHA     string `json:"commit_sha"`
		CommitMessage string `json:"commit_message"`
		Sender        *struct {
			Login string `json:"login"`
		} `json:"sender"`
		Branch *struct {
			Name        string `json:"name"`
			CommitRange string `json:"commit_range"`
		} `json:"branch"`
		PullRequest *struct {
			// Semaphore copies its hook's pr_number; accept a number or a
			// numeric string.
			Number      json.RawMessage `json:"number"`
			HeadSHA     string          `json:"head_sha"`
			BranchName  string          `json:"branch_name"`
			CommitRange string          `json:"commit_range"`
		} `json:"pull_request"`
	} `json:"revision"`
	Workflow struct {
		ID string `json:"id"`
	} `json:"workflow"`
	Pipeline struct {
		ID               string  `json:"id"`
		Name             string  `json:"name"`
		State            string  `json:"state"`
		Result           string  `json:"result"`
		ResultReason     string  `json:"result_reason"`
		ErrorDescription string  `json:"error_description"`
		CreatedAt        *string `json:"created_at"`
		RunningAt        *string `json:"running_at"`
		DoneAt           *string `json:"done_at"`
	} `json:"pipeline"`
}

// DecodeSemaphore reads a Semaphore pipeline notification. Pipelines of
// tags, and pipelines not done, are errIgnored.
func DecodeSemaphore(body []byte) (commands.PipelineEvent, error) {
	var p semaphorePayload
	if err := strictJSON(body, &p); err != nil {
		return commands.PipelineEvent{}, fmt.Errorf("semaphore: payload: %w", err)
	}
	rev := p.Revision
	e := commands.PipelineEvent{
		PipelineID: p.Pipeline.ID, WorkflowID: p.Workflow.ID, Name: p.Pipeline.Name, Project: p.Project.Name,
		Organization: p.Organization.Name, State: strings.ToLower(p.Pipeline.State), Result: strings.ToLower(p.Pipeline.Result),
		ResultReason: strings.ToLower(p.Pipeline.ResultReason), Error: p.Pipeline.ErrorDescription,
		SHA: rev.CommitSHA, CommitMessage: rev.CommitMessage,
		CreatedAt: semaphoreTime(p.Pipeline.CreatedAt), RunningAt: semaphoreTime(p.Pipeline.RunningAt), DoneAt: semaphoreTime(p.Pipeline.DoneAt),
	}
	if rev.Sender != nil {
		e.Sender = rev.Sender.Login
	}
	switch strings.ToLower(rev.ReferenceType) {
	case "branch":
		e.Branch = strings.TrimPrefix(rev.Reference, "refs/heads/")
		if rev.Branch != nil {
			e.Branch = cmp.Or(rev.Branch.Name, e.Branch)
			e.CommitRange = rev.Branch.CommitRange
		}
	case "pull_request":
		if rev.PullRequest == nil {
			return e, fmt.Errorf("semaphore: pull_request revision without pull_request")
		}
		n, ok := prNumber(rev.PullRequest.Number)
		if !ok {
			return e, fmt.Errorf("semaphore: pull request number out of range")
		}
		e.PR, e.PRBranch, e.Branch = n, rev.PullRequest.BranchName, rev.PullRequest.BranchName
		e.SHA = cmp.Or(rev.PullRequest.HeadSHA, e.SHA)
		e.CommitRange = rev.PullRequest.CommitRange
	}
	if !e.Wanted() {
		return e, errIgnored
	}
	return e, nil
}

func prNumber(raw json.RawMessage) (int, bool) {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > maxPR {
		return 0, false
	}
	return int(n), true
}

// semaphoreTime reads the webhook's RFC 3339 times; null or unreadable is
// zero (only the duration shown depends on them).
func semaphoreTime(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil || t.Unix() <= 0 {
		return time.Time{}
	}
	return t
}

// strictJSON decodes one JSON object: trailing data is an error.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}

// safeURL accepts only http(s) links: a URL goes into Slack's <url|label>
// markup, where anything else could break it.
func safeURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(s, "<>| \n")
}
