package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

const critChan = "C0CRIT0001"

// startIncidents runs Devy with a #critical channel the bot is in.
func startIncidents(t *testing.T, env map[string]string) *harness {
	t.Helper()
	h := start(t, env)
	h.slack.AddChannel(critChan, "critical", fakeslack.BotUserID)
	return h
}

// openIncident types `/incident open text` as user in #critical and returns
// the new incident channel.
func (h *harness) openIncident(user, text string, n int) fakeslack.Channel {
	h.t.Helper()
	h.slash(user, critChan, "/incident", "open "+text)
	h.reply(user, fmt.Sprintf("Opened incident #%d", n))
	return h.incidentChannel(n)
}

// incidentChannel is the channel Devy created for incident n.
func (h *harness) incidentChannel(n int) fakeslack.Channel {
	h.t.Helper()
	prefix := fmt.Sprintf("inc-%d-", n)
	var found fakeslack.Channel
	err := h.slack.WaitFor(h.ctx(), func() bool {
		for _, c := range h.slack.Channels() {
			if strings.HasPrefix(c.Name+"-", prefix) {
				found = c
				return true
			}
		}
		return false
	})
	if err != nil {
		h.t.Fatalf("no channel for incident %d: %v", n, err)
	}
	return found
}

// posted waits for a message everyone sees in channel containing text.
func (h *harness) posted(channel, text string) fakeslack.Message {
	h.t.Helper()
	return h.wait(fmt.Sprintf("a message in %s containing %q", channel, text), func(m fakeslack.Message) bool {
		return m.Channel == channel && !m.Ephemeral && strings.Contains(blocksText(m), text)
	})
}

// show returns the text of `/incident show n` as user sees it.
func (h *harness) show(user string, n int) string {
	h.t.Helper()
	seen := map[string]bool{}
	for _, m := range h.slack.Messages() {
		seen[m.TS] = true
	}
	h.slash(user, devyChan, "/incident", fmt.Sprintf("show %d", n))
	m := h.wait("the incident", func(m fakeslack.Message) bool {
		return !seen[m.TS] && m.Ephemeral && m.User == user && strings.HasPrefix(m.Text, fmt.Sprintf("Incident #%d:", n))
	})
	return blocksText(m)
}

