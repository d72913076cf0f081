// Command bench measures Devy against Slack's Bolt for JavaScript and a bare
// slack-go socketmode loop (the library floor), in the same run on the same
// machine (issue 8).
//
// For each subject, rate and run it starts a fresh test Slack (Web API and
// Socket Mode), a test Heroku that answers after -heroku-delay, the sandbox's
// GitHub and Semaphore, and the subject as a child process; it measures the
// time to the subject's socket connecting and its idle RSS, then sends a
// burst of /deploy status slash commands (every -click-every'th envelope a
// Reject click instead) at the rate for -duration, and records for each
// envelope the time from send to acknowledgement and for each command the
// time to the first post on its response_url, the peak RSS (VmHWM), CPU time
// and the Heroku calls made. Each figure printed is the median of -runs runs.
//
// Run it from the repository root, after `npm ci` in bench/bolt:
//
//	bash bench/run.sh            # npm ci, then go run ./bench
//	go run ./bench -runs 1 -subjects devy,floor -rates 50
//
// It reports and never asserts: absolute times depend on the machine.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	subjects    []string
	rates       []int
	duration    time.Duration
	runs        int
	herokuDelay time.Duration
	clickEvery  int
	settle      time.Duration
	idle        time.Duration
	out         string
	root        string
	devyBin     string
	baselineBin string
	cpuProfile  string
	pin         bool
	cores       cores
	node        string
	workDir     string
	latency     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	subjects := fs.String("subjects", "devy,bolt,floor,floor-reply", "subjects to run, comma-separated: devy, baseline (needs -baseline), bolt, floor, floor-reply")
	rates := fs.String("rates", "50,200,1000", "envelopes per second, comma-separated; one burst per rate")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each burst")
	// Five, not three: this kind of VM's neighbours move a p99 of about a
	// millisecond by as much again from run to run, and a median of three
	// follows a single bad run too easily.
	fs.IntVar(&o.runs, "runs", 7, "runs per subject and rate; figures are their medians")
	fs.DurationVar(&o.herokuDelay, "heroku-delay", 2*time.Second, "how long the test Heroku takes to answer each request")
	fs.IntVar(&o.clickEvery, "click-every", 10, "every Nth envelope is a Reject button click instead of /deploy status (0: none)")
	fs.DurationVar(&o.settle, "settle", 90*time.Second, "how long to wait after a burst for every ack and reply")
	// A bot in service has finished its start-up reads long before the first
	// command; the wait lets every subject get there before the burst.
	// Devy's start-up reads take about 8 s against a Heroku answering in 2 s
	// and are reused for 5 s: the wait must pass both for a cold burst.
	fs.DurationVar(&o.idle, "idle", 20*time.Second, "wait after connecting before reading idle RSS and starting the burst")
	fs.StringVar(&o.out, "out", "bench/results.json", "where to write the JSON results")
	fs.StringVar(&o.root, "root", ".", "the repository root (where go.mod is)")
	fs.StringVar(&o.devyBin, "devy", "", "path to a built devy binary (default: go build the checkout)")
	// Old and new builds in one run alternate trial by trial, so that the
	// machine's drift falls on both alike.
	fs.StringVar(&o.baselineBin, "baseline", "", "path to another devy build (say, of an earlier commit), run as the subject \"baseline\" for comparison")
	fs.StringVar(&o.node, "node", "node", "the Node.js executable for the Bolt subject")
	// The driver shares the cores with the subject; its own cost is part of
	// every figure, so it should be easy to look at.
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the driver's own CPU profile here")
	fs.DurationVar(&o.latency, "latency", 0, "latency mode: every API answers after this delay (250ms is a US dyno to api.heroku.com); times status, promote and approve in round trips, cold and warm, instead of bursts")
	fs.BoolVar(&o.pin, "pin", true, "run the driver on CPU 0 and each subject on the other CPUs (Linux, taskset, 2+ CPUs); false: all share every core")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*subjects, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.subjects = append(o.subjects, s)
		}
	}
	for _, s := range strings.Split(*rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || r <= 0 {
			return o, fmt.Errorf("-rates: %q is not a positive whole number of envelopes per second", s)
		}
		o.rates = append(o.rates, r)
	}
	switch {
	case len(o.subjects) == 0:
		return o, errors.New("-subjects: name at least one of devy, baseline, bolt, floor, floor-reply")
	case o.runs < 1:
		return o, errors.New("-runs: at least 1")
	case o.duration <= 0:
		return o, errors.New("-duration: must be positive")
	case o.clickEvery < 0:
		return o, errors.New("-click-every: 0 or more")
	}
	if _, err := os.Stat(filepath.Join(o.root, "go.mod")); err != nil {
		return o, fmt.Errorf("-root %s: no go.mod there; run from the repository root or pass -root: %w", o.root, err)
	}
	// Subjects run in other directories (Bolt in bench/bolt).
	root, err := filepath.Abs(o.root)
	if err != nil {
		return o, fmt.Errorf("-root: %w", err)
	}
	o.root = root
	return o, nil
}

