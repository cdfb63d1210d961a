package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestTheEmbeddedDefaultTracesItsStatementsToo: on SQLite every statement
// of a request is a client span under the request's server span, with the
// scope, db.system.name and the statement without its values; the
// database/sql tracer adds no spans for rows, connects or session resets.
func TestTheEmbeddedDefaultTracesItsStatementsToo(t *testing.T) {
	rcv := testkit.NewOTLPReceiver(t, "http/protobuf")
	env := testkit.BaseEnv("sqlite://" + t.TempDir() + "/traced.db")
	extra := exporting(rcv.Endpoint, "http/protobuf")
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "traced-lite")

	tp, traceID, _ := traceparent(true)
	if res := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"description":"secret-description"}`, "traceparent", tp, "X-Correlation-ID", "lite-1"); res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	var spans []testkit.Span
	var server testkit.Span
	if !testkit.Eventually(15*time.Second, func() bool {
		spans = rcv.Trace(traceID)
		var ok bool
		server, ok = findSpan(spans, func(s testkit.Span) bool { return s.Kind == "SPAN_KIND_SERVER" })
		_, sql := findSpan(spans, func(s testkit.Span) bool { return s.Attributes["db.system.name"] == "sqlite" })
		return ok && sql
	}) {
		t.Fatalf("no server span with SQLite spans under it; the receiver has %+v", rcv.Spans())
	}
	var statements int
	for _, s := range spans {
		if s.Kind != "SPAN_KIND_CLIENT" {
			continue
		}
		if s.Attributes["db.system.name"] != "sqlite" || s.ParentSpanID != server.SpanID {
			t.Errorf("client span %q (%v) is not a SQLite statement under the server span", s.Name, s.Attributes)
			continue
		}
		for _, omitted := range []string{"sql.rows", "sql.connector.connect", "sql.conn.reset_session", "sql.conn.prepare"} {
			if s.Name == omitted {
				t.Errorf("a %s span: only statements are traced", s.Name)
			}
		}
		if !matches(s, map[string]string{"correlation_id": "lite-1", "project.id": p.ID, "subject": "alice"}) {
			t.Errorf("SQL span %q lacks the scope: %v", s.Name, s.Attributes)
		}
		if _, raw := s.Attributes["db.statement"]; raw {
			t.Errorf("SQL span %q carries the raw db.statement", s.Name)
		}
		q := s.Attributes["db.query.text"]
		if strings.Contains(q, "secret-description") || strings.Contains(q, "alice") || strings.Contains(q, p.ID) {
			t.Errorf("SQL span %q statement %q holds a value", s.Name, q)
		}
		if q != "" {
			statements++
		}
	}
	if statements == 0 {
		t.Errorf("no SQL span names its statement: %+v", spans)
	}
}
