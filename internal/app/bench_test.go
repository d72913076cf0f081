package app

import (
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/sandbox"
)

// BenchmarkApproveToPromotionCall measures, through the real bot, the time
// from an Approve click entering the socket to Heroku receiving the
// promotion call, and counts the Heroku calls a promotion and a
// /deploy status cost (Heroku allows 4,500 an hour per account).
func BenchmarkApproveToPromotionCall(b *testing.B) {
	h := start(b, nil)
	herokuCalls := func() int { return len(h.sb.Heroku.Calls()) }

	before := herokuCalls()
	h.slash(carol, devyChan, "/deploy", "status")
	h.wait("status", func(m fakeslack.Message) bool { return m.User == carol && strings.Contains(m.Text, "Pipeline shop") })
	statusCalls := herokuCalls() - before

	var promotionCalls int
	var clickToCall time.Duration
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 {
			// Staging moves ahead again, with green CI.
			sha := h.sb.GitHub.Commit("Change "+time.Now().String(), "dave", "app/x.rb")
			h.sb.Heroku.Release(sandbox.StagingApp, sha, "dave@acme.test", "deploy")
			h.sb.Semaphore.AddPipeline("master", sha, "done", "passed")
		}
		req := h.request(alice)
		n := h.promotions()
		calls := herokuCalls()
		b.StartTimer()
		start := time.Now()
		if _, err := h.slack.ClickButton(req, "deploy.approve", bob); err != nil {
			b.Fatal(err)
		}
		for h.promotions() == n {
			time.Sleep(50 * time.Microsecond)
		}
		clickToCall += time.Since(start)
		b.StopTimer()
		h.finished(req, "succeeded")
		promotionCalls += herokuCalls() - calls
	}
	b.ReportMetric(float64(clickToCall.Microseconds())/float64(b.N)/1000, "ms-click-to-promotion-call/op")
	b.ReportMetric(float64(promotionCalls)/float64(b.N), "heroku-calls/promotion")
	b.ReportMetric(float64(statusCalls), "heroku-calls/status")
}
