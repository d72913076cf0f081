package app

import (
	"strings"
	"testing"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

// /deploy stats is one of /deploy's subcommands, routed through the core
// router like the others, and answers in the channel.
func TestDeployStats(t *testing.T) {
	h := start(t, nil)
	h.slash(alice, devyChan, "/deploy", "stats 7d")
	m := h.wait("the stats reply", func(m fakeslack.Message) bool {
		return m.Channel == devyChan && strings.Contains(blocksText(m), "last 7 days")
	})
	if text := blocksText(m); !strings.Contains(text, "No promotions in the last 7 days") {
		t.Errorf("stats with no records said:\n%s", text)
	}
	h.slash(alice, devyChan, "/deploy", "help")
	h.reply(alice, "/deploy stats [7d|30d|90d]")
}
