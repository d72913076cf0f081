package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
)

// cores says which CPUs the driver and the subjects run on. The driver
// (test Slack, test Heroku, the sender) does real work for every reply a
// subject posts; on shared cores that work competes with the driver reading
// acknowledgements and with the subject itself, so a subject that answers
// is measured partly against the test servers. Pinned, the driver keeps
// CPU 0 and every subject gets the others alike: Slack's servers are not on
// a bot's cores either.
type cores struct {
	pinned  bool
	subject string // taskset's CPU list for subjects, e.g. "1" or "1-3"
}

// pinDriver moves this process, every thread of it, onto CPU 0 and returns
// the CPU list subjects get. It needs Linux, taskset and two CPUs or more.
func pinDriver(on bool) (cores, error) {
	if !on {
		return cores{}, nil
	}
	n := runtime.NumCPU()
	if n < 2 {
		return cores{}, errors.New("-pin: needs two CPUs or more")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return cores{}, fmt.Errorf("-pin: taskset (util-linux) not found: %w", err)
	}
	// -a: all of the process's threads; the runtime's later threads inherit
	// the affinity of the thread that starts them.
	if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		return cores{}, fmt.Errorf("-pin: taskset on the driver: %w: %s", err, out)
	}
	runtime.GOMAXPROCS(1)
	c := cores{pinned: true, subject: "1"}
	if n > 2 {
		c.subject = fmt.Sprintf("1-%d", n-1)
	}
	return c, nil
}

// command is argv as run on the subjects' CPUs.
func (c cores) command(argv []string) *exec.Cmd {
	if !c.pinned {
		return exec.Command(argv[0], argv[1:]...)
	}
	return exec.Command("taskset", append([]string{"-c", c.subject}, argv...)...)
}
