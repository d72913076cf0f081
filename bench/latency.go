package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

// Latency mode (-latency): instead of bursts, one person walks the critical
// path of a promotion while Heroku, GitHub and Semaphore each answer after
// the same delay, and each step is timed in round trips (time ÷ delay):
// what a user feels when every API call crosses the internet.

const (
	requester = "U0LATREQ1"
	approver  = "U0LATAPP1"
	// promotionRoute is the call that sends a promotion to Heroku.
	promotionRoute = "POST /pipeline-promotions"
)

// step is one timed step of the walk.
type step struct {
	Name       string         `json:"name"`
	RoundTrips float64        `json:"round_trips"`
	MS         float64        `json:"ms"`
	Heroku     map[string]int `json:"heroku"`
	GitHub     []string       `json:"github"`
	Semaphore  []string       `json:"semaphore"`
}

// calls is what the test services were asked so far.
type calls struct {
	heroku            map[string]int
	github, semaphore int
}

func (w *world) calls() calls {
	gh, sem := w.otherCalls()
	return calls{heroku: w.heroku.routes(), github: gh, semaphore: sem}
}

// since fills s's API calls with those made after before.
func (w *world) since(s *step, before calls) {
	s.Heroku = map[string]int{}
	for k, v := range w.heroku.routes() {
		if d := v - before.heroku[k]; d > 0 {
			s.Heroku[k] = d
		}
	}
	for _, c := range w.sb.GitHub.Calls()[before.github:] {
		s.GitHub = append(s.GitHub, c.Method+" "+c.Path)
	}
	for _, c := range w.sb.Semaphore.Calls()[before.semaphore:] {
		s.Semaphore = append(s.Semaphore, c.Method+" "+c.Path)
	}
}

// runLatency walks status, promote and approve, cold and warm, against one
// Devy, and prints and writes the table.
func runLatency(ctx context.Context, o options, stdout io.Writer) error {
	subjects, err := prepare(ctx, o, []string{"devy"})
	if err != nil {
		return err
	}
	w := newWorld(o.latency)
	defer w.close()
	w.slowEverything(o.latency)
	env := w.env()
	for k, v := range subjects[0].extraEnv(o.workDir) {
		env[k] = v
	}
	logPath := o.workDir + "/latency.log"
	began := time.Now()
	p, err := start(subjects[0], o.cores, env, logPath)
	if err != nil {
		return err
	}
	defer p.stop(10 * time.Second)
	if err := w.slack.WaitConnected(ctx); err != nil {
		return fmt.Errorf("devy did not connect: %w; see %s", err, logPath)
	}
	connected := time.Since(began)
	// Cold means after the start-up reads: wait until no API call has been
	// made for a few round trips.
	if err := w.quiet(ctx, 4*o.latency); err != nil {
		return err
	}

	var steps []step
	walk := func(name string, f func() (time.Duration, error)) error {
		before := w.calls()
		d, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w; see %s", name, err, logPath)
		}
		// Calls still on their way (the request message's own reads) count
		// for this step.
		if err := w.quiet(ctx, 2*o.latency); err != nil {
			return err
		}
		s := step{Name: name, MS: ms(d), RoundTrips: float64(d) / float64(o.latency)}
		w.since(&s, before)
		steps = append(steps, s)
		return nil
	}
	lapse := func() error { return sleep(ctx, 6*time.Second) } // past statusTTL (5 s)
	var req fakeslack.Message
	status := func() (time.Duration, error) { return w.askStatus(ctx) }
	promote := func() (time.Duration, error) {
		var d time.Duration
		var err error
		req, d, err = w.askPromote(ctx)
		return d, err
	}
	for _, s := range []struct {
		name string
		f    func() (time.Duration, error)
	}{
		{"status (cold)", status},
		{"promote: request posted (cold)", promote},
	} {
		if err := walk(s.name, s.f); err != nil {
			return err
		}
	}
	// The warm walk needs no pending request in the way.
	if _, err := w.say(ctx, "cancel", requester); err != nil {
		return err
	}
	if err := lapse(); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		f    func() (time.Duration, error)
	}{
		{"status (warm)", status},
		{"promote: request posted (warm)", promote},
		{"approve: promotion sent", func() (time.Duration, error) { return w.approve(ctx, req) }},
	} {
		if err := walk(s.name, s.f); err != nil {
			return err
		}
	}
	printLatency(stdout, o.latency, connected, steps)
	b, err := json.MarshalIndent(map[string]any{"delay": o.latency.String(), "connected_ms": ms(connected), "steps": steps}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.out, append(b, '\n'), 0o644)
}

