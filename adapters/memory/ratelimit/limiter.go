// Package ratelimit is the in-process request limiter: one token bucket
// (golang.org/x/time/rate) per policy and key, for the embedded mode
// without Redis, where each instance counts only its own requests.
package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/scoped-api/foundation/ports/shared"
)

var _ shared.RateLimiter = (*Limiter)(nil)

// sweepEvery is how often a shard forgets the buckets that are full again:
// a full bucket is the same as a new one, so forgetting it loses nothing
// and the map stays the size of the recently active keys.
const sweepEvery = time.Minute

const shardCount = 16

// Limiter keeps its buckets in memory, sharded to keep lock contention low.
type Limiter struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu        sync.Mutex
	buckets   map[bucketKey]*bucket
	lastSweep time.Time
}

type bucketKey struct{ policy, key string }

type bucket struct {
	lim    *rate.Limiter
	policy shared.RateLimitPolicy
	// fullAt is when the bucket is whole again if nothing spends from it.
	fullAt time.Time
}

// New returns an empty limiter; now is the clock (time.Now when nil).
func New(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[bucketKey]*bucket{}
	}
	return l
}

// Allow spends one request of policy's budget for key. It never fails.
func (l *Limiter) Allow(_ context.Context, p shared.RateLimitPolicy, key string) (shared.RateLimitDecision, error) {
	interval := p.Period / time.Duration(max(p.Rate, 1))
	sh := &l.shards[maphash.String(l.seed, key)%shardCount]
	k := bucketKey{policy: p.Name, key: key}
	now := l.now()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[k]
	if b == nil || b.policy != p {
		b = &bucket{lim: rate.NewLimiter(rate.Every(interval), p.Burst), policy: p}
		sh.buckets[k] = b
	}
	allowed := b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	missing := float64(p.Burst) - tokens
	d := shared.RateLimitDecision{
		Allowed:    allowed,
		Remaining:  max(int(tokens), 0),
		ResetAfter: time.Duration(missing * float64(interval)),
	}
	if !allowed {
		d.RetryAfter = time.Duration((1 - tokens) * float64(interval))
	}
	b.fullAt = now.Add(d.ResetAfter)
	if now.Sub(sh.lastSweep) >= sweepEvery {
		sh.sweep(now)
	}
	return d, nil
}

func (sh *shard) sweep(now time.Time) {
	sh.lastSweep = now
	for k, b := range sh.buckets {
		if !now.Before(b.fullAt) {
			delete(sh.buckets, k)
		}
	}
}

// Len is how many buckets the limiter holds (for tests of the sweep).
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.buckets)
		sh.mu.Unlock()
	}
	return n
}
