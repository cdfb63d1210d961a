package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the test sentinel monitors.
const SentinelMaster = "mymaster"

// RedisSentinel is a primary, one replica and one sentinel (quorum 1) of
// a test's own, tuned to fail over within a few seconds.
type RedisSentinel struct {
	Primary, Replica, Sentinel *RedisServer
}

// StartRedisSentinel starts the three servers and waits until the
// sentinel knows the replica, so a failover has somewhere to go. The
// sentinel runs as redis-server --sentinel, the binary package
// redis-server installs (Debian's redis-sentinel is the same binary).
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	primary := StartRedisServer(t)
	replica := startRedis(t, freePort(t, false), []string{"--replicaof", "127.0.0.1", strconv.Itoa(primary.Port())})
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	// Sentinel rewrites its file, so it must be its own and writable.
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(
		"sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 3000\n", SentinelMaster, primary.Port())), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := &RedisServer{t: t, port: freePort(t, false), pidFile: filepath.Join(t.TempDir(), "sentinel.pid"),
		args: []string{conf, "--sentinel"}}
	sentinel.startSentinel()
	t.Cleanup(sentinel.Stop)
	s := &RedisSentinel{Primary: primary, Replica: replica, Sentinel: sentinel}
	c := s.SentinelClient()
	defer func() { _ = c.Close() }()
	if !Eventually(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		replicas, err := c.Replicas(ctx, SentinelMaster).Result()
		return err == nil && len(replicas) == 1 && !strings.Contains(replicas[0]["flags"], "down") &&
			replicas[0]["master-link-status"] == "ok"
	}) {
		t.Fatal("the sentinel never saw a healthy replica")
	}
	return s
}

// startSentinel starts a sentinel: the same as Start, but sentinel mode
// refuses the persistence flags.
func (s *RedisServer) startSentinel() {
	s.t.Helper()
	requireBinary(s.t, "redis-server", "redis-server")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{}, s.args...), "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--daemonize", "yes", "--pidfile", s.pidFile)
	out, err := exec.CommandContext(ctx, "redis-server", args...).CombinedOutput() //nolint:gosec // a port this helper picked and files in the test's own directory
	if err != nil {
		s.t.Fatalf("redis-server --sentinel: %v: %s", err, out)
	}
	s.waitAndReadPID(ctx)
}

// URL is REDIS_URL for REDIS_MODE=sentinel.
func (s *RedisSentinel) URL() string {
	return "redis://" + s.Sentinel.Addr() + "/0?master_name=" + SentinelMaster
}

// SentinelClient talks to the sentinel itself.
func (s *RedisSentinel) SentinelClient() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.Sentinel.Addr(), DialTimeout: time.Second})
}

// PrimaryAddr is the address the sentinel currently calls the primary.
func (s *RedisSentinel) PrimaryAddr(t testing.TB) string {
	t.Helper()
	c := s.SentinelClient()
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
	if err != nil {
		t.Fatalf("sentinel get-master-addr-by-name: %v", err)
	}
	return addr[0] + ":" + addr[1]
}

// RedisCluster is a three-master Redis Cluster of a test's own.
type RedisCluster struct {
	Nodes []*RedisServer
}

// StartRedisCluster starts three cluster-enabled servers, joins them with
// redis-cli --cluster create and waits for cluster_state:ok on each.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	requireBinary(t, "redis-cli", "redis-tools")
	c := &RedisCluster{}
	addrs := []string{}
	for range 3 {
		port := freePort(t, true)
		n := startRedis(t, port, []string{"--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
			"--cluster-config-file", filepath.Join(t.TempDir(), "nodes.conf")})
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput() //nolint:gosec // addresses this helper picked
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v: %s", err, out)
	}
	for _, n := range c.Nodes {
		rc := redis.NewClient(&redis.Options{Addr: n.Addr(), DialTimeout: time.Second})
		ok := Eventually(30*time.Second, func() bool {
			ictx, icancel := context.WithTimeout(ctx, time.Second)
			defer icancel()
			info, err := rc.ClusterInfo(ictx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		_ = rc.Close()
		if !ok {
			t.Fatalf("cluster node %s never reached cluster_state:ok", n.Addr())
		}
	}
	return c
}

// URL is REDIS_URL for REDIS_MODE=cluster: one node, the others as addr.
func (c *RedisCluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr()
	for i, n := range c.Nodes[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + n.Addr()
	}
	return u
}
