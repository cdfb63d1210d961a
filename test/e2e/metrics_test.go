package e2e

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestMetricsAreRealAndBounded: /metrics on the loopback main listener
// serves the Prometheus text format with the HTTP histogram labelled by
// route template, method and status, the requests in flight, Go runtime
// metrics, statement durations, and pool gauges read from the real pool —
// non-zero under load — and no label names a project.
func TestMetricsAreRealAndBounded(t *testing.T) {
	app, _ := startPostgresApp(t, "DB_MAX_OPEN_CONNS", "2", "DB_MAX_IDLE_CONNS", "2")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "measured")
	scrape := func() string {
		t.Helper()
		res := app.Do("GET", "/metrics", "", nil)
		if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("/metrics: %d %s", res.Status, res.Header.Get("Content-Type"))
		}
		return string(res.Body)
	}

	// Load: 16 clients on a pool of 2 connections, while the pool gauges
	// are scraped; the in-use gauge must be seen above zero.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var served atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400 && !stop.Load(); i++ {
				if res := testkit.Do(t, "GET", app.URL+"/api/v1/projects/"+p.ID, alice, nil); res.Status == 200 {
					served.Add(1)
				}
			}
		}()
	}
	var maxInUse float64
	sawInUse := testkit.Eventually(20*time.Second, func() bool {
		v, _ := metricSum(scrape(), "db_client_connections_usage", `db_system="postgresql"`, `state="used"`)
		maxInUse = max(maxInUse, v)
		return maxInUse > 0
	})
	stop.Store(true)
	wg.Wait()
	if !sawInUse {
		t.Fatal("the in-use gauge never rose above zero under load")
	}

	text := scrape()
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"db_client_connections_usage", []string{`db_system="postgresql"`}, 1},
		{"db_client_connections_max", []string{`db_system="postgresql"`}, 2},
		{"db_client_connections_waits_total", []string{`db_system="postgresql"`}, 1},
		{"db_client_connections_wait_time_seconds_total", []string{`db_system="postgresql"`}, 1e-9},
		{"db_sql_statement_duration_seconds_count", []string{`db_operation_name="select"`}, float64(served.Load())},
		{"http_server_request_duration_seconds_count", []string{`http_route="/api/v1/projects/{project_id}"`, `http_request_method="GET"`, `http_response_status_code="200"`}, float64(served.Load())},
		{"http_server_request_duration_seconds_bucket", []string{`http_route="/api/v1/projects/{project_id}"`, `le="+Inf"`}, float64(served.Load())},
		{"http_server_active_requests", []string{`http_request_method="GET"`}, 1}, // this scrape is in flight
		{"go_goroutines", nil, 1},
		{"go_memstats_alloc_bytes", nil, 1},
	} {
		v, found := metricSum(text, c.name, c.labels...)
		if !found || v < c.min {
			t.Errorf("%s%v = %v (found %v), want ≥ %v", c.name, c.labels, v, found, c.min)
		}
	}
	if open, _ := metricSum(text, "db_client_connections_usage", `db_system="postgresql"`); open > 2 {
		t.Errorf("open connections %v exceed the pool's 2", open)
	}

	// Unknown routes and methods share one label value each.
	app.Do("GET", "/no/such/route-"+p.ID, "", nil)
	app.Do("BREW", "/api/v1/projects", "", nil)
	text = scrape()
	if _, found := metricSum(text, "http_server_request_duration_seconds_count", `http_route="unmatched"`, `http_response_status_code="404"`); !found {
		t.Error("no unmatched-route series")
	}
	if _, found := metricSum(text, "http_server_request_duration_seconds_count", `http_request_method="_OTHER"`); !found {
		t.Error("an unknown method was not folded into _OTHER")
	}
	if strings.Contains(text, p.ID) || strings.Contains(text, "route-") || strings.Contains(text, "BREW") {
		t.Error("a metric label holds a project id or a client-chosen value")
	}
	if strings.Contains(text, "project") && strings.Contains(text, `project_id=`) {
		t.Error("a metric has a per-project label")
	}
}

