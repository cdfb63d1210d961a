package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildAPI builds cmd/api into a temporary directory and returns the
// binary's path and how to remove it. The module root is asked of the go
// command, so this works from `go run ./test/bench` and from the
// package's test alike.
func buildAPI(ctx context.Context) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "bench-api-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { _ = os.RemoveAll(dir) }
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		remove()
		return "", nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	bin = filepath.Join(dir, "api")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/api")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if b, err := cmd.CombinedOutput(); err != nil {
		remove()
		return "", nil, fmt.Errorf("go build ./cmd/api: %w\n%s", err, b)
	}
	return bin, remove, nil
}

// raiseFileLimit lifts this process's soft RLIMIT_NOFILE to the hard
// limit; children started afterwards inherit it (calling Setrlimit also
// stops the Go runtime from restoring the original limit in children).
// It returns the limit now in force.
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	lim.Cur = lim.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// freeAddr is a loopback address with a port nobody listens on (now).
func freeAddr() (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr, nil
}

// tail keeps the last bytes written to it: a child's log, for errors.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 16 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// child is the API running as a process of its own, so that its memory
// can be read from /proc.
type child struct {
	cmd  *exec.Cmd
	addr string
	url  string
	logs *tail
	done chan struct{}
	err  error
	once sync.Once
}

// startChild runs `bin serve` with exactly env (plus PATH and HOME) on a
// free port and waits until /health/ready answers 200. The child dies with
// this process (Pdeathsig) and must be stopped with stop.
func startChild(ctx context.Context, bin string, env map[string]string) (*child, error) {
	return startChildTo(ctx, []string{bin, "serve"}, env, nil)
}

// startQuietChild is startChild with the child's output (its access log)
// thrown away by the kernel, so that reading it costs this process
// nothing while it generates load.
func startQuietChild(ctx context.Context, bin string, env map[string]string) (*child, error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	c, err := startChildTo(ctx, []string{bin, "serve"}, env, devNull)
	_ = devNull.Close() // the child has its own copy
	return c, err
}

// startChildTo runs argv, a server, as startChild does, with its output
// to out, or kept in a tail when out is nil.
func startChildTo(ctx context.Context, argv []string, env map[string]string, out *os.File) (*child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "HTTP_ADDR=" + addr}
	for k, v := range env {
		if k != "HTTP_ADDR" {
			environ = append(environ, k+"="+v)
		}
	}
	sort.Strings(environ)
	logs := &tail{}
	cmd := exec.CommandContext(context.Background(), argv[0], argv[1:]...) // stopped by stop(), and by Pdeathsig if the bench dies
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = logs, logs
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, addr: addr, url: "http://" + addr, logs: logs, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/health/ready", nil)
		if res, err := client.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("the API exited before it was ready (%w):\n%s", c.err, logs)
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("the API was not ready within 60s:\n%s", logs)
		}
	}
}

// stop ends the child: SIGTERM, then SIGKILL after 10s. It is idempotent.
func (c *child) stop() {
	c.once.Do(func() {
		select {
		case <-c.done:
			return
		default:
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

// procStatus reads fields of /proc/<pid>/status, in KiB.
func (c *child) procStatus(fields ...string) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range fields {
			if name == want {
				n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %q", name, value)
				}
				out[name] = n
			}
		}
	}
	for _, want := range fields {
		if _, ok := out[want]; !ok {
			return nil, errors.New("no " + want + " in /proc status")
		}
	}
	return out, sc.Err()
}

// rssKiB is the child's resident set (VmRSS).
func (c *child) rssKiB() (int64, error) {
	m, err := c.procStatus("VmRSS")
	return m["VmRSS"], err
}

// goMetrics scrapes the given Go runtime gauges from the child's /metrics
// (Prometheus text); missing ones are left out.
func goMetrics(url string, names ...string) map[string]float64 {
	out := map[string]float64{}
	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return out
	}
	res, err := client.Do(req)
	if err != nil {
		return out
	}
	defer func() { _ = res.Body.Close() }()
	var body bytes.Buffer
	_, _ = body.ReadFrom(res.Body)
	for _, line := range strings.Split(body.String(), "\n") {
		for _, n := range names {
			if rest, ok := strings.CutPrefix(line, n+" "); ok {
				if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
					out[n] = v
				}
			}
		}
	}
	return out
}
