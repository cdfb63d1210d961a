package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "foundation", run: foundation}) }

// foundation compares the full stack with the barest equivalent:
// GET /health/live through every middleware against a bare gin handler, and
// GET/POST of a project through auth, huma, the use case and GORM against
// bare pgx statements for the same row behind a bare gin handler. The API
// (the built binary) and the baseline (this program, started as a child)
// each run in a process of their own, apart from the load generator, as a
// server and its clients would; their logs go to /dev/null.
func foundation(ctx context.Context, o options) (res []result, err error) {
	tb := &benchTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	dbURL := testkit.NewPostgresDatabase(tb)
	bin, removeBin, err := buildAPI(ctx)
	if err != nil {
		return nil, err
	}
	defer removeBin()
	app, err := startQuietChild(ctx, bin, benchEnv(dbURL))
	if err != nil {
		return nil, err
	}
	defer app.stop()
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bareSrv, err := startQuietChild(ctx, self, map[string]string{bareServerEnv: dbURL})
	if err != nil {
		return nil, fmt.Errorf("bare server: %w", err)
	}
	defer bareSrv.stop()
	bareURL := bareSrv.url

	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", time.Hour)
	var p struct {
		ID string `json:"id"`
	}
	r := testkit.Do(tb, "POST", app.url+"/api/v1/projects", token, `{"name":"bench","description":"a row to read"}`)
	if r.Status != http.StatusCreated {
		return nil, fmt.Errorf("create: %d %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return nil, err
	}

	// compare measures throughput under a closed loop (interleaved rounds,
	// medians), then, when p99Target is set, p99 latency of both paths at
	// the same constant offered rate: half of the slower path's throughput.
	compare := func(name string, wantStatus int, ours, bare request, p99Target float64) {
		if !o.wants(name) {
			return
		}
		var or, br []stats
		for range o.rounds {
			br = append(br, load(ctx, o.concurrency, o.duration, wantStatus, bare))
			or = append(or, load(ctx, o.concurrency, o.duration, wantStatus, ours))
		}
		om, bm := median(or), median(br)
		ratio := om.rps / bm.rps
		res = append(res, result{
			Name:     name + " throughput",
			Measured: fmt.Sprintf("%.0f req/s (%d errors)", om.rps, om.errors),
			Baseline: fmt.Sprintf("%.0f req/s", bm.rps),
			Ratio:    ratio, Target: "≥ 0.50", Pass: ratio >= 0.5, Errors: om.errors,
		})
		if p99Target == 0 {
			return
		}
		rate := min(om.rps, bm.rps) / 2
		var op, bp []stats
		var ou, bu cost
		for range o.rounds {
			bp = append(bp, bu.measure(bareSrv, func(mk request) stats { return paced(ctx, o.concurrency, rate, o.duration, wantStatus, mk) }, bare))
			op = append(op, ou.measure(app, func(mk request) stats { return paced(ctx, o.concurrency, rate, o.duration, wantStatus, mk) }, ours))
		}
		o99, b99 := medianP99(op), medianP99(bp)
		o50, b50 := medianP50(op), medianP50(bp)
		pr := float64(o99) / float64(b99)
		errs := 0
		for _, s := range op {
			errs += s.errors
		}
		res = append(res, result{
			Name:     name + " p99 latency",
			Measured: fmt.Sprintf("%s at %.0f req/s, p50 %s (%d errors)", o99.Round(10*time.Microsecond), rate, o50.Round(10*time.Microsecond), errs),
			Baseline: fmt.Sprintf("%s, p50 %s", b99.Round(10*time.Microsecond), b50.Round(10*time.Microsecond)),
			Ratio:    pr, Target: fmt.Sprintf("≤ %.2f", p99Target), Pass: pr <= p99Target, Errors: errs,
			Note: fmt.Sprintf("server cost: ours %s; baseline %s", ou, bu),
		})
	}

	compare("GET /health/live (full chain vs bare gin)", 200,
		get(app.url+"/health/live", ""), get(bareURL+"/health/live", ""), 0)
	compare("GET /api/v1/projects/{id} (vs bare pgx+gin)", 200,
		get(app.url+"/api/v1/projects/"+p.ID, token), get(bareURL+"/projects/"+p.ID, ""), 1.5)
	var seq atomic.Int64 // names are unique per owner: never repeat one
	compare("POST /api/v1/projects (vs bare pgx+gin)", 201,
		post(app.url+"/api/v1/projects", token, func(int, int) []byte {
			return fmt.Appendf(nil, `{"name":"ours-%d","description":"benchmark"}`, seq.Add(1))
		}),
		post(bareURL+"/projects", "", func(int, int) []byte {
			return fmt.Appendf(nil, `{"name":"bare-%d","description":"benchmark"}`, seq.Add(1))
		}), 1.5)
	return res, nil
}
