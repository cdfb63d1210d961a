package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func isRedis(s testkit.Span) bool {
	return s.Attributes["db.system"] == "redis" || s.Attributes["db.system.name"] == "redis"
}

// TestOneTraceHoldsTheRequestItsSQLAndItsRedisCommands: issuing a stream
// ticket checks the project in PostgreSQL and stores the ticket in Redis;
// the receiver gets the server span, the SQL spans and the Redis span in
// one trace under the incoming traceparent, each with the request's scope
// and none with the ticket.
func TestOneTraceHoldsTheRequestItsSQLAndItsRedisCommands(t *testing.T) {
	rcv := testkit.NewOTLPReceiver(t, "grpc")
	dbURL := testkit.NewPostgresDatabase(t)
	env := operationsEnv(t, dbURL, testkit.RandomName("e2e_")+":", exporting(rcv.Endpoint, "grpc")...)
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "traced")

	tp, traceID, parentID := traceparent(true)
	res := app.Do("POST", "/api/v1/projects/"+p.ID+"/events/tickets", alice, nil, "traceparent", tp, "X-Correlation-ID", "ticket-corr")
	if res.Status != http.StatusCreated {
		t.Fatalf("ticket: %d %s", res.Status, res.Body)
	}
	ticket := res.Map(t)["ticket"].(string)

	var spans []testkit.Span
	var server, sql, cmd testkit.Span
	if !testkit.Eventually(15*time.Second, func() bool {
		spans = rcv.Trace(traceID)
		var a, b, c bool
		server, a = findSpan(spans, func(s testkit.Span) bool { return s.Kind == "SPAN_KIND_SERVER" })
		sql, b = findSpan(spans, func(s testkit.Span) bool { return s.Attributes["db.system.name"] == "postgresql" })
		cmd, c = findSpan(spans, isRedis)
		return a && b && c
	}) {
		t.Fatalf("the trace lacks the server, SQL or Redis span: %+v", spans)
	}
	if server.ParentSpanID != parentID {
		t.Errorf("server span's parent %q, want %q", server.ParentSpanID, parentID)
	}
	scope := map[string]string{"correlation_id": "ticket-corr", "project.id": p.ID, "subject": "alice"}
	for _, s := range []testkit.Span{sql, cmd} {
		if s.ParentSpanID != server.SpanID || !matches(s, scope) {
			t.Errorf("span %q: parent %s attributes %v", s.Name, s.ParentSpanID, s.Attributes)
		}
	}
	for _, s := range spans {
		for k, v := range s.Attributes {
			if strings.Contains(v, ticket) {
				t.Errorf("span %q attribute %s holds the ticket", s.Name, k)
			}
		}
	}
}

// TestStreamAndRedisMetricsAreReal: with streams open and events flowing,
// /metrics reports connected streams, delivered events and the relay lag
// from the hub and relay, and Redis pool statistics from the real pool.
func TestStreamAndRedisMetricsAreReal(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "metered")
	op := createOperation(t, app, alice, p.ID, "import")
	var streams []*testkit.SSE
	for range 3 {
		s := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice)
		s.Next(t, 5*time.Second)
		streams = append(streams, s)
	}
	for i := range 5 {
		mustReport(t, app, alice, p.ID, op.ID, i, "step")
	}
	for _, s := range streams {
		for range 5 {
			expectEvent(t, s, "progress", 5*time.Second)
		}
	}
	// Tickets go through the Redis pool too.
	for range 5 {
		if res := app.Do("POST", "/api/v1/projects/"+p.ID+"/events/tickets", alice, nil); res.Status != http.StatusCreated {
			t.Fatalf("ticket: %d", res.Status)
		}
	}
	text := string(app.Do("GET", "/metrics", "", nil).Body)
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"streams_connected", nil, 3},
		{"streams_events_delivered_total", nil, 15},
		{"db_client_connections_hits_total", []string{`db_system="redis"`}, 1},
		{"db_client_connections_usage", []string{`db_system="redis"`}, 1},
	} {
		v, found := metricSum(text, c.name, c.labels...)
		if !found || v < c.min {
			t.Errorf("%s%v = %v (found %v), want ≥ %v", c.name, c.labels, v, found, c.min)
		}
	}
	if _, found := metricSum(text, "streams_relay_lag_seconds"); !found {
		t.Error("no relay lag gauge")
	}
	info := app.Do("GET", "/api/v1/projects/"+p.ID+"/info", alice, nil)
	if !strings.Contains(string(info.Body), `"connected":3`) || !strings.Contains(string(info.Body), `"running":1`) {
		t.Errorf("info: %s", info.Body)
	}
}
