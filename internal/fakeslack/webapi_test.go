package fakeslack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, token, want string
	}{
		{"bot token", botToken, ""},
		{"wrong token", "xoxb-wrong", "invalid_auth"},
		{"missing token", "", "not_authed"},
		{"app token", appToken, "not_allowed_token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := slack.New(tt.token, slack.OptionAPIURL(e.srv.URL+"/api/"))
			resp, err := api.AuthTestContext(ctxT(t))
			if got := slackErr(err); got != tt.want {
				t.Fatalf("error = %q, want %q", got, tt.want)
			}
			if err == nil && (resp.UserID != fakeslack.BotUserID || resp.TeamID != fakeslack.TeamID || resp.BotID != fakeslack.BotID) {
				t.Errorf("auth.test = %+v", resp)
			}
		})
	}

	t.Run("bearer header on a form method", func(t *testing.T) {
		body := url.Values{"channel": {"C9"}, "text": {"hi"}}.Encode()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/chat.postMessage", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+botToken)
		if got := postRaw(t, req); got["ok"] != true {
			t.Errorf("reply = %v", got)
		}
	})
}

func TestJSONBody(t *testing.T) {
	e := newEnv(t)
	body := `{"channel":"C9","text":"fallback","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/chat.postMessage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+botToken)
	got := postRaw(t, req)
	if got["ok"] != true || got["channel"] != "C9" {
		t.Fatalf("reply = %v", got)
	}
	m := e.fake.Messages()[0]
	var blocks []struct {
		Type    string `json:"type"`
		BlockID string `json:"block_id"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil || len(blocks) != 1 || blocks[0].BlockID == "" {
		t.Errorf("blocks = %s (%v)", m.Blocks, err)
	}
	if c := e.fake.APICalls()[0]; c.Values.Get("text") != "fallback" || !strings.HasPrefix(c.Values.Get("blocks"), "[") {
		t.Errorf("recorded values = %v", c.Values)
	}
}

func TestBlockActionPayload(t *testing.T) {
	e := newEnv(t)
	ts, err := e.api.PostEphemeralContext(ctxT(t), "C700", "U700", slack.MsgOptionBlocks(slack.NewActionBlock("deploy_blk",
		slack.NewButtonBlockElement("cancel", "x", slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false)))))
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.fake.WaitMessage(ctxT(t), func(m fakeslack.Message) bool { return m.TS == ts })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.ClickButton(m, "cancel", "U999"); err == nil {
		t.Error("someone else clicked an ephemeral message")
	}
	id, err := e.fake.ClickButton(m, "cancel", "U700")
	if err != nil {
		t.Fatal(err)
	}
	// No client is connected: the envelope waits in the queue, readable here.
	env, ok := e.fake.Envelope(id)
	if !ok {
		t.Fatal("envelope not recorded")
	}
	var raw struct {
		Type    string                     `json:"type"`
		Payload map[string]json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(env, &raw); err != nil || raw.Type != "interactive" {
		t.Fatalf("envelope %s: %v", env, err)
	}
	if _, hasMessage := raw.Payload["message"]; hasMessage {
		t.Error("ephemeral click carries a message object")
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal(mustField(t, env, "payload"), &cb); err != nil {
		t.Fatal(err)
	}
	if len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].BlockID != "deploy_blk" ||
		!cb.Container.IsEphemeral || cb.Container.MessageTs != ts {
		t.Errorf("callback = %+v container %+v", cb.ActionCallback, cb.Container)
	}

	// The raw builder always sets a block_id, even with nothing to look up.
	id = e.fake.SendBlockAction(fakeslack.BlockAction{ActionID: "approve", UserID: "U700", ChannelID: "C700", MessageTS: "1.000000"})
	env, _ = e.fake.Envelope(id)
	cb = slack.InteractionCallback{}
	if err := json.Unmarshal(mustField(t, env, "payload"), &cb); err != nil {
		t.Fatal(err)
	}
	if len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].BlockID == "" {
		t.Errorf("actions = %+v", cb.ActionCallback)
	}
}

func mustField(t *testing.T, obj json.RawMessage, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	return m[key]
}

func postRaw(t *testing.T, req *http.Request) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("status %d body %s: %v", resp.StatusCode, b, err)
	}
	return out
}

