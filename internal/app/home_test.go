package app

import (
	"strings"
	"testing"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// Opening Home publishes the live dashboard; its Request promotion button
// posts the request in the deploy channel, and a refusal comes as a direct
// message since a Home tab is in no channel.
func TestAppHome(t *testing.T) {
	h := start(t, nil)
	h.slack.OpenHome(alice)
	var view string
	waitfor.True(t, "alice's Home", func() bool {
		v, _ := h.slack.HomeView(alice)
		view = string(v)
		return strings.Contains(view, "Pipeline shop")
	})
	for _, want := range []string{"shop-staging", "shop-prod", "Production is not locked", "No promotion pending", "No open incidents",
		"Your review apps", "Deployment frequency", "Request promotion", commands.ActionRequest} {
		if !strings.Contains(view, want) {
			t.Errorf("Home lacks %q:\n%s", want, view)
		}
	}

	id, err := h.slack.ClickHomeButton(alice, commands.ActionRequest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.slack.WaitAck(h.ctx(), id); err != nil {
		t.Fatalf("click not acknowledged: %v", err)
	}
	h.wait("the request from Home", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && !m.Ephemeral && strings.Contains(m.Text, "Promotion request #1")
	})

	// The request is pending now: a second click is refused, in a DM.
	if _, err := h.slack.ClickHomeButton(alice, commands.ActionRequest); err != nil {
		t.Fatal(err)
	}
	h.wait("the refusal as a direct message", func(m fakeslack.Message) bool {
		return m.Channel == "D"+alice[1:] && strings.Contains(m.Text, "Request #1")
	})
}