// results is the JSON written to -out.
type results struct {
	Started  time.Time      `json:"started"`
	Machine  map[string]any `json:"machine"`
	Settings map[string]any `json:"settings"`
	Rows     []row          `json:"rows"`
	Targets  []target       `json:"targets"`
	Trials   []trial        `json:"trials"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	// Pinned before anything is built or started, so that every thread and
	// child of the driver starts where it belongs.
	if o.cores, err = pinDriver(o.pin); err != nil {
		// A machine that cannot pin still runs the benchmark, as before.
		fmt.Fprintf(stderr, "bench: not pinned, everything shares the cores: %v\n", err)
	}
	o.workDir, err = os.MkdirTemp("", "devy-bench-")
	if err != nil {
		return err
	}
	if o.latency > 0 {
		return runLatency(ctx, o, stdout)
	}
	subjects, err := prepare(ctx, o, o.subjects)
	if err != nil {
		return err
	}
	res := results{Started: time.Now().UTC(), Machine: machine(ctx, o), Settings: map[string]any{
		"subjects": o.subjects, "rates": o.rates, "duration": o.duration.String(), "runs": o.runs,
		"heroku_delay": o.herokuDelay.String(), "click_every": o.clickEvery, "settle": o.settle.String(),
		"pinned": o.cores.pinned, "subject_cpus": o.cores.subject,
	}}
	fmt.Fprintf(stdout, "bench: %s; subject logs in %s\n", describe(res.Machine), o.workDir)
	if o.cores.pinned {
		fmt.Fprintf(stdout, "bench: the driver runs on CPU 0, each subject on CPU %s (-pin=false to share)\n", o.cores.subject)
	}

	// Runs are the outer loop and subjects the inner one, so that whatever
	// else the machine does drifts over all subjects alike.
	for run := 1; run <= o.runs; run++ {
		for _, rate := range o.rates {
			for _, s := range subjects {
				t, err := runTrial(ctx, o, s, run, rate)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					t.Error = err.Error()
				}
				res.Trials = append(res.Trials, t)
				fmt.Fprintf(stdout, "  run %d  %-5s %4d/s  sent %4d (lag ≤ %s)  ack p99 %-9s answer p50 %-9s heroku %5d  peak %6.1f MiB  load %.1f  steal %s  %s\n",
					run, s.name, rate, t.Sent, fmtMS(t.SendLagMaxMS), fmtMS(t.AckP99MS), fmtMS(t.ReplyP50MS), t.HerokuCalls, t.PeakRSSMiB, t.LoadAvg, fmtMS(t.StealMS), t.Error)
			}
		}
	}

	res.Rows = summarize(res.Trials)
	res.Targets = checkTargets(res.Rows)
	fmt.Fprintf(stdout, "\nMedians of %d run(s); bursts of %s, Heroku answering after %s, every %dth envelope a click:\n\n",
		o.runs, o.duration, o.herokuDelay, o.clickEvery)
	printTable(stdout, res.Rows)
	if n := failures(res.Trials); n > 0 {
		fmt.Fprintf(stdout, "\n%d trial(s) did not settle:\n", n)
		printFailures(stdout, res.Trials)
	}
	fmt.Fprintln(stdout, "\nHeroku endpoints hit per burst:")
	printRoutes(stdout, res.Rows)
	if len(res.Targets) > 0 {
		fmt.Fprintln(stdout, "\nTargets for Devy (issues 8, 17 and 21):")
		printTargets(stdout, res.Targets)
	}

	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	abs, _ := filepath.Abs(o.out)
	fmt.Fprintf(stdout, "\nResults written to %s\n", abs)
	return nil
}

func failures(ts []trial) int {
	n := 0
	for _, t := range ts {
		if t.Error != "" {
			n++
		}
	}
	return n
}

// machine names what the figures were measured on.
func machine(ctx context.Context, o options) map[string]any {
	m := map[string]any{"goos": runtime.GOOS, "goarch": runtime.GOARCH, "cpus": runtime.NumCPU(), "go": runtime.Version()}
	if h, err := os.Hostname(); err == nil {
		m["host"] = h
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if k, v, ok := strings.Cut(strings.SplitN(string(b), "\n", 2)[0], ":"); ok && k == "MemTotal" {
			m["memory"] = strings.TrimSpace(v)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	if out, err := exec.CommandContext(ctx, o.node, "--version").Output(); err == nil {
		m["node"] = strings.TrimSpace(string(out))
	}
	return m
}

func describe(m map[string]any) string {
	return fmt.Sprintf("%v, %v CPUs, %v, Linux %v, %v, Node %v", m["cpu"], m["cpus"], m["memory"], m["kernel"], m["go"], m["node"])
}
