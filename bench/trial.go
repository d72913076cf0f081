package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

// trial is one fresh subject process, started against a fresh world, given
// one burst at one rate. Every figure in the report is a median of trials.
type trial struct {
	Subject string `json:"subject"`
	Rate    int    `json:"rate"`
	Run     int    `json:"run"`

	StartupMS  float64 `json:"startup_ms"` // exec to its socket connected (hello sent)
	IdleRSSMiB float64 `json:"idle_rss_mib"`
	PeakRSSMiB float64 `json:"peak_rss_mib"` // VmHWM after the burst settled
	CPUSeconds float64 `json:"cpu_seconds"`  // used from burst start to settled

	Sent     int `json:"sent"`
	Commands int `json:"commands"`
	Clicks   int `json:"clicks"`

	Acked      int     `json:"acked"`
	AcksOver3s int     `json:"acks_over_3s"` // includes envelopes never acknowledged
	AckP50MS   float64 `json:"ack_p50_ms"`
	AckP99MS   float64 `json:"ack_p99_ms"`
	AckMaxMS   float64 `json:"ack_max_ms"`
	// The same, timed when the test Slack read each acknowledgement rather
	// than when it arrived: the difference is the driver's own delay.
	AckReadP50MS float64 `json:"ack_read_p50_ms"`
	AckReadP99MS float64 `json:"ack_read_p99_ms"`
	AckReadMaxMS float64 `json:"ack_read_max_ms"`
	// AckStamped is how many acknowledgements had a kernel arrival time;
	// the others count from when they were read.
	AckStamped int `json:"ack_stamped"`

	// First reply: the first post on a command's response_url, whatever it
	// says (Devy's "working on it" note counts).
	FirstP50MS float64 `json:"first_reply_p50_ms"`
	FirstP99MS float64 `json:"first_reply_p99_ms"`
	FirstMaxMS float64 `json:"first_reply_max_ms"`
	// Answer: the first post that is not a progress note, i.e. the status.
	Replied     int            `json:"answered"` // /deploy status commands answered
	ReplyP50MS  float64        `json:"answer_p50_ms"`
	ReplyP99MS  float64        `json:"answer_p99_ms"`
	ReplyMaxMS  float64        `json:"answer_max_ms"`
	AnswerTexts map[string]int `json:"answer_texts"` // the answers' first words, counted: to see errors

	HerokuCalls    int            `json:"heroku_calls"`
	HerokuRoutes   map[string]int `json:"heroku_routes"`
	GitHubCalls    int            `json:"github_calls"`
	SemaphoreCalls int            `json:"semaphore_calls"`

	// AckP99BySecondMS is the ack p99 of envelopes sent in each second of
	// the burst: it shows when acknowledgements slow down (for example once
	// replies start flowing).
	AckP99BySecondMS []float64 `json:"ack_p99_by_second_ms"`
	// DriverCPUSeconds is what this driver (test Slack, test Heroku and the
	// sender) used from burst start to settled: it runs on the same cores.
	DriverCPUSeconds float64 `json:"driver_cpu_seconds"`
	SendLagMaxMS     float64 `json:"send_lag_max_ms"` // how far the driver fell behind its schedule
	SettledMS        float64 `json:"settled_ms"`      // burst start to everything acknowledged and answered
	// LoadAvg is the machine's 1-minute load average when the burst
	// settled: above the CPU count, something else competed for the cores.
	LoadAvg float64 `json:"load_avg_1m"`
	// StealMS is the time the hypervisor ran something else while this
	// machine's CPUs had work, summed over the CPUs, from burst start to
	// settled (/proc/stat): on a shared virtual machine, a burst with steal
	// was slowed by a neighbour, not by the subject.
	StealMS float64 `json:"steal_ms"`
	Log     string  `json:"log"`
	Error   string  `json:"error,omitempty"`
}

type sent struct {
	id    string
	at    time.Time
	click bool
}

// replies says whether a subject answers at all: the floor only acknowledges.
func replies(name string) bool { return name != "floor" }