func TestChatMessages(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	parent := e.fake.AddMessage("C100", "", "U100", "PR #12 opened")

	ch, ts, err := e.api.PostMessageContext(ctx, "C100", slack.MsgOptionText("Deploying", false), slack.MsgOptionTS(parent))
	if err != nil || ch != "C100" || ts == "" {
		t.Fatalf("post = %s %s %v", ch, ts, err)
	}
	if _, _, _, err := e.api.UpdateMessageContext(ctx, "C100", ts, slack.MsgOptionText("Deployed", false)); err != nil {
		t.Fatal(err)
	}
	ets, err := e.api.PostEphemeralContext(ctx, "C100", "U100", slack.MsgOptionText("Only you", false))
	if err != nil || ets == "" {
		t.Fatalf("ephemeral = %s %v", ets, err)
	}
	link, err := e.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C100", Ts: ts})
	if err != nil || !strings.Contains(link, "/archives/C100/p"+strings.ReplaceAll(ts, ".", "")) ||
		!strings.Contains(link, "thread_ts="+parent) {
		t.Errorf("permalink = %s %v", link, err)
	}

	got := e.fake.Messages()
	want := []fakeslack.Message{
		{Channel: "C100", TS: parent, Text: "PR #12 opened", Author: "U100", Via: "seed"},
		{Channel: "C100", TS: ts, ThreadTS: parent, Text: "Deployed", Author: fakeslack.BotUserID, Updates: 1, Via: "chat.update"},
		{Channel: "C100", TS: ets, Text: "Only you", User: "U100", Author: fakeslack.BotUserID, Ephemeral: true, Via: "chat.postEphemeral"},
	}
	if len(got) != len(want) {
		t.Fatalf("messages = %+v", got)
	}
	for i := range want {
		got[i].Reactions = nil
		if g, w := got[i], want[i]; g.Channel != w.Channel || g.TS != w.TS || g.ThreadTS != w.ThreadTS ||
			g.Text != w.Text || g.User != w.User || g.Author != w.Author || g.Ephemeral != w.Ephemeral ||
			g.Updates != w.Updates || g.Via != w.Via {
			t.Errorf("message %d = %+v\nwant %+v", i, g, w)
		}
	}
	if !(parent < ts && ts < ets) {
		t.Errorf("ts not increasing: %s %s %s", parent, ts, ets)
	}

	msgs, hasMore, _, err := e.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C100", Timestamp: parent})
	if err != nil || hasMore || len(msgs) != 2 {
		t.Fatalf("replies = %+v %t %v", msgs, hasMore, err)
	}
	if msgs[0].Timestamp != parent || msgs[0].ReplyCount != 1 || msgs[1].Text != "Deployed" ||
		msgs[1].BotID != fakeslack.BotID || msgs[1].ThreadTimestamp != parent {
		t.Errorf("replies = %+v", msgs)
	}

	errCases := []struct {
		name string
		call func() error
		want string
	}{
		{"update unknown message", func() error {
			_, _, _, err := e.api.UpdateMessageContext(ctx, "C100", "1.000000", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"update ephemeral", func() error {
			_, _, _, err := e.api.UpdateMessageContext(ctx, "C100", ets, slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"update a person's message", func() error {
			_, _, _, err := e.api.UpdateMessageContext(ctx, "C100", parent, slack.MsgOptionText("x", false))
			return err
		}, "cant_update_message"},
		{"post nothing", func() error {
			_, _, err := e.api.PostMessageContext(ctx, "C100")
			return err
		}, "no_text"},
		{"post to unknown name", func() error {
			_, _, err := e.api.PostMessageContext(ctx, "#nowhere", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"section text too long", func() error {
			long := slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("a", 3001), false, false)
			_, _, err := e.api.PostMessageContext(ctx, "C100", slack.MsgOptionBlocks(slack.NewSectionBlock(long, nil, nil)))
			return err
		}, "invalid_blocks"},
		{"replies of unknown thread", func() error {
			_, _, _, err := e.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C100", Timestamp: "1.000000"})
			return err
		}, "thread_not_found"},
		{"react twice", func() error {
			ref := slack.NewRefToMessage("C100", ts)
			if err := e.api.AddReactionContext(ctx, "rocket", ref); err != nil {
				return err
			}
			return e.api.AddReactionContext(ctx, "rocket", ref)
		}, "already_reacted"},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := slackErr(tt.call()); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNotInChannel(t *testing.T) {
	e := newEnv(t)
	e.fake.AddChannel("C200", "general", "U1") // described without the bot
	_, _, err := e.api.PostMessageContext(ctxT(t), "C200", slack.MsgOptionText("hi", false))
	if got := slackErr(err); got != "not_in_channel" {
		t.Fatalf("error = %q", got)
	}
	if _, _, _, err := e.api.JoinConversationContext(ctxT(t), "C200"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.api.PostMessageContext(ctxT(t), "#general", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("post after join: %v", err)
	}
}

func TestConversations(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	e.fake.AddUser(fakeslack.User{ID: "U300", Name: "bob", RealName: "Bob B", Email: "bob@example.com"})

	createCases := []struct {
		name, channel, want string
	}{
		{"valid", "deploy-api_2024", ""},
		{"taken", "deploy-api_2024", "name_taken"},
		{"uppercase", "Deploy", "invalid_name_specials"},
		{"space", "deploy api", "invalid_name_specials"},
		{"empty", "", "invalid_name_required"},
		{"too long", strings.Repeat("a", 81), "invalid_name_maxlength"},
		{"80 chars", strings.Repeat("b", 80), ""},
		{"punctuation only", "--", "invalid_name_punctuation"},
	}
	for _, tt := range createCases {
		t.Run("create "+tt.name, func(t *testing.T) {
			c, err := e.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: tt.channel})
			if got := slackErr(err); got != tt.want {
				t.Fatalf("error = %q, want %q", got, tt.want)
			}
			if err == nil && (!strings.HasPrefix(c.ID, "C") || c.Name != tt.channel || !c.IsMember || c.Creator != fakeslack.BotUserID) {
				t.Errorf("channel = %+v", c)
			}
		})
	}

	c, err := e.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "incident-1", IsPrivate: true})
	if err != nil || !c.IsPrivate {
		t.Fatalf("private create = %+v %v", c, err)
	}
	if _, err := e.api.InviteUsersToConversationContext(ctx, c.ID, "U300"); err != nil {
		t.Fatal(err)
	}
	_, err = e.api.InviteUsersToConversationContext(ctx, c.ID, "U300")
	if err == nil || !strings.Contains(err.Error(), "already_in_channel") {
		t.Errorf("second invite: %v", err)
	}
	info, err := e.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: c.ID, IncludeNumMembers: true})
	if err != nil || info.Name != "incident-1" || info.NumMembers != 2 {
		t.Errorf("info = %+v %v", info, err)
	}
	if got, _ := e.fake.Channel(c.ID); strings.Join(got.Members, ",") != "U0DEVYBOT1,U300" {
		t.Errorf("members = %v", got.Members)
	}
	if _, err := e.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C404"}); slackErr(err) != "channel_not_found" {
		t.Errorf("unknown channel: %v", err)
	}

	u, err := e.api.GetUserInfoContext(ctx, "U300")
	if err != nil || u.Name != "bob" || u.Profile.Email != "bob@example.com" || u.RealName != "Bob B" {
		t.Errorf("user = %+v %v", u, err)
	}
	if _, err := e.api.GetUserInfoContext(ctx, "U404"); slackErr(err) != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}

	e.fake.SetUserGroup("S100", "U300", "U301")
	members, err := e.api.GetUserGroupMembersContext(ctx, "S100")
	if err != nil || strings.Join(members, ",") != "U300,U301" {
		t.Errorf("group = %v %v", members, err)
	}
	if _, err := e.api.GetUserGroupMembersContext(ctx, "S404"); slackErr(err) != "no_such_subteam" {
		t.Errorf("unknown group: %v", err)
	}
}

