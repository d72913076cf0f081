package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// quantiles returns p50, p99 and max in milliseconds (nearest rank); zeros
// for no samples.
func quantiles(ds []time.Duration) (p50, p99, maxMS float64) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return ms(rank(0.50)), ms(rank(0.99)), ms(s[len(s)-1])
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// row is one subject at one rate: each figure the median over its runs.
type row struct {
	Subject string `json:"subject"`
	Rate    int    `json:"rate"`
	Runs    int    `json:"runs"`

	Sent     float64 `json:"sent"`
	Commands float64 `json:"commands"`

	AckP50MS   float64 `json:"ack_p50_ms"`
	AckP99MS   float64 `json:"ack_p99_ms"`
	AckMaxMS   float64 `json:"ack_max_ms"`
	AcksOver3s float64 `json:"acks_over_3s"`
	// The runs' lowest and highest ack p99: how far one run's figure can
	// be trusted on this machine.
	AckP99LowMS  float64 `json:"ack_p99_low_ms"`
	AckP99HighMS float64 `json:"ack_p99_high_ms"`
	// AckReadP99MS times each ack when the test Slack read it instead of
	// when it arrived: what the figures were before arrival stamps.
	AckReadP99MS float64 `json:"ack_read_p99_ms"`
	// Unstamped counts, over all runs, acks timed when read because the
	// kernel gave no arrival stamp (not Linux, for example).
	Unstamped int `json:"acks_unstamped"`

	FirstP50MS float64 `json:"first_reply_p50_ms"`
	FirstP99MS float64 `json:"first_reply_p99_ms"`
	Replied    float64 `json:"answered"`
	ReplyP50MS float64 `json:"answer_p50_ms"`
	ReplyP99MS float64 `json:"answer_p99_ms"`
	ReplyMaxMS float64 `json:"answer_max_ms"`

	HerokuCalls        float64        `json:"heroku_calls"`
	HerokuPerCommand   float64        `json:"heroku_calls_per_command"`
	GitHubCalls        float64        `json:"github_calls"`
	SemaphoreCalls     float64        `json:"semaphore_calls"`
	PeakRSSMiB         float64        `json:"peak_rss_mib"`
	IdleRSSMiB         float64        `json:"idle_rss_mib"`
	StartupMS          float64        `json:"startup_ms"`
	CPUSeconds         float64        `json:"cpu_seconds"`
	SendLagMaxMS       float64        `json:"send_lag_max_ms"`
	DriverCPU          float64        `json:"driver_cpu_seconds"`
	SettledMS          float64        `json:"settled_ms"`
	FailedTrials       int            `json:"failed_trials"`
	WorstAcksOver3s    int            `json:"worst_acks_over_3s"` // the worst run, not the median: the 3 s rule is about "ever"
	WorstAckMaxMS      float64        `json:"worst_ack_max_ms"`
	HerokuRoutesOfRun1 map[string]int `json:"heroku_routes_run1,omitempty"`
}

