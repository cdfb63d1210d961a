package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "ratelimit", run: rateLimitCost}) }

// rateLimitCost measures what rate limiting costs a GET by id: the same
// binary, database and row, once with RATE_LIMIT_ENABLED=false and once
// with budgets too large to refuse anything, in memory and in Redis,
// interleaved rounds. Wall clock, so reported, never gating.
func rateLimitCost(ctx context.Context, o options) (res []result, err error) {
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
	huge := map[string]string{
		"RATE_LIMIT_ENABLED":          "true",
		"RATE_LIMIT_READS_PER_MINUTE": "60000000",
		"RATE_LIMIT_READS_BURST":      "60000000",
	}
	off, err := start()
	if err != nil {
		return nil, err
	}
	inMemory, err := start(huge)
	if err != nil {
		return nil, err
	}
	shared, err := start(huge, map[string]string{"REDIS_URL": testkit.RedisURL(), "REDIS_KEY_PREFIX": testkit.RandomName("bench_") + ":"})
	if err != nil {
		return nil, err
	}

	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", time.Hour)
	r := testkit.Do(tb, "POST", off.url+"/api/v1/projects", token, `{"name":"bench","description":"a row to read"}`)
	if r.Status != http.StatusCreated {
		return nil, fmt.Errorf("create: %d %s", r.Status, r.Body)
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		on   *child
	}{
		{"GET /api/v1/projects/{id} rate limited in memory (vs limiting off)", inMemory},
		{"GET /api/v1/projects/{id} rate limited in Redis (vs limiting off)", shared},
	} {
		if !o.wants(c.name) {
			continue
		}
		var onRuns, offRuns []stats
		for range o.rounds {
			offRuns = append(offRuns, load(ctx, o.concurrency, o.duration, 200, get(off.url+"/api/v1/projects/"+p.ID, token)))
			onRuns = append(onRuns, load(ctx, o.concurrency, o.duration, 200, get(c.on.url+"/api/v1/projects/"+p.ID, token)))
		}
		om, bm := median(onRuns), median(offRuns)
		ratio := om.rps / bm.rps
		res = append(res, result{
			Name:     c.name + " throughput",
			Measured: fmt.Sprintf("%.0f req/s (%d errors)", om.rps, om.errors),
			Baseline: fmt.Sprintf("%.0f req/s", bm.rps),
			Ratio:    ratio, Target: "≥ 0.90", Pass: ratio >= 0.9, Errors: om.errors,
		})
	}
	return res, nil
}