// quiet waits until no API call has been made for d.
func (w *world) quiet(ctx context.Context, d time.Duration) error {
	last, lastAt := -1, time.Now()
	for {
		c := w.calls()
		n := c.github + c.semaphore
		for _, v := range c.heroku {
			n += v
		}
		if n != last {
			last, lastAt = n, time.Now()
		}
		if time.Since(lastAt) >= d {
			return nil
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// say sends /deploy text as user and returns the first answer to its
// response_url and how long it took.
func (w *world) say(ctx context.Context, text, user string) (string, error) {
	_, answer, err := w.slash(ctx, text, user)
	return answer, err
}

func (w *world) slash(ctx context.Context, text, user string) (time.Duration, string, error) {
	at := time.Now()
	id := w.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", Text: text, UserID: user, ChannelID: benchChannel})
	path, ok := responsePath(w.slack, id)
	if !ok {
		return 0, "", fmt.Errorf("no response_url in the envelope of /deploy %s", text)
	}
	for {
		if a, ok := answer(w.replies.postsTo(path)); ok {
			return a.at.Sub(at), a.text, nil
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return 0, "", err
		}
	}
}

func (w *world) askStatus(ctx context.Context) (time.Duration, error) {
	d, text, err := w.slash(ctx, "status", requester)
	if err == nil && !strings.HasPrefix(text, "Pipeline ") {
		err = fmt.Errorf("status answered %q", text)
	}
	return d, err
}

// askPromote is /deploy promote, timed until the request message is posted.
func (w *world) askPromote(ctx context.Context) (fakeslack.Message, time.Duration, error) {
	seen := map[string]bool{}
	for _, m := range w.slack.Messages() {
		seen[m.TS] = true
	}
	at := time.Now()
	w.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", Text: "promote", UserID: requester, ChannelID: benchChannel})
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	m, err := w.slack.WaitMessage(cctx, func(m fakeslack.Message) bool {
		return !seen[m.TS] && m.Channel == benchChannel && strings.Contains(string(m.Blocks), "deploy.approve")
	})
	return m, time.Since(at), err
}

// approve clicks Approve on req, timed until Heroku receives the promotion.
func (w *world) approve(ctx context.Context, req fakeslack.Message) (time.Duration, error) {
	at := time.Now()
	if _, err := w.slack.ClickButton(req, "deploy.approve", approver); err != nil {
		return 0, err
	}
	for {
		if sent, ok := w.heroku.firstAfter(promotionRoute, at); ok {
			return sent.Sub(at), nil
		}
		if time.Since(at) > time.Minute {
			return 0, fmt.Errorf("no promotion reached Heroku within a minute of Approve")
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return 0, err
		}
	}
}

func printLatency(out io.Writer, delay, connected time.Duration, steps []step) {
	fmt.Fprintf(out, "\nEvery API answering after %s; exec to connected %s.\n\n", delay, connected.Round(time.Millisecond))
	fmt.Fprintf(out, "%-32s %12s %9s  %s\n", "step", "round trips", "ms", "API calls")
	for _, s := range steps {
		n := len(s.GitHub) + len(s.Semaphore)
		for _, v := range s.Heroku {
			n += v
		}
		fmt.Fprintf(out, "%-32s %12.2f %9.0f  %d (heroku %v; github %v; semaphore %v)\n", s.Name, s.RoundTrips, s.MS, n, s.Heroku, s.GitHub, s.Semaphore)
	}
	var compares, slugs int
	for _, s := range steps {
		for _, c := range s.GitHub {
			if strings.Contains(c, "/compare/") {
				compares++
			}
		}
		for k, v := range s.Heroku {
			if strings.Contains(k, "/slugs/") || strings.Contains(k, "/oci-images/") {
				slugs += v
			}
		}
	}
	fmt.Fprintf(out, "\nWhole walk: %d compare(s), %d slug read(s).\n", compares, slugs)
}
