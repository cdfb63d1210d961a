package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "retrysafety", run: retrySafetyCost}) }

// retrySafetyCost measures what a retry-safe write costs: POST
// /api/v1/projects with a fresh Idempotency-Key and rate limiting on
// (budgets too large to refuse anything, in Redis), against the same
// binary, database and Redis with limiting off and no key, interleaved
// rounds. Wall clock, so reported, never gating.
func retrySafetyCost(ctx context.Context, o options) (res []result, err error) {
	const name = "POST /api/v1/projects with an Idempotency-Key and rate limiting (vs neither)"
	tb := &benchTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	start, err := apiCopies(ctx, tb)
	if err != nil {
		return nil, err
	}
	inRedis := map[string]string{"REDIS_URL": testkit.RedisURL(), "REDIS_KEY_PREFIX": testkit.RandomName("bench_") + ":"}
	off, err := start(inRedis, map[string]string{"RATE_LIMIT_ENABLED": "false"})
	if err != nil {
		return nil, err
	}
	on, err := start(inRedis, map[string]string{
		"RATE_LIMIT_ENABLED":           "true",
		"RATE_LIMIT_WRITES_PER_MINUTE": "60000000",
		"RATE_LIMIT_WRITES_BURST":      "60000000",
	})
	if err != nil {
		return nil, err
	}

	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", 2*time.Hour)
	var seq atomic.Int64 // names are unique per owner, keys per caller: never repeat one
	body := func(int, int) []byte {
		return fmt.Appendf(nil, `{"name":"retry-safe-%d"}`, seq.Add(1))
	}
	plain := post(off.url+"/api/v1/projects", token, body)
	keyed := func(w, i int) (req *http.Request, err error) {
		req, err = post(on.url+"/api/v1/projects", token, body)(w, i)
		if err == nil {
			req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d-%d", seq.Add(1), w, i))
		}
		return req, err
	}
	keyedOff := func(w, i int) (req *http.Request, err error) {
		req, err = post(off.url+"/api/v1/projects", token, body)(w, i)
		if err == nil {
			req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-off-%d-%d-%d", seq.Add(1), w, i))
		}
		return req, err
	}
	for _, c := range []struct {
		name string
		mk   request
	}{
		{name, keyed},
		{"POST /api/v1/projects with an Idempotency-Key, limiting off (vs no key)", keyedOff},
	} {
		if !o.wants(c.name) {
			continue
		}
		var onRuns, offRuns []stats
		for range o.rounds {
			offRuns = append(offRuns, load(ctx, o.concurrency, o.duration, 201, plain))
			onRuns = append(onRuns, load(ctx, o.concurrency, o.duration, 201, c.mk))
		}
		om, bm := median(onRuns), median(offRuns)
		ratio := om.rps / bm.rps
		res = append(res, result{
			Name:     c.name + " throughput",
			Measured: fmt.Sprintf("%.0f req/s (%d errors)", om.rps, om.errors),
			Baseline: fmt.Sprintf("%.0f req/s", bm.rps),
			Ratio:    ratio, Target: "≥ 0.85", Pass: ratio >= 0.85, Errors: om.errors,
		})
	}
	return res, nil
}