func TestViews(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	modal := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "cfg",
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Configure", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Hi", false, false), nil, nil)}}}

	if _, err := e.api.OpenViewContext(ctx, "123.456.abc", modal); slackErr(err) != "invalid_trigger_id" {
		t.Errorf("made-up trigger: %v", err)
	}
	trigger := e.fake.TriggerID()
	opened, err := e.api.OpenViewContext(ctx, trigger, modal)
	if err != nil || !strings.HasPrefix(opened.View.ID, "V") || opened.View.CallbackID != "cfg" || opened.View.Hash == "" {
		t.Fatalf("open = %+v %v", opened, err)
	}
	if _, err := e.api.OpenViewContext(ctx, trigger, modal); slackErr(err) != "exchanged_trigger_id" {
		t.Errorf("reused trigger: %v", err)
	}
	if _, err := e.api.UpdateViewContext(ctx, modal, "", "stale", opened.View.ID); slackErr(err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	if _, err := e.api.UpdateViewContext(ctx, modal, "", opened.View.Hash, opened.View.ID); err != nil {
		t.Errorf("update: %v", err)
	}
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: modal.Blocks}
	if _, err := e.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: fakeslack.BotUserID, View: home}); err != nil {
		t.Errorf("publish: %v", err)
	}
	views := e.fake.Views()
	if len(views) != 3 || !strings.Contains(string(views[0]), `"callback_id":"cfg"`) || !strings.Contains(string(views[2]), `"type":"home"`) {
		t.Errorf("views = %s", views)
	}
}

