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
	// args are what follows redis-server on its command line, before the
	// port, pid file and daemon flags; nil is a plain server.
	args []string
}

// StartRedisServer starts a private redis-server (no persistence) and
// stops it when the test ends.
func StartRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	return startRedis(t, freePort(t, false), nil)
}

func startRedis(t testing.TB, port int, args []string) *RedisServer {
	t.Helper()
	requireBinary(t, "redis-server", "redis-server")
	s := &RedisServer{t: t, port: port, pidFile: filepath.Join(t.TempDir(), "redis.pid"), args: args}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func requireBinary(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed (apt-get install %s): %v", name, pkg, err)
	}
}

// freePort picks a free loopback port; withBus also wants port+10000
// free, the port a cluster node's bus listens on.
func freePort(t testing.TB, withBus bool) int {
	t.Helper()
	for range 100 {
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !withBus {
			return port
		}
		if port+10000 > 65535 {
			continue
		}
		bus, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// Port is the server's port.
func (s *RedisServer) Port() int { return s.port }

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start (re)starts the server on its port and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{}, s.args...), "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile", s.pidFile,
		"--dir", filepath.Dir(s.pidFile)) // a replica's full sync writes an RDB file there
	out, err := exec.CommandContext(ctx, "redis-server", args...).CombinedOutput() //nolint:gosec // ports this helper picked and files in the test's own directory
	if err != nil {
		s.t.Fatalf("redis-server: %v: %s", err, out)
	}
	s.waitAndReadPID(ctx)
}

// waitAndReadPID waits until the server answers PING and reads its pid.
func (s *RedisServer) waitAndReadPID(ctx context.Context) {
	s.t.Helper()
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
