package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// usage is a process's CPU time and context switches (all threads), read
// from /proc. The difference of two readings around a run, divided by the
// requests served, is the cost per request: it explains a latency ratio
// that load alone cannot (the machine's cores are shared with the load
// generator and the database).
type usage struct {
	cpu      time.Duration
	switches int64
}

// clockTick is USER_HZ, which Linux fixes at 100 for /proc's tick counts.
const clockTick = 10 * time.Millisecond

func readUsage(pid int) (usage, error) {
	var u usage
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// Fields after the command name, which is parenthesised and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return u, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(utime+stime) * clockTick
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, t := range tasks {
		s, err := os.ReadFile(filepath.Clean(t)) // a path /proc itself listed
		if err != nil {
			continue // a thread that just ended
		}
		for _, line := range strings.Split(string(s), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				u.switches += n
			}
		}
	}
	return u, nil
}

// cost adds up a server process's usage over the runs it measures.
type cost struct {
	used     usage
	requests int64
	err      error
}

// measure runs run with mk, counting the requests sent, and adds the
// server's usage over the run.
func (c *cost) measure(srv *child, run func(request) stats, mk request) stats {
	var sent atomic.Int64
	counted := func(w, i int) (*http.Request, error) {
		sent.Add(1)
		return mk(w, i)
	}
	before, err := readUsage(srv.cmd.Process.Pid)
	s := run(counted)
	after, err2 := readUsage(srv.cmd.Process.Pid)
	if err = errors.Join(err, err2); err != nil {
		c.err = err
		return s
	}
	c.used.cpu += after.cpu - before.cpu
	c.used.switches += after.switches - before.switches
	c.requests += sent.Load()
	return s
}

func (c cost) String() string {
	if c.err != nil {
		return c.err.Error()
	}
	if c.requests == 0 {
		return "no requests"
	}
	cpu := c.used.cpu / time.Duration(c.requests)
	return fmt.Sprintf("%s CPU and %.1f context switches per request", cpu.Round(time.Microsecond), float64(c.used.switches)/float64(c.requests))
}
