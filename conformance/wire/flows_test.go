package wire

import (
	"strings"
	"testing"
)

// TestFlows drives the main user flows once through the binary, so that
// the outbound checks see realistic traffic: status, a promotion approved
// by a second person, a review app, an incident.
func TestFlows(t *testing.T) {
	d := start(t)

	d.slash(alice, chanDevy, "/deploy", "status")
	d.waitPost("/deploy status", contains("", "shop-staging", "shop-prod"))

	d.slash(alice, chanDevy, "/deploy", "promote")
	req := d.waitPost("the promotion request", func(p post) bool {
		return p.Via == "chat.postMessage" && p.Channel == chanDevy && strings.Contains(p.Blocks, "deploy.approve")
	})
	for _, want := range []string{"shop-staging", "db/migrate/20260105_add_search.rb", "SENTRY_DSN"} {
		if !strings.Contains(req.all(), want) {
			t.Errorf("the promotion request does not show %q: %s", want, req.all())
		}
	}
	d.click(bob, req, "deploy.approve")
	d.waitPost("the promotion's outcome", func(p post) bool {
		return p.Via == "chat.update" && p.TS == req.TS && strings.Contains(p.all(), "Promoted")
	})
	if !d.heroku.didPromote() {
		t.Errorf("no POST /pipeline-promotions after Approve")
	}

	d.slash(alice, chanOther, "/reviewapp", "7")
	d.waitPost("the review app's URL", contains("", "shop-pr-7.herokuapp.com"))

	d.slash(alice, chanCrit, "/incident", "open Checkout is down")
	d.waitPost("the incident's announcement", contains(chanCrit, "Checkout is down"))
	d.finish()
}
