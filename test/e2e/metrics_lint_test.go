package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestMetricsPassPromlint: after traffic that touches every instrument
// family (requests, SQL, Redis, streams, rate limits), GET /metrics holds
// nothing Prometheus' own linter (promtool check metrics) objects to, and
// the SQL and Redis pools are named by one convention.
func TestMetricsPassPromlint(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "linted")
	op := createOperation(t, app, alice, p.ID, "import")
	mustReport(t, app, alice, p.ID, op.ID, 10, "a tenth")
	if res := app.Do("GET", "/api/v1/projects/"+p.ID+"/operations/"+op.ID, alice, nil); res.Status != 200 {
		t.Fatalf("get operation: %d %s", res.Status, res.Body)
	}
	if res := app.Do("GET", "/api/v1/projects/nope", alice, nil); res.Status != 422 {
		t.Fatalf("bad id: %d", res.Status)
	}
	res := app.Do("GET", "/metrics", "", nil)
	if res.Status != 200 {
		t.Fatalf("/metrics: %d", res.Status)
	}
	problems, err := promlint.New(bytes.NewReader(res.Body)).Lint()
	if err != nil {
		t.Fatalf("promlint could not read /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// One family for both pools, each in base units.
	text := string(res.Body)
	for _, series := range []string{
		`db_client_connections_usage{db_system="postgresql",state="idle"}`, `db_client_connections_usage{db_system="redis",`,
		`db_client_connections_max{db_system="postgresql"}`, `db_client_connections_max{db_system="redis",`,
		`db_client_connections_waits_total{db_system="postgresql"}`, `db_client_connections_waits_total{db_system="redis",`,
		`db_client_connections_wait_time_seconds_total{db_system="postgresql"}`, `db_client_connections_wait_time_seconds_total{db_system="redis",`,
	} {
		if !strings.Contains(text, "\n"+series) {
			t.Errorf("/metrics has no %s series", series)
		}
	}
	for _, old := range []string{"db_sql_connections_", "_milliseconds", "_nanoseconds"} {
		if strings.Contains(text, old) {
			t.Errorf("/metrics still has %s metrics", old)
		}
	}
}
