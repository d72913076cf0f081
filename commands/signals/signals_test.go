package signals

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// Sentry's created body has firstSeen 14:02:11; promotion #12 finished 13:50.
var promo12 = Promotion{
	Number: 12, StagingApp: "shop-staging", Version: 42, Approver: "UBOB", FinishedAt: t0.Add(-10 * time.Minute),
	Commits: []Commit{
		{SHA: "3f2a9c1d0e4b5a6978c1d2e3f4a5b6c7d8e9f0a1", Message: "Read card token from the new payload", Author: "alice", SlackID: "UALICE", URL: "https://github.com/acme/shop/commit/3f2a9c1"},
		{SHA: "not-a-sha", Message: "Bump <!channel> deps", Author: "dependabot[bot]"},
	},
}

func TestSentryIssueFlow(t *testing.T) {
	d := newDesk(t, promo12)

	d.sentry(t, "issue", "issue-created.json", nil)
	ops := d.settle()
	if count(ops, "post", "CDEVY") != 1 || count(ops, "post", "") != 1 {
		t.Fatalf("created: want one post in #devy, got %+v", ops)
	}
	got := text(ops[0].Msg)
	for _, want := range []string{
		"KeyError: 'card_token'", "*New exception* in `shop`", "level `error`",
		"<https://acme.sentry.io/issues/4821937465/|SHOP-3K>", "`checkout.views.pay in charge_card`",
		"First seen 12 minutes after promotion #12 (shop-staging v42, approved by <@UBOB>). It shipped:",
		"`3f2a9c1`", "Read card token from the new payload — <@UALICE>", "Bump &lt;!channel&gt; deps — dependabot[bot]",
		"[Open incident]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("created message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(strings.ToLower(got), "caused") {
		t.Errorf("the suspect line blames:\n%s", got)
	}

	// The issue alert for the same issue goes to #critical; #devy links it.
	d.sentry(t, "event_alert", "event_alert-triggered.json", nil)
	ops = d.settle()
	if count(ops, "post", "CCRIT") != 1 || count(ops, "post", "CDEVY") != 0 {
		t.Fatalf("event_alert: want one post in #critical, got %+v", ops)
	}
	crit := text(last(t, ops, "CCRIT").Msg)
	if !strings.Contains(crit, "*Sentry alert* `Checkout errors (page on-call)` fired") || !strings.Contains(crit, "[Open incident]") {
		t.Errorf("critical message:\n%s", crit)
	}
	devy := last(t, ops, "CDEVY")
	if devy.Kind != "update" || !strings.Contains(text(devy.Msg), "Also posted as a critical alert in <#CCRIT>") {
		t.Errorf("#devy message not linked to #critical: %+v\n%s", devy.Kind, text(devy.Msg))
	}

	// Resolved updates both messages in place, posts nothing.
	d.sentry(t, "issue", "issue-resolved.json", nil)
	ops = d.settle()
	if count(ops, "post", "") != 0 || count(ops, "update", "CDEVY") != 1 || count(ops, "update", "CCRIT") != 1 {
		t.Fatalf("resolved: want one update per message, got %+v", ops)
	}
	res := text(last(t, ops, "CDEVY").Msg)
	if !strings.Contains(res, "✅ Resolved in Sentry by Ana Lopez.") || strings.Contains(res, "[Open incident]") {
		t.Errorf("resolved message:\n%s", res)
	}

	// A regression more than 30 minutes later posts anew, using the stored link.
	d.clock.Add(31 * time.Minute)
	d.sentry(t, "issue", "issue-unresolved.json", nil)
	ops = d.settle()
	if count(ops, "post", "CDEVY") != 1 {
		t.Fatalf("regression: want a new post, got %+v", ops)
	}
	reg := text(last(t, ops, "CDEVY").Msg)
	if !strings.Contains(reg, "*Regression*") || !strings.Contains(reg, "|SHOP-3K>") {
		t.Errorf("regression message:\n%s", reg)
	}
	if strings.Contains(reg, "after promotion") {
		t.Errorf("a regression weeks after the window names a promotion:\n%s", reg)
	}
}

func TestSentryIgnoredAndDuplicates(t *testing.T) {
	d := newDesk(t)
	d.Signals.cfg.Project = "shop"
	ctx := context.Background()
	for _, tt := range []struct{ name, resource, file string }{
		{"installation", "installation", "installation-created.json"},
		{"assigned", "issue", "issue-assigned.json"},
		{"resolved before it was shown", "issue", "issue-resolved.json"},
		{"error of an issue never shown", "error", "error-created.json"},
		{"metric alert resolved before it was shown", "metric_alert", "metric_alert-resolved.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d.sentry(t, tt.resource, tt.file, nil)
			if ops := d.settle(); len(ops) != 0 {
				t.Fatalf("want nothing said, got %+v", ops)
			}
		})
	}
	t.Run("another project", func(t *testing.T) {
		d.sentry(t, "issue", "issue-created.json", map[string]any{"data.issue.project.slug": "blog"})
		if ops := d.settle(); len(ops) != 0 {
			t.Fatalf("want nothing said, got %+v", ops)
		}
	})
	t.Run("the same delivery twice", func(t *testing.T) {
		body := sentryBody(t, "issue-created.json", nil)
		for i := 0; i < 2; i++ {
			if err := d.Sentry(ctx, "issue", "same-request", body); err != nil {
				t.Fatal(err)
			}
		}
		if ops := d.settle(); count(ops, "post", "") != 1 {
			t.Fatalf("want one post, got %+v", ops)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		if err := d.Sentry(ctx, "issue", "bad", []byte("{")); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestMetricAlerts(t *testing.T) {
	d := newDesk(t)
	d.sentry(t, "metric_alert", "metric_alert-warning.json", nil)
	ops := d.settle()
	if count(ops, "post", "CDEVY") != 1 || count(ops, "post", "") != 1 {
		t.Fatalf("warning: want one post in #devy, got %+v", ops)
	}
	d.sentry(t, "metric_alert", "metric_alert-critical.json", nil)
	ops = d.settle()
	if count(ops, "post", "CCRIT") != 1 || count(ops, "post", "CDEVY") != 0 || count(ops, "update", "CDEVY") != 1 {
		t.Fatalf("critical: want a post in #critical and the #devy message updated, got %+v", ops)
	}
	if m := text(last(t, ops, "CCRIT").Msg); !strings.Contains(m, "🚨 Critical: Checkout error rate") || !strings.Contains(m, "312 events in the last 5 minutes") {
		t.Errorf("critical message:\n%s", m)
	}
	d.sentry(t, "metric_alert", "metric_alert-resolved.json", nil)
	ops = d.settle()
	if count(ops, "post", "") != 0 || count(ops, "update", "") != 2 {
		t.Fatalf("resolved: want both messages updated, got %+v", ops)
	}
	if m := text(last(t, ops, "CCRIT").Msg); !strings.Contains(m, "✅") || strings.Contains(m, "[Open incident]") {
		t.Errorf("resolved message:\n%s", m)
	}
}

func TestAlertmanagerGroup(t *testing.T) {
	d := newDesk(t)
	d.alert(t, amBody(t, "firing-warning.json", nil))
	ops := d.settle()
	if count(ops, "post", "CDEVY") != 1 || count(ops, "post", "") != 1 {
		t.Fatalf("warning group: want one post in #devy, got %+v", ops)
	}

	d.alert(t, amBody(t, "firing-critical.json", nil))
	ops = d.settle()
	if count(ops, "post", "CCRIT") != 1 || count(ops, "post", "CDEVY") != 0 {
		t.Fatalf("turned critical: want a post in #critical, got %+v", ops)
	}
	if m := text(last(t, ops, "CDEVY").Msg); !strings.Contains(m, "Also posted as a critical alert in <#CCRIT>") {
		t.Errorf("#devy message does not link #critical:\n%s", m)
	}
	crit := last(t, ops, "CCRIT")
	if m := text(crit.Msg); !strings.Contains(m, "2 firing, 0 resolved") || !strings.Contains(m, "severity=critical") {
		t.Errorf("critical message:\n%s", m)
	}

	// Alertmanager re-sends the same notification after a failure: nothing new.
	d.alert(t, amBody(t, "firing-critical.json", nil))
	if ops := d.settle(); len(ops) != 0 {
		t.Fatalf("re-sent notification: want nothing, got %+v", ops)
	}

	d.alert(t, amBody(t, "resolved.json", nil))
	ops = d.settle()
	if count(ops, "post", "") != 0 || count(ops, "update", "") != 2 {
		t.Fatalf("resolved: want both messages updated in place, got %+v", ops)
	}
	if m := text(last(t, ops, "CCRIT").Msg); !strings.Contains(m, "✅ Resolved: every alert of the group has stopped firing.") {
		t.Errorf("resolved message:\n%s", m)
	}

	// It fires again: the same messages, updated.
	d.alert(t, amBody(t, "firing-critical.json", map[string]any{"alerts[1].startsAt": "2025-03-04T15:00:00Z"}))
	ops = d.settle()
	if count(ops, "post", "") != 0 || last(t, ops, "CCRIT").TS != crit.TS {
		t.Fatalf("fired again: want the #critical message reused, got %+v", ops)
	}
}

func TestOpenIncident(t *testing.T) {
	d := newDesk(t, promo12)
	ctx := context.Background()
	router := commands.NewRouter()
	d.Register(router)

	d.alert(t, amBody(t, "firing-critical.json", nil))
	post := last(t, d.settle(), "CCRIT")
	btn := button(t, post.Msg)
	click := commands.Action{ActionID: btn.ActionID, Value: btn.Value, UserID: "UCAROL", ChannelID: post.Channel, MessageTS: post.TS}

	reply, err := router.Click(ctx, click)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Opened incident #7 (SEV1) from this alert in <#CINC7>; you are its commander."; reply.Text != want || !reply.Ephemeral {
		t.Fatalf("reply = %q, want %q", reply.Text, want)
	}
	r := d.incidents.opened[0]
	if r.Severity != SEV1 || r.Title != "HighErrorRate" || r.OpenedBy != "UCAROL" || r.From != "CCRIT" ||
		len(r.Links) != 1 || !strings.Contains(strings.Join(r.Labels, " "), "severity=critical") ||
		!strings.Contains(r.Timeline[0], "Alertmanager: HighErrorRate is firing (2 alerts)") {
		t.Fatalf("incident request = %+v", r)
	}
	ops := d.settle()
	if m := text(last(t, ops, "CCRIT").Msg); !strings.Contains(m, "Incident #7 is open for this in <#CINC7>") || strings.Contains(m, "[Open incident]") {
		t.Errorf("message after opening:\n%s", m)
	}

	reply, err = router.Click(ctx, click)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Incident #7 is already open for this alert in <#CINC7>; join it there."; reply.Text != want || len(d.incidents.opened) != 1 {
		t.Fatalf("second click: %q, %d incidents", reply.Text, len(d.incidents.opened))
	}

	// While it is open, the group's news goes to its timeline.
	d.alert(t, amBody(t, "resolved.json", nil))
	ops = d.settle()
	if count(ops, "post", "") != 0 {
		t.Fatalf("resolved during the incident: no new message, got %+v", ops)
	}
	if tl := d.incidents.timeline[7]; len(tl) != 1 || !strings.Contains(tl[0], "HighErrorRate is resolved") {
		t.Fatalf("timeline = %q", tl)
	}
}

func TestOpenIncidentSeverity(t *testing.T) {
	tests := []struct {
		name    string
		deliver func(d *desk)
		channel string
		want    string
	}{
		{"exception in #devy", func(d *desk) { d.sentry(t, "issue", "issue-created.json", nil) }, "CDEVY", SEV3},
		{"Sentry issue alert", func(d *desk) { d.sentry(t, "event_alert", "event_alert-triggered.json", nil) }, "CCRIT", SEV2},
		{"Sentry metric alert", func(d *desk) { d.sentry(t, "metric_alert", "metric_alert-critical.json", nil) }, "CCRIT", SEV1},
		{"Alertmanager warning in #devy", func(d *desk) { d.alert(t, amBody(t, "firing-warning.json", nil)) }, "CDEVY", SEV3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDesk(t, promo12)
			tt.deliver(d)
			post := last(t, d.settle(), tt.channel)
			btn := button(t, post.Msg)
			if _, err := d.clickOpenIncident(context.Background(), commands.Action{Value: btn.Value, UserID: "U1", ChannelID: post.Channel, MessageTS: post.TS}); err != nil {
				t.Fatal(err)
			}
			if got := d.incidents.opened[0].Severity; got != tt.want {
				t.Fatalf("severity %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("suspect promotion recorded", func(t *testing.T) {
		d := newDesk(t, promo12)
		d.sentry(t, "issue", "issue-created.json", nil)
		post := last(t, d.settle(), "CDEVY")
		if _, err := d.clickOpenIncident(context.Background(), commands.Action{Value: button(t, post.Msg).Value, UserID: "U1", ChannelID: "CDEVY", MessageTS: post.TS}); err != nil {
			t.Fatal(err)
		}
		if got := d.incidents.opened[0].SuspectPromotion; got != 12 {
			t.Fatalf("suspect promotion %d, want 12", got)
		}
	})
}

func TestTamperedButton(t *testing.T) {
	d := newDesk(t)
	for _, v := range []string{"", "sentry:1", "sentry:" + strings.Repeat("0", 32), "<!channel>", strings.Repeat("x", 5000)} {
		reply, err := d.clickOpenIncident(context.Background(), commands.Action{Value: v, UserID: "U1", ChannelID: "CDEVY"})
		if err != nil {
			t.Fatal(err)
		}
		if want := "That button doesn't name an alert I know, so I opened nothing; use `/incident open` instead."; reply.Text != want || !reply.Ephemeral {
			t.Fatalf("value %.20q: reply %q", v, reply.Text)
		}
	}
	if len(d.incidents.opened) != 0 {
		t.Fatal("a tampered button opened an incident")
	}
}

// TestFlood sends 1,000 deliveries for 5 issues within 60 s: one message per
// issue, at most one post per second per channel, at most one edit per
// message per 5 s, and the last edit shows every event.
func TestFlood(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		file     string
		idPath   string
		channel  string
		first    string // the delivery that posts, "" when the flood itself does
	}{
		{"issue alerts", "event_alert", "event_alert-triggered.json", "data.event.issue_id", "CCRIT", ""},
		{"error events after the issue", "error", "error-created.json", "data.error.issue_id", "CDEVY", "issue-created.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDesk(t)
			ctx := context.Background()
			perIssue := 200
			if tt.first != "" {
				perIssue = 199 // the issue's own delivery is the 200th
				for i := 0; i < 5; i++ {
					d.sentry(t, "issue", tt.first, map[string]any{"data.issue.id": fmt.Sprint(1000 + i)})
					d.Flush(ctx)
				}
			}
			for i := 0; i < 5*perIssue; i++ {
				d.clock.Add(60 * time.Millisecond)
				d.sentry(t, tt.resource, tt.file, map[string]any{tt.idPath: fmt.Sprint(1000 + i%5)})
				d.Flush(ctx)
			}
			d.clock.Add(6 * time.Second)
			d.Flush(ctx)
			ops := d.poster.take()

			if n := count(ops, "post", ""); n != 5 {
				t.Fatalf("%d posts, want 5", n)
			}
			lastPost := map[string]time.Time{}
			lastWrite := map[string]time.Time{}
			final := map[string]string{}
			for _, o := range ops {
				if o.Kind == "post" {
					if prev, ok := lastPost[o.Channel]; ok && o.At.Sub(prev) < time.Second {
						t.Fatalf("two posts in %s %s apart", o.Channel, o.At.Sub(prev))
					}
					lastPost[o.Channel] = o.At
				} else if prev, ok := lastWrite[o.TS]; ok && o.At.Sub(prev) < 5*time.Second {
					t.Fatalf("message %s written twice %s apart", o.TS, o.At.Sub(prev))
				}
				if o.Channel != tt.channel {
					t.Fatalf("wrote in %s, want %s", o.Channel, tt.channel)
				}
				lastWrite[o.TS] = o.At
				final[o.TS] = text(o.Msg)
			}
			for ts, m := range final {
				if !strings.Contains(m, "…and 199 more events since this message was posted.") {
					t.Errorf("message %s does not show every event:\n%s", ts, m)
				}
			}
		})
	}
}

func TestHostileText(t *testing.T) {
	long := strings.Repeat("&<>", 2000)
	tests := []struct {
		name string
		set  map[string]any
	}{
		{"mentions in the title", map[string]any{"data.issue.title": "<!channel> <@U123> <!here> pay now"}},
		{"a link in the culprit", map[string]any{"data.issue.culprit": "<https://evil.example|click> `code`"}},
		{"a long title of entities", map[string]any{"data.issue.title": long}},
		{"a web_url that ends the link", map[string]any{"data.issue.web_url": "https://acme.sentry.io/x|<!channel>>"}},
		{"a javascript link", map[string]any{"data.issue.web_url": "javascript:alert(1)"}},
		{"a project slug with markup", map[string]any{"data.issue.project.slug": "<#C999>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDesk(t)
			d.sentry(t, "issue", "issue-created.json", tt.set)
			m := last(t, d.settle(), "CDEVY").Msg
			checkInert(t, m)
		})
	}
	t.Run("alert labels and annotations", func(t *testing.T) {
		d := newDesk(t)
		d.alert(t, amBody(t, "firing-critical.json", map[string]any{
			"groupLabels.alertname":         "<!channel> down",
			"alerts[0].labels.instance":     "<@U123>",
			"alerts[1].annotations.summary": long,
			"commonAnnotations.description": "<!here> & more",
			"alerts[0].generatorURL":        "http://prom|<!channel>",
		}))
		checkInert(t, last(t, d.settle(), "CCRIT").Msg)
	})
}

// checkInert fails unless every < in the message opens markup Devy made:
// a link to http(s), a channel or a user it chose.
func checkInert(t *testing.T, m commands.Message) {
	t.Helper()
	for _, b := range m.Blocks {
		var s string
		var limit int
		switch b := b.(type) {
		case commands.Header:
			s, limit = b.Text, maxHeader
		case commands.Section:
			s, limit = b.Text, maxSection
		case commands.Actions:
			for _, btn := range b.Buttons {
				if len(btn.Value) > maxButton {
					t.Errorf("button value of %d characters", len(btn.Value))
				}
			}
			continue
		default:
			continue
		}
		if n := len([]rune(s)); n > limit {
			t.Errorf("%T of %d characters, limit %d", b, n, limit)
		}
		for _, bad := range []string{"<!", "<@U123", "<#C999", "<https://evil", "javascript:"} {
			if strings.Contains(s, bad) {
				t.Errorf("%T contains live markup %q:\n%s", b, bad, s)
			}
		}
		for i := 0; i < len(s); i++ {
			if s[i] == '<' && !strings.HasPrefix(s[i:], "<http") && !strings.HasPrefix(s[i:], "<#CCRIT>") && !strings.HasPrefix(s[i:], "<@UBOB>") {
				t.Errorf("%T has markup at %d: %.40q", b, i, s[i:])
			}
		}
		if strings.Contains(s, "&am…") || strings.HasSuffix(strings.TrimSuffix(s, "…"), "&") {
			t.Errorf("%T cut an entity in half", b)
		}
	}
	if strings.ContainsAny(strings.ReplaceAll(m.Text, "&lt;", ""), "<") {
		t.Errorf("notification text has markup: %q", m.Text)
	}
}

func TestSuspectWindow(t *testing.T) {
	tests := []struct {
		name     string
		finished time.Time
		want     string
	}{
		{"12 minutes before", t0.Add(-10 * time.Minute), "First seen 12 minutes after promotion #12"},
		{"seconds before", t0.Add(2*time.Minute + 11*time.Second), "First seen less than a minute after promotion #12"},
		{"three hours before", t0.Add(-3 * time.Hour), ""},
		{"after the issue", t0.Add(time.Hour), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := promo12
			p.FinishedAt = tt.finished
			d := newDesk(t, p)
			d.sentry(t, "issue", "issue-created.json", nil)
			m := text(last(t, d.settle(), "CDEVY").Msg)
			if tt.want == "" && strings.Contains(m, "promotion #") || tt.want != "" && !strings.Contains(m, tt.want) {
				t.Fatalf("want %q in:\n%s", tt.want, m)
			}
		})
	}
	t.Run("regression", func(t *testing.T) {
		p := promo12
		p.FinishedAt = time.Date(2025, 3, 4, 16, 0, 2, 0, time.UTC)
		d := newDesk(t, p)
		d.sentry(t, "issue", "issue-unresolved.json", nil)
		if m := text(last(t, d.settle(), "CDEVY").Msg); !strings.Contains(m, "Regressed 40 minutes after promotion #12") {
			t.Fatalf("regression message:\n%s", m)
		}
	})
}

func TestBriefing(t *testing.T) {
	d := newDesk(t, promo12)
	ctx := context.Background()
	d.sentry(t, "issue", "issue-created.json", map[string]any{"data.issue.title": "<!channel> boom"})
	d.sentry(t, "issue", "issue-created.json", map[string]any{"data.issue.id": "77", "data.issue.shortId": "SHOP-9", "data.issue.firstSeen": "2025-03-04T13:00:00Z"})
	lines, err := d.Briefing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Exceptions first seen since promotion #12:",
		"• <https://acme.sentry.io/issues/4821937465/|SHOP-3K> &lt;!channel&gt; boom — first seen Mar 4 14:02 UTC in `shop`",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("briefing =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	empty := newDesk(t)
	if lines, _ := empty.Briefing(ctx); len(lines) != 1 || lines[0] != "No new exceptions in the last 24 hours." {
		t.Fatalf("empty briefing = %q", lines)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 4, "abc…"},
		{"ab&amp;cd", 5, "ab…"},
		{"ab&amp;cd", 8, "ab&amp;…"},
		{"ééééé", 3, "éé…"},
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
