package testkit

import (
	"context"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStartHint is how to start the Redis the tests expect.
const RedisStartHint = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`

// RedisURL is the Redis tests use: TEST_REDIS_URL, or the local one.
func RedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// RedisAddr is RedisURL's host:port.
func RedisAddr() string {
	u, err := url.Parse(RedisURL())
	if err != nil || u.Host == "" {
		return "127.0.0.1:6379"
	}
	return u.Host
}

// RequireRedis fails the test, saying how to start Redis, when it is down.
func RequireRedis(t TB) {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	opt.DialTimeout = 2 * time.Second
	c := redis.NewClient(opt)
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s is not reachable (%v); start it with: %s", RedisAddr(), err, RedisStartHint)
	}
}