// calls returns the Web API calls of method with their arguments.
func (h *harness) calls(method string) []fakeslack.Call {
	var out []fakeslack.Call
	for _, c := range h.slack.APICalls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// openedView waits for the nth views.open and returns its view.
func (h *harness) openedView(n int) map[string]any {
	h.t.Helper()
	if err := h.slack.WaitFor(h.ctx(), func() bool { return len(h.slack.Views()) >= n }); err != nil {
		h.t.Fatalf("views.open #%d never arrived: %v", n, err)
	}
	var v map[string]any
	if err := json.Unmarshal(h.slack.Views()[n-1], &v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

// field is one answer in a view_submission's state.
type field struct {
	text    string
	option  string
	options []string
}

// submit sends a view_submission of view as user, shaped like Slack's, and
// returns the acknowledgement's payload.
func (h *harness) submit(user string, view map[string]any, answers map[string]field) json.RawMessage {
	h.t.Helper()
	values := map[string]any{}
	for id, a := range answers {
		var action map[string]any
		opt := func(v string) map[string]any {
			return map[string]any{"text": map[string]any{"type": "plain_text", "text": v, "emoji": true}, "value": v}
		}
		switch {
		case a.option != "":
			action = map[string]any{"type": "static_select", "selected_option": opt(a.option)}
		case a.options != nil:
			var sel []any
			for _, o := range a.options {
				sel = append(sel, opt(o))
			}
			action = map[string]any{"type": "multi_static_select", "selected_options": sel}
		default:
			action = map[string]any{"type": "plain_text_input", "value": a.text}
		}
		values[id] = map[string]any{id: action}
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "view_submission", "team": map[string]any{"id": fakeslack.TeamID, "domain": fakeslack.TeamDomain},
		"user":       map[string]any{"id": user, "username": strings.ToLower(user), "team_id": fakeslack.TeamID},
		"api_app_id": fakeslack.AppID, "token": fakeslack.VerificationToken, "trigger_id": h.slack.TriggerID(),
		"view": map[string]any{
			"id": "V0VIEW0001", "type": "modal", "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
			"hash": "1700000000.abcdef", "blocks": view["blocks"], "state": map[string]any{"values": values},
		},
	})
	id := h.slack.SendInteractive(payload)
	ack, err := h.slack.WaitAck(h.ctx(), id)
	if err != nil {
		h.t.Fatalf("view_submission not acknowledged: %v", err)
	}
	return ack
}

func TestIncidentOpenWithTitle(t *testing.T) {
	h := startIncidents(t, nil)
	// A promotion a few minutes earlier: one of the usual suspects.
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")

	ch := h.openIncident(carol, "Checkout returns 500 --sev1", 1)
	if ch.Name != "inc-1-checkout-returns-500" || ch.Private {
		t.Errorf("channel = %+v, want public inc-1-checkout-returns-500", ch)
	}
	creates := h.calls("conversations.create")
	if len(creates) != 1 || creates[0].Values.Get("name") != "inc-1-checkout-returns-500" {
		t.Fatalf("conversations.create calls = %+v", creates)
	}
	invites := h.calls("conversations.invite")
	if len(invites) != 1 || invites[0].Values.Get("channel") != ch.ID || invites[0].Values.Get("users") != carol {
		t.Fatalf("conversations.invite calls = %+v, want %s invited to %s", invites, carol, ch.ID)
	}
	brief := blocksText(h.posted(ch.ID, "Incident #1"))
	for _, want := range []string{
		"Checkout returns 500", "SEV1", "*Commander*\n<@" + carol + ">", "No blame here", "patch forward",
		"Production promotions of the last 24 hours", "shop-staging v3", "requested by <@" + alice + ">, approved by <@" + bob + ">",
		"compare/" + h.sb.ProductionSHA + "..." + h.sb.StagingSHA, "/incident update", "/incident resolve", ":pushpin:",
	} {
		if !strings.Contains(brief, want) {
			t.Errorf("briefing lacks %q:\n%s", want, brief)
		}
	}
	ann := h.posted(critChan, "incident #1")
	for _, want := range []string{"SEV1 incident #1", "<@" + carol + ">", "Checkout returns 500", "<#" + ch.ID + ">"} {
		if !strings.Contains(ann.Text, want) {
			t.Errorf("announcement lacks %q: %s", want, ann.Text)
		}
	}

	// A similar title within 90 days is flagged as a possible repeat; the
	// number counts up.
	ch2 := h.openIncident(alice, "Checkout errors 500 again", 2)
	if ch2.Name != "inc-2-checkout-errors-500-again" {
		t.Errorf("second channel = %s", ch2.Name)
	}
	ann2 := h.posted(critChan, "incident #2")
	if !strings.Contains(ann2.Text, "SEV2 incident #2") || !strings.Contains(ann2.Text, "Possibly a repeat of #1") {
		t.Errorf("second announcement: %s", ann2.Text)
	}
	h.posted(ch2.ID, "Possibly a repeat of #1")
}

func TestIncidentOpenViaModal(t *testing.T) {
	h := startIncidents(t, nil)
	h.slash(alice, critChan, "/incident", "open --sev3")
	view := h.openedView(1)
	if view["callback_id"] != "incident.open" {
		t.Fatalf("view = %v", view)
	}
	raw := string(h.slack.Views()[0])
	for _, want := range []string{`"block_id":"title"`, `"block_id":"severity"`, `"block_id":"summary"`, `"value":"SEV3"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("modal lacks %s: %s", want, raw)
		}
	}

	// An empty title keeps the modal open with the field's error.
	ack := h.submit(alice, view, map[string]field{"title": {text: "  "}, "severity": {option: "SEV3"}})
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(ack, &resp); err != nil || resp.ResponseAction != "errors" || resp.Errors["title"] == "" {
		t.Fatalf("ack = %s, want response_action errors naming title", ack)
	}
	if n := len(h.calls("conversations.create")); n != 0 {
		t.Fatalf("%d channels created from an invalid form", n)
	}

	ack = h.submit(alice, view, map[string]field{"title": {text: "Search is slow"}, "severity": {option: "SEV3"}, "summary": {text: "p95 at 4s since 10:00 <b>"}})
	if len(ack) > 0 && strings.Contains(string(ack), "errors") {
		t.Fatalf("valid form refused: %s", ack)
	}
	ch := h.incidentChannel(1)
	if ch.Name != "inc-1-search-is-slow" {
		t.Errorf("channel %s", ch.Name)
	}
	brief := blocksText(h.posted(ch.ID, "Incident #1"))
	if !strings.Contains(brief, "SEV3") || !strings.Contains(brief, "p95 at 4s since 10:00 &lt;b&gt;") {
		t.Errorf("briefing:\n%s", brief)
	}
	h.posted(critChan, "SEV3 incident #1")
	h.reply(alice, "Opened incident #1")
}

// Devy may post anywhere (chat:write.public) without being a member, but
// chat.postEphemeral needs membership: the answer to a form opened from
// such a channel goes through the command's response_url.
func TestIncidentFormAnsweredWhereDevyIsNoMember(t *testing.T) {
	h := startIncidents(t, nil)
	const warRoom = "C0WARROOM1"
	h.slack.AddChannel(warRoom, "war-room", alice)
	h.slash(alice, warRoom, "/incident", "open")
	h.submit(alice, h.openedView(1), map[string]field{"title": {text: "Search is slow"}, "severity": {option: "SEV3"}})
	h.incidentChannel(1)
	if m := h.reply(alice, "Opened incident #1"); m.Via != "response_url" || m.Channel != warRoom {
		t.Errorf("the answer came through %s in %s; want the response_url of the command in %s", m.Via, m.Channel, warRoom)
	}
}

func TestIncidentChannelNameTaken(t *testing.T) {
	h := startIncidents(t, nil)
	h.slack.AddChannel("C0TAKEN001", "inc-1-db-down")
	ch := h.openIncident(alice, "DB down!", 1)
	if ch.Name != "inc-1-db-down-2" {
		t.Fatalf("channel = %s, want inc-1-db-down-2", ch.Name)
	}
	var names []string
	for _, c := range h.calls("conversations.create") {
		names = append(names, c.Values.Get("name")+":"+c.Error)
	}
	if strings.Join(names, ",") != "inc-1-db-down:name_taken,inc-1-db-down-2:" {
		t.Errorf("conversations.create: %v", names)
	}
	h.posted(critChan, "<#"+ch.ID+">")
}

func TestIncidentLifecycle(t *testing.T) {
	h := startIncidents(t, nil)
	h.slack.AddUser(fakeslack.User{ID: bob, Name: "bob"})
	ch := h.openIncident(alice, "Payments failing", 1)

	h.slash(alice, ch.ID, "/incident", "update restarted the primary\nwatching errors")
	h.posted(ch.ID, "📝 <@"+alice+">: restarted the primary\nwatching errors")
	h.posted(critChan, "Incident #1 (<#"+ch.ID+">), from <@"+alice+">: restarted the primary")

	h.slash(carol, otherChan, "/incident", "update 1 the card processor confirms an outage")
	h.posted(ch.ID, "📝 <@"+carol+">: the card processor confirms an outage")
	h.reply(carol, "Added your update to incident #1")

	h.slash(alice, ch.ID, "/incident", "severity sev1")
	h.posted(ch.ID, "Severity is now *SEV1* (was SEV2)")
	h.posted(critChan, "is now SEV1 (was SEV2)")

	h.slash(alice, ch.ID, "/incident", "commander <@"+bob+"|bob>")
	h.posted(ch.ID, "<@"+bob+"> is now the incident commander")
	if c, _ := h.slack.Channel(ch.ID); !strings.Contains(strings.Join(c.Members, ","), bob) {
		t.Errorf("the new commander was not invited: %v", c.Members)
	}

	h.slash(bob, ch.ID, "/incident", "resolve patched the retry budget")
	res := h.posted(ch.ID, "Incident #1 resolved by <@"+bob+"> after")
	if text := blocksText(res); !strings.Contains(text, "patched the retry budget") || !strings.Contains(text, "Write the postmortem") {
		t.Errorf("resolution message:\n%s", text)
	}
	h.posted(critChan, "Incident #1 resolved after")

	text := h.show(carol, 1)
	for _, want := range []string{
		"SEV2 opened by <@" + alice + ">: Payments failing", "restarted the primary", "card processor confirms",
		"Severity SEV2 → SEV1 by <@" + alice + ">", "Commander <@" + alice + "> → <@" + bob + ">", "Resolved by <@" + bob + ">: patched the retry budget",
		"*Commander*\n<@" + bob + ">", "resolved", "No postmortem filed yet",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("show lacks %q:\n%s", want, text)
		}
	}

	h.openIncident(carol, "Login slow --sev3", 2)
	// A number names the incident shown, even in another incident's channel.
	h.slash(carol, ch.ID, "/incident", "show 2")
	h.wait("incident #2 shown in #1's channel", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == carol && strings.HasPrefix(m.Text, "Incident #2:")
	})
	h.slash(carol, devyChan, "/incident", "list")
	list := blocksText(h.wait("the list", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == carol && strings.Contains(m.Text, "open incident")
	}))
	open, resolved := strings.Index(list, "#2* SEV3 · Login slow"), strings.Index(list, "#1* SEV1 · Payments failing")
	if open < 0 || resolved < 0 || open > resolved || !strings.Contains(list, "Recently resolved") {
		t.Errorf("list (open first):\n%s", list)
	}
}

func TestIncidentTimelineRecordsPinsAndPromotions(t *testing.T) {
	h := startIncidents(t, nil)
	ch := h.openIncident(alice, "Cart totals wrong", 1)
	ts := h.slack.AddMessage(ch.ID, "", carol, "Rounding changed in #6; totals off by one cent")
	pin := func(user, eventID string) {
		ev, _ := json.Marshal(map[string]any{
			"type": "reaction_added", "user": user, "reaction": "pushpin", "item_user": carol,
			"item": map[string]any{"type": "message", "channel": ch.ID, "ts": ts}, "event_ts": "1700000200.000100",
		})
		if _, err := h.slack.WaitAck(h.ctx(), h.slack.SendEvent(ev, eventID)); err != nil {
			t.Fatal(err)
		}
	}
	pin(bob, "Ev0PIN0001")
	h.wait("the pin confirmation", func(m fakeslack.Message) bool {
		return m.ThreadTS == ts && strings.Contains(m.Text, "On the timeline of incident #1")
	})
	pin(alice, "Ev0PIN0002") // the same message pinned again is one entry

	// A reply inside a thread is recorded with its own text, not its parent's.
	parentTS := ts
	ts = h.slack.AddMessage(ch.ID, parentTS, dave, "Found it: the discount migration rounds half-down")
	pin(bob, "Ev0PIN0004")
	h.wait("the reply's pin confirmation", func(m fakeslack.Message) bool {
		return m.ThreadTS == parentTS && strings.Count(m.Text, "On the timeline of incident #1") > 0 && m.TS > ts
	})
	ts = parentTS

	// Patch forward: the fix ships while the incident is open.
	req := h.request(alice)
	h.click(req, "deploy.approve", bob)
	h.finished(req, "succeeded")
	h.posted(ch.ID, "🚀 Promotion #1 of shop-staging v3")

	text := h.show(alice, 1)
	if strings.Count(text, "Rounding changed in #6") != 1 {
		t.Errorf("the pinned message should be on the timeline once:\n%s", text)
	}
	for _, want := range []string{"📌 Rounding changed in #6; totals off by one cent (📌 <@" + bob + ">)", "📌 Found it: the discount migration rounds half-down", "🚀 Promotion #1 of shop-staging v3", "is live on shop-prod, shop-prod-eu", "approved by <@" + bob + ">"} {
		if !strings.Contains(text, want) {
			t.Errorf("timeline lacks %q:\n%s", want, text)
		}
	}
	// A pin outside an incident channel is not an incident's business.
	other := h.slack.AddMessage(devyChan, "", carol, "lunch?")
	ev, _ := json.Marshal(map[string]any{"type": "reaction_added", "user": bob, "reaction": "pushpin",
		"item": map[string]any{"type": "message", "channel": devyChan, "ts": other}, "event_ts": "1700000300.000100"})
	h.slack.WaitAck(h.ctx(), h.slack.SendEvent(ev, "Ev0PIN0003"))
	if strings.Contains(h.show(alice, 1), "lunch?") {
		t.Errorf("a pin in #devy landed on the incident's timeline")
	}
}

// postmortemAnswers is a complete postmortem form.
func postmortemAnswers() map[string]field {
	return map[string]field{
		"what":       {text: "Card payments failed for 40 minutes."},
		"impact":     {text: "About 300 checkouts failed."},
		"why1":       {text: "The payment client gave up after one retry."},
		"why2":       {text: "Its retry budget was lowered in a refactor."},
		"why3":       {text: "No test covers the retry budget."},
		"why4":       {text: "Retries were thought to be the SDK's job."},
		"why5":       {text: "We never wrote down who owns retries."},
		"root_cause": {text: "Retry ownership was undefined."},
		"categories": {options: []string{"software", "process"}},
		"actions":    {text: "- Add a test for the retry budget\n\nWrite down who owns retries"},
		"fix":        {text: "PR #6, promotion #1"},
		"went_well":  {text: "The processor's status page confirmed it quickly."},
	}
}

func TestPostmortemFilesIssues(t *testing.T) {
	h := startIncidents(t, nil)
	ch := h.openIncident(alice, "Payments failing", 1)
	h.slash(alice, ch.ID, "/incident", "update retries exhausted")
	h.posted(ch.ID, "retries exhausted")
	h.slash(alice, ch.ID, "/incident", "resolve")
	h.posted(ch.ID, "Incident #1 resolved")

	h.slash(alice, ch.ID, "/incident", "postmortem")
	view := h.openedView(1)
	if view["callback_id"] != "incident.postmortem" {
		t.Fatalf("view = %v", view)
	}
	// Required fields left empty are named.
	ack := string(h.submit(alice, view, map[string]field{"what": {text: "x"}}))
	for _, id := range []string{`"impact"`, `"why1"`, `"root_cause"`, `"categories"`} {
		if !strings.Contains(ack, id) || !strings.Contains(ack, `"response_action":"errors"`) {
			t.Errorf("ack %s does not name %s", ack, id)
		}
	}
	if len(h.sb.GitHub.Issues()) != 0 {
		t.Fatal("an invalid form filed issues")
	}

	h.submit(alice, view, postmortemAnswers())
	done := h.posted(ch.ID, "The postmortem of incident #1 is filed")
	issues := h.sb.GitHub.Issues()
	if len(issues) != 3 {
		t.Fatalf("%d issues filed, want 2 action items and the postmortem: %+v", len(issues), issues)
	}
	a1, a2, pm := issues[0], issues[1], issues[2]
	if a1.Title != "Add a test for the retry budget" || a2.Title != "Write down who owns retries" {
		t.Errorf("action item issues: %q, %q", a1.Title, a2.Title)
	}
	if !strings.Contains(a1.Body, "incident #1 (Payments failing)") {
		t.Errorf("action item body: %s", a1.Body)
	}
	if pm.Title != "Postmortem: incident #1 — Payments failing" || strings.Join(pm.Labels, ",") != "postmortem" {
		t.Errorf("postmortem issue: %q %v", pm.Title, pm.Labels)
	}
	for _, want := range []string{
		"blameless", "## Summary\n\nCard payments failed for 40 minutes.", "## Impact\n\nAbout 300 checkouts failed.",
		"## Timeline", "**Opened** — SEV2 opened by `@" + alice + "`: Payments failing", "**Update** — retries exhausted", "**Resolved**",
		"## 5 Whys", "1. **Why?** The payment client gave up after one retry.", "5. **Why?** We never wrote down who owns retries.",
		"## Root cause\n\nRetry ownership was undefined.", "## Categories\n\nSoftware, Process", "## The fix\n\nPR #6, promotion #1",
		fmt.Sprintf("- [ ] Add a test for the retry budget — #%d", a1.Number), fmt.Sprintf("- [ ] Write down who owns retries — #%d", a2.Number),
		"## What went well\n\nThe processor's status page confirmed it quickly.",
	} {
		if !strings.Contains(pm.Body, want) {
			t.Errorf("postmortem body lacks %q:\n%s", want, pm.Body)
		}
	}
	for _, want := range []string{fmt.Sprintf("/issues/%d|#%d", pm.Number, pm.Number), fmt.Sprintf("/issues/%d|#%d>", a1.Number, a1.Number), "2 action items"} {
		if !strings.Contains(done.Text, want) {
			t.Errorf("links message lacks %q: %s", want, done.Text)
		}
	}
	h.posted(critChan, "The postmortem of incident #1 is filed")
	h.reply(alice, "Filed the postmortem of incident #1")

	// Filed once: asking again points at it.
	h.slash(alice, ch.ID, "/incident", "postmortem")
	h.reply(alice, "Incident #1 already has its postmortem")
}

// Two people send the postmortem form at the same moment: one postmortem
// is filed, with its action items once, and the other is told who files it.
func TestPostmortemSentTwiceAtOnceIsFiledOnce(t *testing.T) {
	h := startIncidents(t, nil)
	ch := h.openIncident(alice, "Payments failing", 1)
	h.slash(alice, ch.ID, "/incident", "resolve")
	h.posted(ch.ID, "Incident #1 resolved")
	// Each opens a form of their own: it answers through its opener's
	// response_url, so the views must be told apart by who opened them.
	h.slash(alice, ch.ID, "/incident", "postmortem")
	first := h.openedView(1)
	h.slash(bob, ch.ID, "/incident", "postmortem")
	second := h.openedView(2)
	h.submit(alice, first, postmortemAnswers())
	h.submit(bob, second, postmortemAnswers())
	h.posted(ch.ID, "The postmortem of incident #1 is filed")
	// The second sender hears that the first is filing it, or, if the
	// first was already done, that it is filed.
	told := h.wait("the other sender told", func(m fakeslack.Message) bool {
		return m.Ephemeral && (strings.Contains(m.Text, "postmortem right now, so yours was not filed") || strings.Contains(m.Text, "already has its postmortem"))
	})
	if want := map[string]string{alice: bob, bob: alice}[told.User]; strings.Contains(told.Text, "right now") && !strings.Contains(told.Text, "<@"+want+">") {
		t.Errorf("%s was told %q; want it to name %s", told.User, told.Text, want)
	}
	if n := len(h.sb.GitHub.Issues()); n != 3 {
		t.Fatalf("%d issues filed; want the postmortem and its 2 action items once", n)
	}
}

func TestPostmortemWithoutGitHubIsPostedAsMarkdown(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		setup func(h *harness)
		want  string
	}{
		{name: "GitHub down", want: "GitHub failed (GitHub answered 503)",
			setup: func(h *harness) {
				h.sb.GitHub.FailNext("POST", "/repos/acme/shop/issues", 503, nil, `{"message":"Service Unavailable"}`).Require(h.t)
			}},
		{name: "GitHub not configured", env: map[string]string{"GITHUB_REPOSITORY": "", "GITHUB_TOKEN": ""}, want: "GitHub is not configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startIncidents(t, tc.env)
			ch := h.openIncident(alice, "Payments failing", 1)
			h.slash(alice, ch.ID, "/incident", "resolve")
			resolved := h.posted(ch.ID, "Incident #1 resolved")
			if tc.setup != nil {
				tc.setup(h)
			}
			// The button under the resolution opens the same form.
			h.click(resolved, "incident.postmortem", alice)
			h.submit(alice, h.openedView(1), postmortemAnswers())
			m := h.posted(ch.ID, "Postmortem of incident #1")
			for _, want := range []string{tc.want, "nothing is lost", "```", "# Postmortem: incident #1 — Payments failing", "1. **Why?** The payment client", "## Action items", "- [ ] Write down who owns retries"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("Markdown message lacks %q:\n%s", want, m.Text)
				}
			}
			h.reply(alice, "as Markdown; your answers are saved")
			if n := len(h.sb.GitHub.Issues()); n != 0 {
				t.Errorf("%d issues filed", n)
			}
		})
	}
}

