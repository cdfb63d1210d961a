package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "querymode", run: queryModeCost}) }

// queryModeCost measures what the default DB_QUERY_EXEC_MODE
// (cache_describe, which works behind PgBouncer in transaction mode) costs
// against pgx's own default (cache_statement, which does not) on direct
// PostgreSQL: a GET by id and a progress report, the same binary and
// database, interleaved rounds. Wall clock, so reported, never gating.
func queryModeCost(ctx context.Context, o options) (res []result, err error) {
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
	describe, err := start()
	if err != nil {
		return nil, err
	}
	prepared, err := start(map[string]string{"DB_QUERY_EXEC_MODE": "cache_statement"})
	if err != nil {
		return nil, err
	}
	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", time.Hour)
	var p, op struct {
		ID string `json:"id"`
	}
	r := testkit.Do(tb, "POST", describe.url+"/api/v1/projects", token, `{"name":"bench"}`)
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &p) != nil {
		return nil, fmt.Errorf("create: %d %s", r.Status, r.Body)
	}
	r = testkit.Do(tb, "POST", describe.url+"/api/v1/projects/"+p.ID+"/operations", token, `{"kind":"import"}`)
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &op) != nil {
		return nil, fmt.Errorf("create operation: %d %s", r.Status, r.Body)
	}
	progress := func(int, int) []byte { return []byte(`{"percent":0,"message":"again"}`) }
	for _, c := range []struct {
		name string
		req  func(base string) request
		want int
	}{
		{"GET /api/v1/projects/{id} with cache_describe (vs cache_statement)", func(base string) request {
			return get(base+"/api/v1/projects/"+p.ID, token)
		}, http.StatusOK},
		{"POST .../progress with cache_describe (vs cache_statement)", func(base string) request {
			return post(base+"/api/v1/projects/"+p.ID+"/operations/"+op.ID+"/progress", token, progress)
		}, http.StatusOK},
	} {
		if !o.wants(c.name) {
			continue
		}
		var dRuns, pRuns []stats
		for range o.rounds {
			pRuns = append(pRuns, load(ctx, o.concurrency, o.duration, c.want, c.req(prepared.url)))
			dRuns = append(dRuns, load(ctx, o.concurrency, o.duration, c.want, c.req(describe.url)))
		}
		dm, pm := median(dRuns), median(pRuns)
		ratio := dm.rps / pm.rps
		res = append(res, result{
			Name:     c.name + " throughput",
			Measured: fmt.Sprintf("%.0f req/s (%d errors)", dm.rps, dm.errors),
			Baseline: fmt.Sprintf("%.0f req/s", pm.rps),
			Ratio:    ratio, Target: "reported", Pass: true, Errors: dm.errors,
		})
	}
	return res, nil
}
