package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuUse is CPU time spent during load runs: by this process and by the
// PostgreSQL backends connected to the benchmark's database.
type cpuUse struct {
	self, db time.Duration
	requests int64
}

func (u cpuUse) add(v cpuUse) cpuUse {
	return cpuUse{self: u.self + v.self, db: u.db + v.db, requests: u.requests + v.requests}
}

func (u cpuUse) String() string {
	if u.requests == 0 {
		return "n/a"
	}
	per := func(d time.Duration) time.Duration { return (d / time.Duration(u.requests)).Round(time.Microsecond) }
	return fmt.Sprintf("%v (this process %v, PostgreSQL %v)", per(u.self+u.db), per(u.self), per(u.db))
}

// cpuMeter follows the CPU time of this process and of the database's
// backends during a run. Pools open and close connections under load, so
// the backends are polled: one that ends between two polls loses at most
// one interval of its time.
type cpuMeter struct {
	self  time.Duration
	first map[int]time.Duration // at the start, or 0 for later backends
	last  map[int]time.Duration
	stopc chan struct{}
	done  chan struct{}
}

func startCPU(ctx context.Context, pool *pgxpool.Pool) *cpuMeter {
	m := &cpuMeter{self: selfCPU(), first: map[int]time.Duration{}, last: map[int]time.Duration{},
		stopc: make(chan struct{}), done: make(chan struct{})}
	m.poll(ctx, pool, true)
	go func() {
		defer close(m.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stopc:
				return
			case <-t.C:
				m.poll(ctx, pool, false)
			}
		}
	}()
	return m
}

func (m *cpuMeter) poll(ctx context.Context, pool *pgxpool.Pool, initial bool) {
	for _, pid := range backends(ctx, pool) {
		cpu, ok := procCPU(pid)
		if !ok {
			continue
		}
		if _, seen := m.first[pid]; !seen {
			m.first[pid] = 0
			if initial {
				m.first[pid] = cpu
			}
		}
		m.last[pid] = cpu
	}
}

// stop returns the CPU spent since start.
func (m *cpuMeter) stop(ctx context.Context, pool *pgxpool.Pool, requests int64) cpuUse {
	close(m.stopc)
	<-m.done
	m.poll(ctx, pool, false)
	u := cpuUse{self: selfCPU() - m.self, requests: requests}
	for pid, last := range m.last {
		u.db += last - m.first[pid]
	}
	return u
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backends are the server processes of every session on pool's database.
func backends(ctx context.Context, pool *pgxpool.Pool) []int {
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procCPU is a process's user and system time from /proc, false when it
// is gone or not readable; the kernel counts it in ticks of 1/100 s.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is the state, field 3
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, err1 == nil && err2 == nil
}
