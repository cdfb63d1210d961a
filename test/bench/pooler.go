package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "pooler", run: pooler}) }

// pgBouncerPoolSize is the pooler's server connections per database in
// the scale figures.
const pgBouncerPoolSize = 3

// pooler measures what running behind a transaction pooler costs and
// gives: the default DB_QUERY_EXEC_MODE (cache_describe) against pgx's
// cache_statement on direct PostgreSQL, then progress reports per second
// with 1, 2 and 3 instances behind one PgBouncer (docs/deployment.md).
// The scale figures are reported, not judged.
func pooler(ctx context.Context, o options) (res []result, err error) {
	tb := &benchTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	bin, removeBin, err := buildAPI(ctx)
	if err != nil {
		return nil, err
	}
	defer removeBin()
	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", 2*time.Hour)
	dbURL := testkit.NewPostgresDatabase(tb)
	prefix := testkit.RandomName("bench_") + ":"
	start := func(url string, extra map[string]string) (*child, error) {
		env := benchEnv(url)
		maps.Copy(env, childEnv(url, prefix))
		maps.Copy(env, extra)
		c, err := startQuietChild(ctx, bin, env)
		if err == nil {
			tb.Cleanup(c.stop)
		}
		return c, err
	}
	var seq atomic.Int64

	if o.wants("exec mode") {
		describe, err := start(dbURL, nil)
		if err != nil {
			return nil, err
		}
		cached, err := start(dbURL, map[string]string{"DB_QUERY_EXEC_MODE": "cache_statement"})
		if err != nil {
			return nil, err
		}
		a := newAPI(describe.url, token)
		pid, err := a.project("exec-mode")
		var oid string
		if err == nil {
			oid, err = a.operation(pid)
		}
		a.close()
		if err != nil {
			return nil, err
		}
		for _, f := range []struct {
			name   string
			status int
			mk     func(url string) request
		}{
			{"GET /api/v1/projects/{id}", 200, func(url string) request { return get(url+"/api/v1/projects/"+pid, token) }},
			{"POST .../progress", 200, func(url string) request {
				return post(url+progressPath(pid, oid), token, func(int, int) []byte { return []byte(`{"percent":0,"message":"again"}`) })
			}},
			{"POST /api/v1/projects", 201, func(url string) request {
				return post(url+"/api/v1/projects", token, func(int, int) []byte {
					return fmt.Appendf(nil, `{"name":"mode-%d"}`, seq.Add(1))
				})
			}},
		} {
			var ours, base []stats
			for range o.rounds {
				base = append(base, load(ctx, o.concurrency, o.duration, f.status, f.mk(cached.url)))
				ours = append(ours, load(ctx, o.concurrency, o.duration, f.status, f.mk(describe.url)))
			}
			om, bm := median(ours), median(base)
			ratio := om.rps / bm.rps
			res = append(res, result{
				Name:     f.name + " throughput, exec mode cache_describe (vs cache_statement), direct PostgreSQL",
				Measured: fmt.Sprintf("%.0f req/s, p50 %s (%d errors)", om.rps, om.p50.Round(10*time.Microsecond), om.errors),
				Baseline: fmt.Sprintf("%.0f req/s, p50 %s", bm.rps, bm.p50.Round(10*time.Microsecond)),
				Ratio:    ratio, Target: "≥ 0.90", Pass: ratio >= 0.9, Errors: om.errors,
			})
		}
		cached.stop()
		describe.stop()
	}

	if o.wants("behind pgbouncer") {
		raiseFileLimit()
		pooled := testkit.StartPgBouncer(tb, pgBouncerPoolSize).URL(tb, dbURL)
		var apps []*child
		var one float64
		for n := 1; n <= 3; n++ {
			c, err := start(pooled, nil)
			if err != nil {
				return nil, err
			}
			apps = append(apps, c)
			a := newAPI(c.url, token)
			pid, err := a.project(fmt.Sprintf("scale-%d", n))
			if err != nil {
				a.close()
				return nil, err
			}
			ops := make([]string, o.concurrency)
			for w := range ops {
				if ops[w], err = a.operation(pid); err != nil {
					a.close()
					return nil, err
				}
			}
			defer a.close()
			var count [1024]atomic.Int64
			report := func(w, _ int) (*http.Request, error) {
				i := count[w%len(count)].Add(1)
				return post(apps[w%len(apps)].url+progressPath(pid, ops[w]), token, func(int, int) []byte {
					return fmt.Appendf(nil, `{"percent":%d,"message":"r%d"}`, min(i, 99), i)
				})(w, 0)
			}
			var runs []stats
			for range o.rounds {
				runs = append(runs, load(ctx, o.concurrency, o.duration, 200, report))
			}
			m := median(runs)
			if n == 1 {
				one = m.rps
			}
			perInstance, events := 500, 10
			if o.smoke {
				perInstance, events = 10, 3
			}
			oid, err := a.operation(pid)
			if err != nil {
				return nil, err
			}
			addrs := make([]string, len(apps))
			for i, c := range apps {
				addrs[i] = c.addr
			}
			p50, p99, missing, err := fanOutOnce(ctx, a, nil, addrs, pid, oid, perInstance*n, events)
			if err != nil {
				return nil, fmt.Errorf("streams on %d instances: %w", n, err)
			}
			res = append(res, result{
				Name: fmt.Sprintf("%d streams per instance, %d instance(s) behind PgBouncer: delivery p99 (vs 150ms)", perInstance, n),
				Measured: fmt.Sprintf("p99 %v, p50 %v over %d streams × %d events (%d errors)",
					p99.Round(100*time.Microsecond), p50.Round(100*time.Microsecond), perInstance*n, events, missing),
				Baseline: "150ms target",
				Ratio:    max(float64(p99)/float64(150*time.Millisecond), 1e-6), Target: "figure only", Pass: true, Errors: missing,
			})
			res = append(res, result{
				Name:     fmt.Sprintf("POST .../progress throughput, %d instance(s) behind PgBouncer (vs 1 instance)", n),
				Measured: fmt.Sprintf("%.0f req/s, p50 %s (%d errors)", m.rps, m.p50.Round(10*time.Microsecond), m.errors),
				Baseline: fmt.Sprintf("%.0f req/s", one),
				Ratio:    m.rps / one, Target: "figure only", Pass: true, Errors: m.errors,
				Note: fmt.Sprintf("PgBouncer transaction mode, default_pool_size %d, %d clients spread over the instances", pgBouncerPoolSize, o.concurrency),
			})
		}
	}
	return res, nil
}