func summarize(trials []trial) []row {
	type key struct {
		subject string
		rate    int
	}
	var order []key
	groups := map[key][]trial{}
	for _, t := range trials {
		k := key{t.Subject, t.Rate}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	}
	var rows []row
	for _, k := range order {
		ts := groups[k]
		med := func(f func(trial) float64) float64 {
			var xs []float64
			for _, t := range ts {
				xs = append(xs, f(t))
			}
			return median(xs)
		}
		r := row{Subject: k.subject, Rate: k.rate, Runs: len(ts),
			Sent:           med(func(t trial) float64 { return float64(t.Sent) }),
			Commands:       med(func(t trial) float64 { return float64(t.Commands) }),
			AckP50MS:       med(func(t trial) float64 { return t.AckP50MS }),
			AckP99MS:       med(func(t trial) float64 { return t.AckP99MS }),
			AckMaxMS:       med(func(t trial) float64 { return t.AckMaxMS }),
			AckReadP99MS:   med(func(t trial) float64 { return t.AckReadP99MS }),
			AcksOver3s:     med(func(t trial) float64 { return float64(t.AcksOver3s) }),
			FirstP50MS:     med(func(t trial) float64 { return t.FirstP50MS }),
			FirstP99MS:     med(func(t trial) float64 { return t.FirstP99MS }),
			Replied:        med(func(t trial) float64 { return float64(t.Replied) }),
			ReplyP50MS:     med(func(t trial) float64 { return t.ReplyP50MS }),
			ReplyP99MS:     med(func(t trial) float64 { return t.ReplyP99MS }),
			ReplyMaxMS:     med(func(t trial) float64 { return t.ReplyMaxMS }),
			HerokuCalls:    med(func(t trial) float64 { return float64(t.HerokuCalls) }),
			GitHubCalls:    med(func(t trial) float64 { return float64(t.GitHubCalls) }),
			PeakRSSMiB:     med(func(t trial) float64 { return t.PeakRSSMiB }),
			IdleRSSMiB:     med(func(t trial) float64 { return t.IdleRSSMiB }),
			StartupMS:      med(func(t trial) float64 { return t.StartupMS }),
			CPUSeconds:     med(func(t trial) float64 { return t.CPUSeconds }),
			SendLagMaxMS:   med(func(t trial) float64 { return t.SendLagMaxMS }),
			DriverCPU:      med(func(t trial) float64 { return t.DriverCPUSeconds }),
			SettledMS:      med(func(t trial) float64 { return t.SettledMS }),
			SemaphoreCalls: med(func(t trial) float64 { return float64(t.SemaphoreCalls) }),
		}
		if r.Commands > 0 {
			r.HerokuPerCommand = r.HerokuCalls / r.Commands
		}
		r.AckP99LowMS = math.Inf(1)
		for _, t := range ts {
			r.AckP99LowMS = min(r.AckP99LowMS, t.AckP99MS)
			r.AckP99HighMS = max(r.AckP99HighMS, t.AckP99MS)
			r.Unstamped += t.Acked - t.AckStamped
			if t.Error != "" {
				r.FailedTrials++
			}
			r.WorstAcksOver3s = max(r.WorstAcksOver3s, t.AcksOver3s)
			r.WorstAckMaxMS = max(r.WorstAckMaxMS, t.AckMaxMS)
			if t.Run == 1 {
				r.HerokuRoutesOfRun1 = t.HerokuRoutes
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subject\trate/s\tsent\tack p50\tack p99\tack max\tacks >3s or lost*\t1st reply p50\tanswer p50\tanswer p99\tanswer max\tanswered\theroku calls\tpeak RSS\tidle RSS\tstart-up\tCPU s\tdriver CPU s\t")
	for _, r := range rows {
		reply := func(v float64) string {
			if !replies(r.Subject) {
				return "-"
			}
			return fmtMS(v)
		}
		answered := "-"
		if replies(r.Subject) {
			answered = fmt.Sprintf("%.0f/%.0f", r.Replied, r.Commands)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.1f MiB\t%.1f MiB\t%s\t%.1f\t%.1f\t\n",
			r.Subject, r.Rate, r.Sent, fmtMS(r.AckP50MS), fmtMS(r.AckP99MS), fmtMS(r.AckMaxMS), float64(r.WorstAcksOver3s),
			reply(r.FirstP50MS), reply(r.ReplyP50MS), reply(r.ReplyP99MS), reply(r.ReplyMaxMS), answered,
			r.HerokuCalls, r.PeakRSSMiB, r.IdleRSSMiB, fmtMS(r.StartupMS), r.CPUSeconds, r.DriverCPU)
	}
	tw.Flush()
	fmt.Fprintln(w, "  * in the worst run, not the median: Slack drops what is not acknowledged in 3 s")
	unstamped := 0
	for _, r := range rows {
		unstamped += r.Unstamped
	}
	if unstamped > 0 {
		fmt.Fprintf(w, "  %d acks carried no kernel arrival stamp and were timed when the test Slack read them (later, never earlier)\n", unstamped)
	}
}

// printFailures lists the trials that did not settle or could not run.
func printFailures(w io.Writer, trials []trial) {
	for _, t := range trials {
		if t.Error != "" {
			fmt.Fprintf(w, "  %s %d/s run %d: %s (log: %s)\n", t.Subject, t.Rate, t.Run, t.Error, t.Log)
		}
	}
}

func fmtMS(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// target is one of issue 8's aims, checked against the medians.
type target struct {
	Rate   int    `json:"rate,omitempty"`
	Name   string `json:"name"`
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
}

// checkTargets compares Devy with the floor and Bolt-JS wherever the run has
// the subjects to compare with. It reports; it never fails the run.
func checkTargets(rows []row) []target {
	at := map[string]map[int]row{}
	var rates []int
	for _, r := range rows {
		if at[r.Subject] == nil {
			at[r.Subject] = map[int]row{}
		}
		at[r.Subject][r.Rate] = r
		if !slices.Contains(rates, r.Rate) {
			rates = append(rates, r.Rate)
		}
	}
	var out []target
	add := func(rate int, name string, met bool, format string, args ...any) {
		out = append(out, target{Rate: rate, Name: name, Met: met, Detail: fmt.Sprintf(format, args...)})
	}
	for _, rate := range rates {
		d, ok := at["devy"][rate]
		if !ok {
			continue
		}
		if f, ok := at["floor"][rate]; ok {
			add(rate, "ack p99 ≤ 1.5× floor", d.AckP99MS <= 1.5*f.AckP99MS, "devy %s vs floor %s (%.2f×); runs %s vs %s; timed when read %s vs %s (%.2f×)",
				fmtMS(d.AckP99MS), fmtMS(f.AckP99MS), ratio(d.AckP99MS, f.AckP99MS), spread(d), spread(f),
				fmtMS(d.AckReadP99MS), fmtMS(f.AckReadP99MS), ratio(d.AckReadP99MS, f.AckReadP99MS))
		}
		if b, ok := at["baseline"][rate]; ok {
			// Issue 17: a new build against an old one, alternating.
			add(rate, "ack p99 inside the baseline's range", d.AckP99MS <= b.AckP99HighMS, "devy %s vs baseline %s; runs %s vs %s",
				fmtMS(d.AckP99MS), fmtMS(b.AckP99MS), spread(d), spread(b))
			add(rate, "peak RSS ≤ 1.1× baseline", d.PeakRSSMiB <= 1.1*b.PeakRSSMiB, "devy %.1f MiB vs baseline %.1f MiB (%+.0f%%)",
				d.PeakRSSMiB, b.PeakRSSMiB, 100*(ratio(d.PeakRSSMiB, b.PeakRSSMiB)-1))
			add(rate, "Heroku calls per burst as the baseline's", d.HerokuCalls == b.HerokuCalls, "devy %.0f vs baseline %.0f", d.HerokuCalls, b.HerokuCalls)
		}
		if f, ok := at["floor"][rate]; ok {
			// Issue 21: exec to connected.
			add(rate, "start-up ≤ 1.5× floor", d.StartupMS <= 1.5*f.StartupMS, "devy %s vs floor %s (%.2f×)", fmtMS(d.StartupMS), fmtMS(f.StartupMS), ratio(d.StartupMS, f.StartupMS))
		}
		if f, ok := at["floor-reply"][rate]; ok {
			// Not one of the targets: the same bound against the
			// floor that also answers, i.e. against the work Devy's
			// acknowledgements must share the cores with.
			add(rate, "(info) ≤ 1.5× floor-reply", d.AckP99MS <= 1.5*f.AckP99MS, "devy %s vs floor-reply %s (%.2f×); runs %s vs %s",
				fmtMS(d.AckP99MS), fmtMS(f.AckP99MS), ratio(d.AckP99MS, f.AckP99MS), spread(d), spread(f))
		}
		if b, ok := at["bolt"][rate]; ok {
			add(rate, "ack p99 ≤ ½ Bolt", d.AckP99MS <= 0.5*b.AckP99MS, "devy %s vs bolt %s (%.2f×)", fmtMS(d.AckP99MS), fmtMS(b.AckP99MS), ratio(d.AckP99MS, b.AckP99MS))
		}
		add(rate, "no ack later than 3 s", d.WorstAcksOver3s == 0 && d.WorstAckMaxMS <= 3000, "worst run: %d late or missing, slowest %s", d.WorstAcksOver3s, fmtMS(d.WorstAckMaxMS))
		if b, ok := at["bolt"][rate]; ok {
			// Judged on the answer: a progress note is not the status.
			add(rate, "answer no later than Bolt's", d.ReplyP50MS <= b.ReplyP50MS && d.ReplyP99MS <= b.ReplyP99MS && d.Replied >= d.Commands,
				"p50 %s vs %s, p99 %s vs %s, answered %.0f/%.0f (first post p50 %s vs %s)", fmtMS(d.ReplyP50MS), fmtMS(b.ReplyP50MS),
				fmtMS(d.ReplyP99MS), fmtMS(b.ReplyP99MS), d.Replied, d.Commands, fmtMS(d.FirstP50MS), fmtMS(b.FirstP50MS))
			add(rate, "peak RSS ≤ ⅓ Bolt", d.PeakRSSMiB <= b.PeakRSSMiB/3, "devy %.1f MiB vs bolt %.1f MiB (%.2f×)", d.PeakRSSMiB, b.PeakRSSMiB, ratio(d.PeakRSSMiB, b.PeakRSSMiB))
		}
		// "Dozens, not thousands": under a hundred calls for the whole burst.
		add(rate, "Heroku calls per burst: dozens", d.HerokuCalls < 100, "%.0f calls for %.0f /deploy status (%.2f per command)", d.HerokuCalls, d.Commands, d.HerokuPerCommand)
	}
	return out
}

// spread is the range of a row's per-run ack p99s, e.g. "0.67–0.79".
func spread(r row) string {
	return fmt.Sprintf("%.2f–%.2f", r.AckP99LowMS, r.AckP99HighMS)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.Inf(1)
	}
	return a / b
}

func printTargets(w io.Writer, ts []target) {
	for _, t := range ts {
		mark := "MISS"
		if t.Met {
			mark = "met "
		}
		fmt.Fprintf(w, "  %s %5d/s  %-32s %s\n", mark, t.Rate, t.Name, t.Detail)
	}
}

// routes prints which Heroku endpoints a burst hit, most first.
func printRoutes(w io.Writer, rows []row) {
	for _, r := range rows {
		if len(r.HerokuRoutesOfRun1) == 0 {
			continue
		}
		var parts []string
		for k, v := range r.HerokuRoutesOfRun1 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
		slices.Sort(parts)
		fmt.Fprintf(w, "  %s %d/s (run 1): %s\n", r.Subject, r.Rate, strings.Join(parts, ", "))
	}
}