// TestMetricsListener: METRICS_ADDR moves /metrics off the main listener;
// a main listener that is not loopback does not serve it at all; and with
// telemetry disabled there is no /metrics and readiness says so.
func TestMetricsListener(t *testing.T) {
	t.Run("METRICS_ADDR", func(t *testing.T) {
		addr := testkit.ClosedPort(t)
		app, _ := startPostgresApp(t, "METRICS_ADDR", addr)
		if res := app.Do("GET", "/metrics", "", nil); res.Status != 404 {
			t.Errorf("main listener /metrics: %d", res.Status)
		}
		res := testkit.Do(t, "GET", "http://"+addr+"/metrics", "", nil)
		if _, found := metricSum(string(res.Body), "go_goroutines"); res.Status != 200 || !found {
			t.Errorf("METRICS_ADDR /metrics: %d", res.Status)
		}
	})
	t.Run("non-loopback main listener", func(t *testing.T) {
		app, _ := startPostgresApp(t, "HTTP_ADDR", "0.0.0.0:0")
		port := app.URL[strings.LastIndex(app.URL, ":")+1:]
		if res := testkit.Do(t, "GET", "http://127.0.0.1:"+port+"/metrics", "", nil); res.Status != 404 {
			t.Errorf("/metrics on a public listener: %d", res.Status)
		}
		if len(app.Logs.FilterMessageSnippet("GET /metrics is not served").All()) != 1 {
			t.Error("no warning that metrics are not exposed")
		}
	})
	t.Run("disabled", func(t *testing.T) {
		app, _ := startPostgresApp(t, "OTEL_SDK_DISABLED", "true", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+testkit.ClosedPort(t))
		if res := app.Do("GET", "/metrics", "", nil); res.Status != 404 {
			t.Errorf("/metrics with telemetry disabled: %d", res.Status)
		}
		status, r := ready(t, app)
		if status != 200 || r.Checks["telemetry"].Status != "disabled" || r.Checks["telemetry"].Error == "" {
			t.Errorf("readiness: %d %+v", status, r.Checks["telemetry"])
		}
		alice := testkit.Token(t, "alice", time.Hour)
		p := create(t, app, alice, "untraced")
		if res := app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil); res.Status != 200 {
			t.Errorf("get: %d", res.Status)
		}
	})
	t.Run("no endpoint", func(t *testing.T) {
		app, _ := startPostgresApp(t)
		status, r := ready(t, app)
		if status != 200 || r.Checks["telemetry"].Status != "disabled" || !strings.Contains(r.Checks["telemetry"].Error, "OTEL_EXPORTER_OTLP_ENDPOINT") {
			t.Errorf("readiness without an endpoint: %d %+v", status, r.Checks["telemetry"])
		}
		// Trace ids still tie a problem to its log lines, and an incoming
		// traceparent is still continued.
		res := app.Do("GET", "/api/v1/projects/nope", testkit.Token(t, "alice", time.Hour), nil, "X-Correlation-ID", "no-endpoint")
		m := assertProblem(t, res, 422)
		id, _ := m["trace_id"].(string)
		if len(id) != 32 || id == strings.Repeat("0", 32) {
			t.Errorf("problem without a trace id: %s", res.Body)
		}
		if l := app.Logs.FilterField(zapString("correlation_id", "no-endpoint")).FilterMessage("request").All(); len(l) != 1 || l[0].ContextMap()["trace_id"] != id {
			t.Errorf("the access log line does not carry the problem's trace id %s: %v", id, l)
		}
		tp, traceID, _ := traceparent(true)
		res = app.Do("GET", "/api/v1/projects/nope", testkit.Token(t, "alice", time.Hour), nil, "traceparent", tp)
		if m := assertProblem(t, res, 422); m["trace_id"] != traceID {
			t.Errorf("the incoming traceparent was not continued: %s", res.Body)
		}
	})
}