func TestIncidentBadInput(t *testing.T) {
	h := startIncidents(t, nil)
	open := h.openIncident(alice, "Queue backlog", 1)
	closed := h.openIncident(alice, "Old thing", 2)
	h.slash(alice, closed.ID, "/incident", "resolve")
	h.posted(closed.ID, "Incident #2 resolved")
	h.posted(critChan, "Incident #2 resolved")

	tests := []struct {
		name, user, channel, text, want string
		modal                           bool // the command rightly opens a form
	}{
		{name: "unknown number", user: bob, channel: devyChan, text: "show 42", want: "There is no incident #42"},
		{name: "not a number", user: bob, channel: devyChan, text: "show abc", want: "“abc” is not an incident number"},
		{name: "unknown number in an incident channel", user: bob, channel: open.ID, text: "show 42", want: "There is no incident #42"},
		{name: "severity of an unknown incident in an incident channel", user: bob, channel: open.ID, text: "severity 42 SEV1", want: "There is no incident #42"},
		{name: "update outside an incident channel", user: bob, channel: devyChan, text: "update it is down", want: "This is not an incident channel"},
		{name: "update of an unknown incident", user: bob, channel: devyChan, text: "update 7 it is down", want: "There is no incident #7"},
		{name: "empty update", user: bob, channel: open.ID, text: "update", want: "Say what happened"},
		{name: "severity SEV9", user: bob, channel: open.ID, text: "severity SEV9", want: "“SEV9” is not a severity"},
		{name: "severity missing", user: bob, channel: open.ID, text: "severity", want: "Give the new severity"},
		{name: "same severity", user: bob, channel: open.ID, text: "severity SEV2", want: "already SEV2"},
		{name: "commander without a mention", user: bob, channel: open.ID, text: "commander bob", want: "Name the new commander with a mention"},
		{name: "commander missing", user: bob, channel: open.ID, text: "commander", want: "Name the new commander with a mention"},
		{name: "resolve twice", user: bob, channel: closed.ID, text: "resolve", want: "Incident #2 was already resolved by <@" + alice + ">"},
		{name: "resolve twice by number", user: bob, channel: devyChan, text: "resolve 2", want: "Incident #2 was already resolved"},
		{name: "update a resolved incident", user: bob, channel: closed.ID, text: "update more", want: "was resolved by <@" + alice + ">"},
		{name: "unknown severity flag", user: bob, channel: critChan, text: "open db down --sev9", want: "I don't know the severity `--sev9`"},
		{name: "list with arguments", user: bob, channel: devyChan, text: "list all", want: "takes no arguments"},
		{name: "unknown subcommand", user: bob, channel: devyChan, text: "reopen 2", want: "I don't know `/incident reopen`"},
		{name: "postmortem of an open incident", user: bob, channel: open.ID, text: "postmortem", want: "Incident #1 is still open", modal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.slack.Messages())
			creates, views := len(h.calls("conversations.create")), len(h.slack.Views())
			entries := h.timelineSize()
			h.slash(tc.user, tc.channel, "/incident", tc.text)
			m := h.reply(tc.user, tc.want)
			if strings.Count(m.Text, ". ") > 2 || strings.Contains(m.Text, "Something went wrong") {
				t.Errorf("reply is not one clear sentence: %q", m.Text)
			}
			for _, x := range h.slack.Messages()[before:] {
				if !x.Ephemeral {
					t.Errorf("posted publicly: %q", x.Text)
				}
			}
			if n := len(h.calls("conversations.create")); n != creates {
				t.Errorf("a channel was created")
			}
			if got := len(h.slack.Views()) - views; got != map[bool]int{true: 1, false: 0}[tc.modal] {
				t.Errorf("%d forms opened", got)
			}
			if got := h.timelineSize(); got != entries {
				t.Errorf("the timelines grew from %d to %d entries: state changed", entries, got)
			}
		})
	}
}

