package testkit

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server of a test's own, on a free loopback port,
// that the test may stop and start again without touching the shared one.
type RedisServer struct {
	t       testing.TB
	port    int
	pidFile string
	pid     int
}

// StartRedisServer starts a private redis-server (no persistence) and
// stops it when the test ends.
func StartRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &RedisServer{t: t, port: port, pidFile: filepath.Join(t.TempDir(), "redis.pid")}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start (re)starts the server on its port and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", //nolint:gosec // a port this helper picked and a file in the test's own directory
		"--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile", s.pidFile).CombinedOutput()
	if err != nil {
		s.t.Fatalf("redis-server: %v: %s", err, out)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), DialTimeout: time.Second})
	defer func() { _ = c.Close() }()
	if !Eventually(10*time.Second, func() bool {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		return c.Ping(pctx).Err() == nil
	}) {
		s.t.Fatalf("redis-server on %s never answered", s.Addr())
	}
	raw, err := os.ReadFile(s.pidFile)
	if err != nil {
		s.t.Fatalf("redis-server pid file: %v", err)
	}
	if s.pid, err = strconv.Atoi(strings.TrimSpace(string(raw))); err != nil {
		s.t.Fatalf("redis-server pid file %q: %v", raw, err)
	}
}

// Stop kills the server (by its pid) and waits until its port is closed.
func (s *RedisServer) Stop() {
	if s.pid == 0 {
		return
	}
	_ = syscall.Kill(s.pid, syscall.SIGKILL)
	s.pid = 0
	Eventually(10*time.Second, func() bool {
		conn, err := (&net.Dialer{Timeout: 100 * time.Millisecond}).DialContext(context.Background(), "tcp", s.Addr())
		if err != nil {
			return true
		}
		_ = conn.Close()
		return false
	})
}
