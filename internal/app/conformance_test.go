package app

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/devy-chatops/devy/conformance/check"
)

// The end-to-end tests' requests are judged against what the vendors
// publish (conformance/check): Heroku's paths, methods and bodies against
// its hyper-schema, Slack's methods and required arguments against its
// OpenAPI spec, Block Kit's limits on every message and view, Semaphore's
// API reference. The harness runs checkOutbound after Devy stopped.

// vendorSpecs are the published specs, read once for all the tests: they
// never change during a run, and each of some sixty tests reading them
// again would cost about 50 ms.
type vendorSpecs struct {
	heroku    *check.Heroku
	slack     *check.Slack
	semaphore *check.Semaphore
}

var loadSpecs = sync.OnceValues(func() (vendorSpecs, error) {
	dir, err := check.FindCorpus()
	if err != nil {
		return vendorSpecs{}, err
	}
	var s vendorSpecs
	if s.heroku, err = check.LoadHeroku(dir); err != nil {
		return s, err
	}
	if s.slack, err = check.LoadSlack(dir); err != nil {
		return s, err
	}
	s.semaphore, err = check.LoadSemaphore(dir)
	return s, err
})

// checkOutbound reports, as test errors, every rule of the vendors' specs
// Devy's requests in this test broke. Without the vendor material it says
// so and checks nothing, except in CI (CI=true), where it fails as
// check.Corpus does.
func (h *harness) checkOutbound() {
	t := h.t
	t.Helper()
	specs, err := loadSpecs()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Errorf("conformance: %v; CI=true needs it (the vendor material is a sibling of the repository clone)", err)
		} else {
			t.Logf("conformance: %v; outbound requests not checked", err)
		}
		return
	}
	seen := map[string]bool{} // each violation once per test
	report := func(what string, vs []check.Violation) {
		for _, v := range vs {
			if msg := what + ": " + v.String(); !seen[msg] {
				seen[msg] = true
				t.Errorf("outbound %s", msg)
			}
		}
	}
	hk, sem, sl := h.sb.Heroku.Calls(), h.sb.Semaphore.Calls(), h.slack.Calls()
	t.Logf("conformance: %d Heroku, %d Semaphore and %d Slack requests checked", len(hk), len(sem), len(sl))
	for _, c := range hk {
		report("Heroku "+c.Method+" "+c.Path, specs.heroku.Check(c.Method, (&url.URL{Path: c.Path}).EscapedPath(), c.Body))
	}
	for _, c := range sem {
		q, _ := url.ParseQuery(c.RawQuery)
		report("Semaphore "+c.Method+" "+c.Path, specs.semaphore.Check(c.Method, c.Path, q, c.Header))
	}
	for _, c := range sl {
		if c.Method == "response_url" {
			report("Slack response_url", append(check.MessageText(c.Values.Get("text")), check.MessageBlocks(c.Values.Get("blocks"))...))
			continue
		}
		vs := specs.slack.Check(c.Method, c.Values, c.Header.Get("Authorization") != "")
		switch c.Method {
		case "chat.postMessage", "chat.update", "chat.postEphemeral":
			vs = append(vs, check.MessageText(c.Values.Get("text"))...)
			vs = append(vs, check.MessageBlocks(c.Values.Get("blocks"))...)
		case "views.open", "views.publish", "views.update", "views.push":
			vs = append(vs, check.View(c.Values.Get("view"))...)
		}
		report("Slack "+strings.TrimSpace(c.Method), vs)
	}
}

// errorsTB records the errors a check reports instead of failing the test.
type errorsTB struct {
	testing.TB
	errs []string
}

func (e *errorsTB) Helper() {}
func (e *errorsTB) Errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

// The hook catches what the specs forbid: a chat.postMessage with no
// channel and a button value over Slack's 2,000 characters.
func TestOutboundCheckReportsViolations(t *testing.T) {
	t.Parallel()
	if _, err := loadSpecs(); err != nil {
		t.Skipf("conformance: %v", err)
	}
	h := start(t, nil)
	blocks := `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"Go"},"value":"` + strings.Repeat("v", 2001) + `"}]}]`
	req, _ := http.NewRequest("POST", h.env["SLACK_API_URL"]+"chat.postMessage", strings.NewReader(url.Values{"text": {"hi"}, "blocks": {blocks}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+botToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rec := &errorsTB{TB: t}
	judged := *h
	judged.t = rec
	judged.checkOutbound()
	h.outboundJudged = true // the violations are this test's point
	got := strings.Join(rec.errs, "\n")
	for _, want := range []string{"channel", "2000"} {
		if !strings.Contains(got, want) {
			t.Errorf("the check did not report %q; it reported:\n%s", want, got)
		}
	}
}
