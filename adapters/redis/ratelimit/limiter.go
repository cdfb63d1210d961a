// Package ratelimit is the request limiter shared by every instance: GCRA
// in Redis (github.com/go-redis/redis_rate), one key per policy and caller
// or client address.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/ports/shared"
)

var _ shared.RateLimiter = (*Limiter)(nil)

// ErrUnavailable is returned, without asking Redis, while Redis is known
// to be down and the next probe is not due yet.
var ErrUnavailable = errors.New("ratelimit: Redis is unavailable")

// Limiter asks Redis for every decision. Each call is bounded by the
// command timeout even when Redis hangs; after a failure, calls fail at
// once for one timeout's length, then one call probes Redis again, so a
// dead Redis costs a request nothing and is noticed when it is back.
type Limiter struct {
	rl      *redis_rate.Limiter
	timeout time.Duration
	log     *zap.Logger
	now     func() time.Time

	down atomic.Bool
	mu   sync.Mutex
	// downSince is when the current outage began; nextProbe when a call
	// may ask Redis again; probing that one call is doing so.
	downSince time.Time
	nextProbe time.Time
	probing   bool
	lastErr   error
}

// New builds a limiter on client whose keys start with keyPrefix (then
// redis_rate's own "rate:"); each call waits at most timeout.
func New(client redis.UniversalClient, keyPrefix string, timeout time.Duration, log *zap.Logger) *Limiter {
	return &Limiter{
		rl:      redis_rate.NewLimiter(prefixed{UniversalClient: client, prefix: keyPrefix}),
		timeout: timeout,
		log:     log,
		now:     time.Now,
	}
}

// Allow spends one request of policy's budget for key.
func (l *Limiter) Allow(ctx context.Context, p shared.RateLimitPolicy, key string) (shared.RateLimitDecision, error) {
	if l.down.Load() && !l.mayProbe() {
		return shared.RateLimitDecision{}, ErrUnavailable
	}
	res, err := l.allow(ctx, p, key)
	l.record(err)
	if err != nil {
		return shared.RateLimitDecision{}, err
	}
	d := shared.RateLimitDecision{Allowed: res.Allowed > 0, ResetAfter: max(res.ResetAfter, 0)}
	if d.Allowed {
		d.Remaining = remaining(p, d.ResetAfter)
	} else {
		d.RetryAfter = max(res.RetryAfter, 0)
	}
	return d, nil
}

// remaining is what is left of the burst when it is whole again after
// resetAfter. redis_rate's own figure truncates a float computed from
// seconds since 2017, which is often a hair under the whole number (98.999
// for 99); the tolerance is a thousandth of a request.
func remaining(p shared.RateLimitPolicy, resetAfter time.Duration) int {
	interval := float64(p.Period) / float64(max(p.Rate, 1))
	left := float64(p.Burst) - float64(resetAfter)/interval
	return min(max(int(math.Floor(left+1e-3)), 0), p.Burst)
}

type outcome struct {
	res *redis_rate.Result
	err error
}

// allow runs the script, bounded by the timeout: the client applies its
// own read timeout (and one retry) whatever the context says.
func (l *Limiter) allow(ctx context.Context, p shared.RateLimitPolicy, key string) (*redis_rate.Result, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	done := make(chan outcome, 1)
	limit := redis_rate.Limit{Rate: p.Rate, Burst: p.Burst, Period: p.Period}
	go func() {
		res, err := l.rl.Allow(ctx, p.Name+":"+key, limit)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("ratelimit: Redis did not answer within %s", l.timeout)
	}
}

func (l *Limiter) mayProbe() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.probing || l.now().Before(l.nextProbe) {
		return false
	}
	l.probing = true
	return true
}

func (l *Limiter) record(err error) {
	if err == nil && !l.down.Load() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probing = false
	now := l.now()
	if err == nil {
		if !l.downSince.IsZero() {
			l.log.Info("rate limiter's Redis answers again: requests are limited again", zap.Duration("outage", now.Sub(l.downSince)))
		}
		l.downSince, l.lastErr = time.Time{}, nil
		l.down.Store(false)
		return
	}
	if l.downSince.IsZero() {
		l.downSince = now
		l.log.Warn("rate limiter's Redis does not answer: requests are let through unlimited until it does", zap.Error(err))
	}
	l.lastErr = err
	l.nextProbe = now.Add(l.timeout)
	l.down.Store(true)
}

// Outage reports since when Redis has not answered and the last error;
// a zero time while it answers.
func (l *Limiter) Outage() (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.downSince, l.lastErr
}

// prefixed puts the deployment's key prefix in front of every key
// redis_rate uses, as the other Redis adapters do.
type prefixed struct {
	redis.UniversalClient
	prefix string
}

func (c prefixed) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = c.prefix + k
	}
	return out
}

func (c prefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.Eval(ctx, script, c.keys(keys), args...)
}

func (c prefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.EvalSha(ctx, sha1, c.keys(keys), args...)
}

func (c prefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.EvalRO(ctx, script, c.keys(keys), args...)
}

func (c prefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.EvalShaRO(ctx, sha1, c.keys(keys), args...)
}

func (c prefixed) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return c.UniversalClient.Del(ctx, c.keys(keys)...)
}
