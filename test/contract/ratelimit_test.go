package contract

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	memratelimit "github.com/scoped-api/foundation/adapters/memory/ratelimit"
	redisadapter "github.com/scoped-api/foundation/adapters/redis"
	redisratelimit "github.com/scoped-api/foundation/adapters/redis/ratelimit"
	"github.com/scoped-api/foundation/ports/shared"
	"github.com/scoped-api/foundation/test/testkit"
)

// rateLimiters gives, per adapter, a function returning the limiter of
// one instance. For Redis every call is another instance (its own client)
// on the same keys; in memory every instance counts alone, so the
// cross-instance case is Redis's only.
var rateLimiters = map[string]func(t *testing.T) func() shared.RateLimiter{
	"memory": func(*testing.T) func() shared.RateLimiter {
		l := memratelimit.New(nil)
		return func() shared.RateLimiter { return l }
	},
	"redis": func(t *testing.T) func() shared.RateLimiter {
		prefix := testkit.RandomName("contract_") + ":"
		return func() shared.RateLimiter {
			return redisratelimit.New(newRedisClient(t), prefix, time.Second, zap.NewNop())
		}
	},
}

func allow(t *testing.T, l shared.RateLimiter, p shared.RateLimitPolicy, key string) shared.RateLimitDecision {
	t.Helper()
	d, err := l.Allow(context.Background(), p, key)
	if err != nil {
		t.Fatalf("Allow(%s, %s): %v", p.Name, key, err)
	}
	return d
}

func TestRateLimiter(t *testing.T) {
	for name, newLimiter := range rateLimiters {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			t.Run("the burst is allowed, then refused with a retry delay", func(t *testing.T) {
				l := newLimiter(t)()
				p := shared.RateLimitPolicy{Name: "writes", Rate: 60, Period: time.Minute, Burst: 3}
				for i, want := range []int{2, 1, 0} {
					d := allow(t, l, p, "alice")
					if !d.Allowed || d.Remaining != want || d.RetryAfter != 0 {
						t.Fatalf("request %d: %+v, want allowed with %d remaining", i, d, want)
					}
					if d.ResetAfter <= time.Duration(i)*time.Second || d.ResetAfter > time.Duration(i+1)*time.Second {
						t.Errorf("request %d: reset after %s, want about %ds", i, d.ResetAfter, i+1)
					}
				}
				d := allow(t, l, p, "alice")
				if d.Allowed || d.Remaining != 0 {
					t.Fatalf("over the burst: %+v", d)
				}
				if d.RetryAfter <= 0 || d.RetryAfter > time.Second {
					t.Errorf("retry after %s, want (0, 1s] at one per second", d.RetryAfter)
				}
				if d.ResetAfter <= 2*time.Second || d.ResetAfter > 3*time.Second {
					t.Errorf("reset after %s, want about 3s", d.ResetAfter)
				}
			})

			t.Run("what remains is exact at a high rate", func(t *testing.T) {
				l := newLimiter(t)()
				p := shared.RateLimitPolicy{Name: "reads", Rate: 600, Period: time.Minute, Burst: 100}
				for i := range 3 {
					if d := allow(t, l, p, "alice"); !d.Allowed || d.Remaining != 99-i {
						t.Errorf("read %d: %+v, want %d remaining", i, d, 99-i)
					}
				}
			})

			t.Run("keys and policies are budgets of their own", func(t *testing.T) {
				l := newLimiter(t)()
				writes := shared.RateLimitPolicy{Name: "writes", Rate: 60, Period: time.Minute, Burst: 1}
				reads := shared.RateLimitPolicy{Name: "reads", Rate: 60, Period: time.Minute, Burst: 1}
				if !allow(t, l, writes, "bob").Allowed || allow(t, l, writes, "bob").Allowed {
					t.Fatal("bob's writes: want one allowed, then refused")
				}
				if !allow(t, l, writes, "carol").Allowed {
					t.Error("carol's writes were spent by bob")
				}
				if !allow(t, l, reads, "bob").Allowed {
					t.Error("bob's reads were spent by his writes")
				}
			})

			t.Run("the budget refills at the rate", func(t *testing.T) {
				l := newLimiter(t)()
				p := shared.RateLimitPolicy{Name: "fast", Rate: 20, Period: time.Second, Burst: 1}
				if !allow(t, l, p, "dave").Allowed || allow(t, l, p, "dave").Allowed {
					t.Fatal("want one allowed, then refused")
				}
				time.Sleep(80 * time.Millisecond) // one request every 50ms
				if d := allow(t, l, p, "dave"); !d.Allowed {
					t.Errorf("after one emission interval: %+v", d)
				}
			})

			t.Run("instances share one budget where the adapter says so", func(t *testing.T) {
				if name != "redis" {
					return
				}
				newInstance := newLimiter(t)
				one, two := newInstance(), newInstance()
				p := shared.RateLimitPolicy{Name: "writes", Rate: 60, Period: time.Minute, Burst: 2}
				if !allow(t, one, p, "erin").Allowed || !allow(t, two, p, "erin").Allowed {
					t.Fatal("the burst of two across two instances was refused")
				}
				if allow(t, one, p, "erin").Allowed || allow(t, two, p, "erin").Allowed {
					t.Error("the third and fourth requests across two instances were allowed: budgets are per instance")
				}
			})
		})
	}
}

// TestRedisRateLimiterFailsFastAndRecovers: a Redis that hangs costs at
// most the command timeout once, then nothing until the next probe; the
// outage is reported until Redis answers again.
func TestRedisRateLimiterFailsFastAndRecovers(t *testing.T) {
	testkit.RequireRedis(t)
	proxy := testkit.NewProxy(t, testkit.RedisAddr())
	client, err := redisadapter.Open("redis://"+proxy.Addr()+"/0", redisadapter.Settings{PoolSize: 4, ConnectTimeout: time.Second, CommandTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	const timeout = 300 * time.Millisecond
	l := redisratelimit.New(client, testkit.RandomName("contract_")+":", timeout, zap.NewNop())
	p := shared.RateLimitPolicy{Name: "writes", Rate: 60, Period: time.Minute, Burst: 5}
	allow(t, l, p, "frank")
	if since, _ := l.Outage(); !since.IsZero() {
		t.Fatalf("an outage while Redis answers: %s", since)
	}

	proxy.Freeze()
	start := time.Now()
	if _, err := l.Allow(context.Background(), p, "frank"); err == nil {
		t.Fatal("a frozen Redis decided")
	}
	if took := time.Since(start); took > timeout+200*time.Millisecond {
		t.Errorf("the call with Redis frozen took %s, want about the %s timeout", took, timeout)
	}
	since, lastErr := l.Outage()
	if since.IsZero() || lastErr == nil {
		t.Errorf("no outage reported: %s %v", since, lastErr)
	}
	start = time.Now()
	if _, err := l.Allow(context.Background(), p, "frank"); !errors.Is(err, redisratelimit.ErrUnavailable) {
		t.Errorf("second call during the outage: %v, want ErrUnavailable without asking Redis", err)
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("the call during the outage took %s", took)
	}

	proxy.Cut()
	proxy.Restore()
	if !testkit.Eventually(10*time.Second, func() bool {
		_, err := l.Allow(context.Background(), p, "frank")
		return err == nil
	}) {
		t.Fatal("the limiter never came back after Redis did")
	}
	if since, _ := l.Outage(); !since.IsZero() {
		t.Errorf("the outage is still reported after recovery: %s", since)
	}
}