func runTrial(ctx context.Context, o options, s subject, run, rate int) (trial, error) {
	t := trial{Subject: s.name, Rate: rate, Run: run}
	dir := filepath.Join(o.workDir, fmt.Sprintf("%s-%d-run%d", s.name, rate, run))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return t, err
	}
	t.Log = filepath.Join(dir, "output.log")

	w := newWorld(o.herokuDelay)
	defer w.close()
	env := w.env()
	if s.extraEnv != nil {
		for k, v := range s.extraEnv(dir) {
			env[k] = v
		}
	}

	began := time.Now()
	p, err := start(s, o.cores, env, t.Log)
	if err != nil {
		return t, err
	}
	defer p.stop(10 * time.Second)
	pid := p.cmd.Process.Pid

	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = w.slack.WaitConnected(cctx)
	cancel()
	if err != nil {
		if dead, why := p.exited(); dead {
			return t, fmt.Errorf("%s exited before connecting (%v); see %s", s.name, why, t.Log)
		}
		return t, fmt.Errorf("%s did not connect: %w; see %s", s.name, err, t.Log)
	}
	t.StartupMS = ms(time.Since(began))

	// Let start-up work (auth.test, JIT, GC) finish before calling it idle.
	if err := sleep(ctx, o.idle); err != nil {
		return t, err
	}
	idle, err := readMemory(pid)
	if err != nil {
		return t, err
	}
	t.IdleRSSMiB = mib(idle.rss)

	// Clicks land on one message, as a burst of people clicking Reject on a
	// request that is no longer open.
	msgTS := w.slack.AddMessage(benchChannel, "", "U0BENCHREQ", "Promotion request #999999 waits for approval.")
	herokuBefore := w.heroku.calls.Load()
	ghBefore, semBefore := w.otherCalls()
	stealBefore := stealTime()
	cpuBefore, err := cpuTime(pid)
	if err != nil {
		return t, err
	}
	driverBefore, err := cpuTime(os.Getpid())
	if err != nil {
		return t, err
	}

	n := int(float64(rate) * o.duration.Seconds())
	sends := make([]sent, 0, n)
	burstStart := time.Now()
	var maxLag time.Duration
	for i := range n {
		due := burstStart.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		maxLag = max(maxLag, time.Since(due))
		user := fmt.Sprintf("U0B%07X", i) // one person per envelope, Slack's ID shape
		at := time.Now()
		if o.clickEvery > 0 && i%o.clickEvery == o.clickEvery-1 {
			id := w.slack.SendBlockAction(fakeslack.BlockAction{ActionID: "deploy.reject", Value: "999999",
				Text: "Reject", UserID: user, ChannelID: benchChannel, MessageTS: msgTS})
			sends = append(sends, sent{id: id, at: at, click: true})
			t.Clicks++
			continue
		}
		id := w.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", Text: "status",
			UserID: user, ChannelID: benchChannel})
		sends = append(sends, sent{id: id, at: at})
		t.Commands++
	}
	t.Sent = len(sends)
	t.SendLagMaxMS = ms(maxLag)

	// Wait, polling gently, until every envelope is acknowledged and (for
	// subjects that answer) every one answered, or the settle time is up.
	deadline := time.Now().Add(o.settle)
	for {
		if dead, why := p.exited(); dead {
			t.Error = fmt.Sprintf("%s exited during the burst: %v", s.name, why)
			break
		}
		acked := countAcks(w.slack.Acks())
		if acked >= len(sends) && (!replies(s.name) || w.replies.answered() >= len(sends)) {
			break
		}
		if time.Now().After(deadline) {
			t.Error = fmt.Sprintf("not settled after %s: %d/%d acknowledged, %d/%d answered", o.settle, acked, len(sends), w.replies.answered(), len(sends))
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return t, err
		}
	}
	t.SettledMS = ms(time.Since(burstStart))
	t.LoadAvg = loadAverage()
	t.StealMS = ms(stealTime() - stealBefore)
	if driverAfter, err := cpuTime(os.Getpid()); err == nil {
		t.DriverCPUSeconds = (driverAfter - driverBefore).Seconds()
	}
	if exited, _ := p.exited(); !exited {
		cpuAfter, err := cpuTime(pid)
		if err == nil {
			t.CPUSeconds = (cpuAfter - cpuBefore).Seconds()
		}
		peak, err := readMemory(pid)
		if err == nil {
			t.PeakRSSMiB = mib(peak.hwm)
		}
	}
	// Calls still on their way count for this burst too.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return t, err
	}
	t.HerokuCalls = int(w.heroku.calls.Load() - herokuBefore)
	t.HerokuRoutes = w.heroku.routes()
	gh, sem := w.otherCalls()
	t.GitHubCalls, t.SemaphoreCalls = gh-ghBefore, sem-semBefore

	measure(&t, w, sends, burstStart)
	return t, nil
}