// timelineSize counts the timeline entries of incidents 1 and 2, as
// `/incident show` reports them (the store file is locked by the running
// bot): a refused command must not add any.
func (h *harness) timelineSize() int {
	h.t.Helper()
	n := 0
	for _, k := range []int{1, 2} {
		n += strings.Count(h.show(carol, k), "\n`")
	}
	return n
}

// TestShellIncident is the README's incident walk-through in the sandbox.
func TestShellIncident(t *testing.T) {
	expect, typing := startShell(t)
	expect("", "alice in #devy>")
	expect("in critical", "You are now in #critical.")
	expect("/incident open DB down --sev1", "Opened incident #1 (SEV1) in #inc-1-db-down")
	expect("", "[message 2 in #critical]")
	expect("in inc-1-db-down", "You are now in #inc-1-db-down.")
	expect("/incident update failed over to the replica", "📝 @alice: failed over to the replica")
	expect("/incident commander <@bob>", "@bob is now the incident commander")
	expect("/incident resolve replica promoted", "Incident #1 resolved by @alice after")
	expect("/incident postmortem", "What happened?")
	for _, answer := range []struct{ line, next string }{
		{"The primary database ran out of disk.", "Impact"},
		{"Checkout was down for 20 minutes.", "Why? (1 of 5)"},
		{"Disk filled up.", "Why? (2 of 5)"},
		{"Logs were not rotated.", "Why? (3 of 5)"},
		{"", "Why? (4 of 5)"},
		{"", "Why? (5 of 5)"},
		{"", "Root cause"},
		{"Log rotation was never set up.", "Category"},
		{"2,4", "Action items"},
		{`Rotate logs\nAlert on disk usage`, "The fix"},
		{"promotion #1", "What went well"},
		{"Failover worked.", "Filed the postmortem of incident #1"},
	} {
		fmt.Fprintln(typing, answer.line) // empty lines skip optional questions
		expect("", answer.next)
	}
	expect("/incident show 1", "Incident #1: DB down")
	fmt.Fprintln(typing, "quit")
}

// TestIncidentOpenSurvivesSlackFailures: once recorded, an incident stays
// open even when its channel or announcement fails; the opener is told what
// to do instead.
func TestIncidentOpenSurvivesSlackFailures(t *testing.T) {
	h := start(t, nil) // no #critical channel: the announcement fails
	h.slack.FailNext("conversations.create", 200, nil, `{"ok":false,"error":"restricted_action"}`).Require(t)
	h.slash(alice, otherChan, "/incident", "open Mail is bouncing")
	m := h.reply(alice, "Opened incident #1 (SEV2)")
	for _, want := range []string{"couldn't create its channel (restricted_action)", "`/incident update 1 <text>`", "couldn't announce it in #critical (channel_not_found)"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("reply lacks %q: %s", want, m.Text)
		}
	}
	h.slash(alice, otherChan, "/incident", "update 1 the provider is on it")
	h.reply(alice, "Added your update to incident #1")
	if !strings.Contains(h.show(alice, 1), "the provider is on it") {
		t.Errorf("the update of a channel-less incident is not on its timeline")
	}
}