func TestResponseURL(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	u := e.fake.ResponseURL("C500", "U500")

	if _, _, err := e.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("Only you see this", false)); err != nil {
		t.Fatal(err)
	}
	m, err := e.fake.WaitMessage(ctx, func(m fakeslack.Message) bool { return m.Via == "response_url" })
	if err != nil {
		t.Fatal(err)
	}
	if !m.Ephemeral || m.User != "U500" || m.Channel != "C500" || m.ResponseType != "ephemeral" {
		t.Errorf("message = %+v", m)
	}
	calls := e.fake.Calls()
	last := calls[len(calls)-1]
	if last.Method != "response_url" || last.Status != http.StatusOK || e.fake.Count("response_url") != 1 ||
		len(e.fake.APICalls()) != 0 {
		t.Errorf("calls = %+v", calls)
	}

	for range 4 {
		if _, _, err := e.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, ""), slack.MsgOptionText("again", false)); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = e.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, ""), slack.MsgOptionText("sixth", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusNotFound {
		t.Errorf("sixth use: %v", err)
	}
	e.fake.AllowUnmatched("response_url") // an unknown URL, on purpose
	_, _, err = e.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(e.srv.URL+"/response/999/x", ""), slack.MsgOptionText("x", false))
	if !errors.As(err, &sc) || sc.Code != http.StatusNotFound {
		t.Errorf("unknown url: %v", err)
	}
	if got := e.fake.Unmatched(); len(got) != 1 || got[0] != "POST /response/999/x (response_url expired_url)" {
		t.Errorf("Unmatched() = %q, want the unknown response_url", got)
	}
}

func TestInjectedFailures(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)

	e.fake.RateLimitNext("chat.postMessage", 7).Require(t)
	_, _, err := e.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Fatalf("rate limited: %v", err)
	}
	if _, _, err := e.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("injection not one-shot: %v", err)
	}

	e.fake.FailNext("auth.test", http.StatusBadGateway, nil, "<html>bad gateway</html>").Require(t)
	_, err = e.api.AuthTestContext(ctx)
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusBadGateway {
		t.Errorf("502: %v", err)
	}
	if n := e.fake.Count("chat.*"); n != 2 {
		t.Errorf("chat.* count = %d", n)
	}
	calls := e.fake.APICalls()
	if calls[0].Status != http.StatusTooManyRequests || calls[0].Error != "ratelimited" || calls[0].Values.Get("channel") != "C1" {
		t.Errorf("first call = %+v", calls[0])
	}

	e.fake.AllowUnmatched("chat.frob*") // unknown, on purpose
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/chat.frobnicate", strings.NewReader("token="+botToken))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got := postRaw(t, req); got["error"] != "unknown_method" {
		t.Errorf("unknown method = %v", got)
	}
	if got := e.fake.Unmatched(); len(got) != 1 || got[0] != "POST /api/chat.frobnicate (unknown_method chat.frobnicate)" {
		t.Errorf("Unmatched() = %q, want the unknown method", got)
	}
}

// strictTB collects what FailOnUnmatched reports when its cleanups run.
type strictTB struct {
	cleanups []func()
	errors   []string
}

func (*strictTB) Helper()             {}
func (f *strictTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *strictTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func TestFailOnUnmatched(t *testing.T) {
	tests := []struct {
		name, method, path string
		allow              string // AllowUnmatched pattern; "" for none
		want               string // in the error; "" for no error
	}{
		{"known method", "POST", "/api/auth.test", "", ""},
		{"unknown method", "POST", "/api/chat.frobnicate", "", "POST /api/chat.frobnicate (unknown_method chat.frobnicate)"},
		{"unknown method allowed", "POST", "/api/chat.frobnicate", "chat.*", ""},
		{"unknown response_url", "POST", "/response/999/x", "", "POST /response/999/x (response_url expired_url)"},
		{"response_url allowed", "POST", "/response/999/x", "response_url", ""},
		{"unknown path", "GET", "/hooks/x", "", "GET /hooks/x"},
		{"unknown path allowed", "GET", "/hooks/x", "/hooks/*", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tb := &strictTB{}
			e.fake.FailOnUnmatched(tb)
			if tt.allow != "" {
				e.fake.AllowUnmatched(tt.allow)
			}
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader("token="+botToken))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for _, f := range tb.cleanups {
				f()
			}
			switch {
			case tt.want == "" && len(tb.errors) > 0:
				t.Errorf("errors %q, want none", tb.errors)
			case tt.want != "" && (len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "\n\t"+tt.want)):
				t.Errorf("errors %q, want one naming %q", tb.errors, tt.want)
			}
			e.fake.AllowUnmatched("/*") // sent on purpose: newEnv's check on t passes
		})
	}
}
