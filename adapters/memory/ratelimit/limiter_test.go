package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/scoped-api/foundation/ports/shared"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSweepForgetsOnlyTheBucketsThatAreFullAgain(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(c.now)
	ctx := context.Background()
	quick := shared.RateLimitPolicy{Name: "reads", Rate: 60, Period: time.Minute, Burst: 1}
	slow := shared.RateLimitPolicy{Name: "writes", Rate: 1, Period: time.Minute, Burst: 5}
	for i := range 100 {
		if _, err := l.Allow(ctx, quick, "old-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		_, _ = l.Allow(ctx, slow, "busy")
	}
	c.t = c.t.Add(2 * time.Minute) // the quick buckets are full again; "busy" has refilled 2 of 5
	for i := range 400 {
		_, _ = l.Allow(ctx, quick, "fresh-"+strconv.Itoa(i))
	}
	if n := l.Len(); n != 401 {
		t.Errorf("%d buckets after the sweep, want the 400 fresh ones and the busy one", n)
	}
	d, _ := l.Allow(ctx, slow, "busy")
	if !d.Allowed || d.Remaining != 1 {
		t.Errorf("busy after two minutes: %+v, want allowed with 1 remaining (it was forgotten if 4)", d)
	}
}

func TestAChangedPolicyStartsAFreshBucket(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(c.now)
	p := shared.RateLimitPolicy{Name: "writes", Rate: 60, Period: time.Minute, Burst: 1}
	_, _ = l.Allow(context.Background(), p, "alice")
	if d, _ := l.Allow(context.Background(), p, "alice"); d.Allowed {
		t.Fatalf("over the burst: %+v", d)
	}
	p.Burst = 3
	if d, _ := l.Allow(context.Background(), p, "alice"); !d.Allowed || d.Remaining != 2 {
		t.Errorf("after the burst was raised: %+v", d)
	}
}
