package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// subject is one program under test: how to start it against a world.
type subject struct {
	name string
	// argv starts it; the first element is the executable.
	argv []string
	dir  string
	// extraEnv is added to the world's variables.
	extraEnv func(trialDir string) map[string]string
}

// prepare builds or locates each requested subject.
func prepare(ctx context.Context, o options, names []string) ([]subject, error) {
	var out []subject
	for _, name := range names {
		switch name {
		case "devy", "baseline":
			bin := o.devyBin
			if name == "baseline" {
				if bin = o.baselineBin; bin == "" {
					return nil, errors.New("-subjects: baseline needs -baseline, the path to another build of Devy")
				}
			} else if bin == "" {
				bin = filepath.Join(o.workDir, "devy")
				if err := goBuild(ctx, o.root, bin, "."); err != nil {
					return nil, err
				}
			}
			out = append(out, subject{name: name, argv: []string{bin}, dir: o.workDir,
				extraEnv: func(trialDir string) map[string]string {
					// No weekly digest: on its day it would post during
					// start-up and move the start-up figure.
					return map[string]string{"DEVY_DB_PATH": filepath.Join(trialDir, "devy.db"), "LOG_LEVEL": "info", "DEVY_DIGEST": "off"}
				}})
		case "floor", "floor-reply":
			bin := filepath.Join(o.workDir, "floor")
			if err := goBuild(ctx, o.root, bin, "./bench/floor"); err != nil {
				return nil, err
			}
			s := subject{name: name, argv: []string{bin}, dir: o.workDir}
			if name == "floor-reply" {
				s.extraEnv = func(string) map[string]string { return map[string]string{"FLOOR_REPLY": "1"} }
			}
			out = append(out, s)
		case "bolt":
			dir := filepath.Join(o.root, "bench", "bolt")
			if _, err := os.Stat(filepath.Join(dir, "node_modules", "@slack", "bolt", "package.json")); err != nil {
				return nil, fmt.Errorf("bolt: @slack/bolt is not installed; run `npm ci` in %s (bash bench/run.sh does): %w", dir, err)
			}
			out = append(out, subject{name: name, argv: []string{o.node, filepath.Join(dir, "app.js")}, dir: dir})
		default:
			return nil, fmt.Errorf("-subjects: unknown subject %q; choose from devy, baseline, bolt, floor, floor-reply", name)
		}
	}
	return out, nil
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// process is a running subject.
type process struct {
	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

func start(s subject, c cores, env map[string]string, logPath string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", s.name, err)
	}
	cmd := c.command(s.argv)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Only what the subject needs, plus PATH and HOME for the runtimes: no
	// stray SLACK_* or HEROKU_* from the caller's shell.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: start: %w", s.name, err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1), log: logf}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// stop asks the subject to end (SIGTERM) and kills it if it has not within
// grace.
func (p *process) stop(grace time.Duration) {
	defer p.log.Close()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the subject has already ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case err := <-p.done:
		p.done <- err
		if err == nil {
			err = errors.New("exited with status 0")
		}
		return true, err
	default:
		return false, nil
	}
}

// memory is a process's resident set from /proc/<pid>/status, in bytes:
// VmRSS now and VmHWM, the peak since it started.
type memory struct{ rss, hwm int64 }

func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &m.rss
		case "VmHWM":
			dst = &m.hwm
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("/proc/%d/status %s: %w", pid, key, err)
		}
		*dst = kb * 1024
	}
	return m, sc.Err()
}

// cpuTime is user plus system CPU time the process has used, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after ")" are fixed.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	const ticksPerSecond = 100 // USER_HZ, fixed at 100 on Linux's ABI
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}