func countAcks(acks []fakeslack.Ack) int {
	seen := map[string]bool{}
	for _, a := range acks {
		if a.EnvelopeID != "" {
			seen[a.EnvelopeID] = true
		}
	}
	return len(seen)
}

// measure fills in the latency figures: send to first ack of each envelope,
// and send to the first post on each command's response_url.
func measure(t *trial, w *world, sends []sent, burstStart time.Time) {
	ackAt := map[string]fakeslack.Ack{}
	for _, a := range w.slack.Acks() {
		if _, ok := ackAt[a.EnvelopeID]; !ok && a.EnvelopeID != "" {
			ackAt[a.EnvelopeID] = a
		}
	}
	var acks, reads, firsts, answers []time.Duration
	var bySecond [][]time.Duration
	t.AnswerTexts = map[string]int{}
	for _, s := range sends {
		// Clocks start when the frame went out, not when the sender began
		// building it: the test Slack's own work (and its lock, busy with
		// the subject's replies) is not the subject's latency.
		if at, ok := w.slack.EnvelopeWritten(s.id); ok {
			s.at = at
		}
		a, ok := ackAt[s.id]
		if !ok {
			t.AcksOver3s++
		} else {
			at := a.Received
			if !a.Arrived.IsZero() {
				at = a.Arrived
				t.AckStamped++
			}
			d := at.Sub(s.at)
			acks = append(acks, d)
			reads = append(reads, a.Received.Sub(s.at))
			sec := int(s.at.Sub(burstStart) / time.Second)
			for len(bySecond) <= sec {
				bySecond = append(bySecond, nil)
			}
			bySecond[sec] = append(bySecond[sec], d)
			if d > 3*time.Second {
				t.AcksOver3s++
			}
		}
		if s.click {
			continue
		}
		path, ok := responsePath(w.slack, s.id)
		if !ok {
			continue
		}
		ps := w.replies.postsTo(path)
		if len(ps) > 0 {
			firsts = append(firsts, ps[0].at.Sub(s.at))
		}
		if a, ok := answer(ps); ok {
			answers = append(answers, a.at.Sub(s.at))
			t.AnswerTexts[firstWords(a.text, 4)]++
		}
	}
	t.Acked = len(acks)
	t.AckP50MS, t.AckP99MS, t.AckMaxMS = quantiles(acks)
	t.AckReadP50MS, t.AckReadP99MS, t.AckReadMaxMS = quantiles(reads)
	t.FirstP50MS, t.FirstP99MS, t.FirstMaxMS = quantiles(firsts)
	for _, ds := range bySecond {
		_, p99, _ := quantiles(ds)
		t.AckP99BySecondMS = append(t.AckP99BySecondMS, p99)
	}
	t.Replied = len(answers)
	t.ReplyP50MS, t.ReplyP99MS, t.ReplyMaxMS = quantiles(answers)
}

// responsePath is the path of the response_url the fake put in an
// envelope's payload.
func responsePath(s *fakeslack.Server, envelopeID string) (string, bool) {
	env, ok := s.Envelope(envelopeID)
	if !ok {
		return "", false
	}
	var e struct {
		Payload struct {
			ResponseURL string `json:"response_url"`
		} `json:"payload"`
	}
	if json.Unmarshal(env, &e) != nil {
		return "", false
	}
	u, err := url.Parse(e.Payload.ResponseURL)
	if err != nil || !strings.HasPrefix(u.Path, "/response/") {
		return "", false
	}
	return u.Path, true
}

// loadAverage is the 1-minute load average from /proc/loadavg, 0 if unreadable.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// stealTime is the steal time of all CPUs so far (/proc/stat, the "cpu"
// line's eighth field); zero where there is no /proc/stat.
func stealTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, _ := strconv.ParseInt(f[8], 10, 64)
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(b int64) float64        { return float64(b) / (1 << 20) }
