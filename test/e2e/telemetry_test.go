package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// exporting is the environment of an app that exports traces to endpoint
// quickly (short batch delay), so tests see spans and failures soon.
func exporting(endpoint, protocol string) []string {
	return []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT", endpoint,
		"OTEL_EXPORTER_OTLP_PROTOCOL", protocol,
		"OTEL_BSP_SCHEDULE_DELAY", "100",
		"OTEL_EXPORTER_OTLP_TIMEOUT", "1000",
	}
}

func findSpan(spans []testkit.Span, pred func(testkit.Span) bool) (testkit.Span, bool) {
	for _, s := range spans {
		if pred(s) {
			return s, true
		}
	}
	return testkit.Span{}, false
}

// TestTracesReachTheCollectorInOneTrace: with a real OTLP receiver, one
// request gives a server span that continues the caller's traceparent and
// SQL spans under it, all carrying the correlation id, the caller and the
// project; logs and problems carry the trace id; probes are never traced.
func TestTracesReachTheCollectorInOneTrace(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(protocol, "/", "-"), func(t *testing.T) {
			rcv := testkit.NewOTLPReceiver(t, protocol)
			app, dbURL := startPostgresApp(t, append(exporting(rcv.Endpoint, protocol),
				"OTEL_SERVICE_NAME", "traced-api",
				"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=e2e,team=platform%20core")...)
			alice := testkit.Token(t, "alice", time.Hour)
			p := create(t, app, alice, "traced")

			// A probe with a sampled parent is still not traced.
			probeTP, probeTrace, _ := traceparent(true)
			if res := app.Do("GET", "/health/ready", "", nil, "traceparent", probeTP); res.Status != 200 {
				t.Fatalf("ready: %d %s", res.Status, res.Body)
			}

			tp, traceID, parentID := traceparent(true)
			res := app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil, "traceparent", tp, "X-Correlation-ID", "trace-corr-1")
			if res.Status != 200 {
				t.Fatalf("get: %d %s", res.Status, res.Body)
			}

			// Client spans expected in the request's trace, by database
			// system: a project read touches only the database (the Redis
			// commands of stream routes are TestOneTraceHoldsTheRequestItsSQLAndItsRedisCommands').
			wantClient := []map[string]string{{"db.system.name": "postgresql"}}
			var spans []testkit.Span
			var server testkit.Span
			complete := testkit.Eventually(15*time.Second, func() bool {
				spans = rcv.Trace(traceID)
				var ok bool
				server, ok = findSpan(spans, func(s testkit.Span) bool { return s.Kind == "SPAN_KIND_SERVER" })
				if !ok {
					return false
				}
				for _, want := range wantClient {
					if _, ok := findSpan(spans, func(s testkit.Span) bool { return matches(s, want) }); !ok {
						return false
					}
				}
				return true
			})
			if !complete {
				t.Fatalf("the receiver did not get the request's trace; it has %d spans: %+v", len(rcv.Spans()), rcv.Spans())
			}
			if server.ParentSpanID != parentID {
				t.Errorf("server span's parent = %q, want the incoming traceparent's %q", server.ParentSpanID, parentID)
			}
			want := map[string]string{
				"correlation_id": "trace-corr-1",
				"subject":        "alice",
				"project.id":     p.ID,
				"http.route":     "/api/v1/projects/{project_id}",
			}
			if !matches(server, want) {
				t.Errorf("server span attributes %v, want at least %v", server.Attributes, want)
			}
			if server.Resource["service.name"] != "traced-api" || server.Resource["team"] != "platform core" || server.Resource["deployment.environment"] != "e2e" {
				t.Errorf("resource %v", server.Resource)
			}
			for _, s := range spans {
				if s.Kind != "SPAN_KIND_CLIENT" {
					continue
				}
				if s.ParentSpanID != server.SpanID {
					t.Errorf("SQL span %q is not a child of the server span", s.Name)
				}
				if !matches(s, map[string]string{"correlation_id": "trace-corr-1", "project.id": p.ID, "subject": "alice"}) {
					t.Errorf("SQL span %q lacks the scope: %v", s.Name, s.Attributes)
				}
				if u, _ := url.Parse(dbURL); s.Attributes["db.system.name"] == "postgresql" && s.Attributes["server.address"] != u.Host {
					t.Errorf("SQL span %q server.address %q, want %q", s.Name, s.Attributes["server.address"], u.Host)
				}
				q := s.Attributes["db.query.text"]
				if q == "" || strings.Contains(q, "alice") || strings.Contains(q, p.ID) {
					t.Errorf("SQL span %q statement %q (must be there, without values)", s.Name, q)
				}
			}

			// Every log line of the request carries the trace id.
			lines := app.Logs.FilterField(zapString("correlation_id", "trace-corr-1")).All()
			if len(lines) == 0 {
				t.Fatal("no log line for the request")
			}
			for _, l := range lines {
				if l.ContextMap()["trace_id"] != traceID {
					t.Errorf("log line %q has trace_id %v, want %s", l.Message, l.ContextMap()["trace_id"], traceID)
				}
			}

			// Problems carry it beside the correlation id.
			tp2, trace2, _ := traceparent(false)
			res = app.Do("GET", "/api/v1/projects/01936b2a-0000-7000-8000-000000000000", alice, nil, "traceparent", tp2)
			m := assertProblem(t, res, 404)
			if m["trace_id"] != trace2 {
				t.Errorf("problem trace_id %v, want %s: %s", m["trace_id"], trace2, res.Body)
			}

			if spans := rcv.Trace(probeTrace); len(spans) != 0 {
				t.Errorf("a health probe was traced: %+v", spans)
			}
			ok := testkit.Eventually(5*time.Second, func() bool {
				_, r := ready(t, app)
				return r.Checks["telemetry"].Status == "ok"
			})
			if _, r := ready(t, app); !ok || r.Checks["telemetry"].Required {
				t.Errorf("telemetry readiness with a working collector: %+v", r.Checks["telemetry"])
			}
		})
	}
}

func matches(s testkit.Span, want map[string]string) bool {
	for k, v := range want {
		if s.Attributes[k] != v {
			return false
		}
	}
	return true
}

// TestSamplerIsProjectAware: with ordinary traffic sampled at ratio 0, a
// listed project is traced anyway (even under an unsampled parent), other
// projects are not, and a sampled parent is still honoured.
func TestSamplerIsProjectAware(t *testing.T) {
	rcv := testkit.NewOTLPReceiver(t, "grpc")
	dbURL := testkit.NewPostgresDatabase(t)
	listed := "01936b2a-1111-7000-8000-0000000000aa"
	env := testkit.BaseEnv(dbURL)
	kv := append(exporting(rcv.Endpoint, "grpc"),
		"OTEL_TRACES_SAMPLER", "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG", "0",
		"TELEMETRY_SAMPLE_ALWAYS_PROJECTS", listed)
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	testkit.Exec(t, dbURL, `INSERT INTO projects (id, owner, name, description, created_at, updated_at) VALUES ($1, 'alice', 'listed', '', now(), now())`, listed)
	testkit.Exec(t, dbURL, `INSERT INTO project_members (project_id, subject, role, project_created_at, created_at, updated_at) SELECT id, owner, 'owner', created_at, created_at, created_at FROM projects WHERE id = $1`, listed)
	other := create(t, app, alice, "ordinary")

	get := func(id string, sampledParent *bool) string {
		t.Helper()
		var headers []string
		var traceID string
		if sampledParent != nil {
			var tp string
			tp, traceID, _ = traceparent(*sampledParent)
			headers = []string{"traceparent", tp}
		}
		res := app.Do("GET", "/api/v1/projects/"+id, alice, nil, headers...)
		if res.Status != 200 {
			t.Fatalf("get %s: %d %s", id, res.Status, res.Body)
		}
		return traceID
	}
	no, yes := false, true
	ordinary := get(other.ID, &no)
	listedUnder := get(listed, &no)
	parentSampled := get(other.ID, &yes)
	get(listed, nil)

	var listedRoots int
	ok := testkit.Eventually(15*time.Second, func() bool {
		listedRoots = 0
		for _, s := range rcv.Spans() {
			if s.Kind == "SPAN_KIND_SERVER" && s.Attributes["project.id"] == listed {
				listedRoots++
			}
		}
		return listedRoots == 2 && len(rcv.Trace(listedUnder)) > 0 && len(rcv.Trace(parentSampled)) > 0
	})
	if !ok {
		t.Fatalf("listed project traced %d times (want 2), under unsampled parent %v, sampled parent honoured %v",
			listedRoots, len(rcv.Trace(listedUnder)) > 0, len(rcv.Trace(parentSampled)) > 0)
	}
	if n := len(rcv.Trace(ordinary)); n != 0 {
		t.Errorf("an ordinary request at ratio 0 under an unsampled parent was traced (%d spans)", n)
	}
	for _, s := range rcv.Spans() {
		if s.Kind == "SPAN_KIND_SERVER" && s.Attributes["project.id"] == other.ID && s.TraceID != parentSampled {
			t.Errorf("ordinary traffic was sampled at ratio 0: %+v", s)
		}
	}
}

// TestBrokenCollectorNeverHurtsTheAPI: with the collector's port closed, or
// a collector that accepts connections and never answers, the API starts,
// answers every route as usual, readiness stays 200 and reports telemetry
// degraded with a reason, export errors are logged a few times rather than
// per request, and the stop finishes within the shutdown timeout.
func TestBrokenCollectorNeverHurtsTheAPI(t *testing.T) {
	cases := []struct {
		name     string
		endpoint func(t *testing.T) string
		protocol string
	}{
		{"closed port", func(t *testing.T) string { return "http://" + testkit.ClosedPort(t) }, "grpc"},
		{"hanging collector", func(t *testing.T) string { return "http://" + testkit.NewHangingListener(t) }, "grpc"},
		{"hanging collector over http", func(t *testing.T) string { return "http://" + testkit.NewHangingListener(t) }, "http/protobuf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app, _ := startPostgresApp(t, exporting(c.endpoint(t), c.protocol)...)
			alice := testkit.Token(t, "alice", time.Hour)
			bob := testkit.Token(t, "bob", time.Hour)

			const rounds = 40
			for i := range rounds {
				p := create(t, app, alice, fmt.Sprintf("p-%d", i))
				for _, r := range []struct {
					method, path, token string
					body                any
					status              int
				}{
					{"GET", "/api/v1/projects/" + p.ID, alice, nil, 200},
					{"GET", "/api/v1/projects?limit=2", alice, nil, 200},
					{"PATCH", "/api/v1/projects/" + p.ID, alice, `{"description":"d"}`, 200},
					{"GET", "/api/v1/projects/" + p.ID + "/info", alice, nil, 200},
					{"GET", "/api/v1/projects/" + p.ID, bob, nil, 404},
					{"GET", "/health/live", "", nil, 200},
					{"GET", "/nope", "", nil, 404},
					{"DELETE", "/api/v1/projects/" + p.ID, alice, nil, 204},
				} {
					if res := app.Do(r.method, r.path, r.token, r.body); res.Status != r.status {
						t.Fatalf("%s %s: %d %s", r.method, r.path, res.Status, res.Body)
					}
				}
			}

			// Traffic goes on until several exports have failed; readiness
			// says why and stays 200 all along.
			var r readiness
			var status int
			var failures float64
			p := create(t, app, alice, "still here")
			degraded := testkit.Eventually(30*time.Second, func() bool {
				if res := app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil); res.Status != 200 {
					t.Fatalf("get while the collector is broken: %d", res.Status)
				}
				status, r = ready(t, app)
				if status != 200 || r.Status != "ok" {
					t.Fatalf("a broken collector made the service unready: %d %+v", status, r)
				}
				failures, _ = metricSum(string(app.Do("GET", "/metrics", "", nil).Body), "telemetry_export_failures_total")
				return r.Checks["telemetry"].Status == "degraded" && strings.Contains(r.Checks["telemetry"].Error, "span export failed") && failures >= 3
			})
			tel := r.Checks["telemetry"]
			if !degraded || tel.Since == nil || tel.Required {
				t.Fatalf("telemetry readiness: %+v after %v failed exports", tel, failures)
			}

			// Failures are many; lines about them are few.
			logged := len(app.Logs.FilterMessage("telemetry error").All())
			if logged < 1 || logged > 2 {
				t.Errorf("%v failed exports gave %d log lines; want 1 or 2", failures, logged)
			}

			start := time.Now()
			if err := app.Stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if limit := app.Config.HTTP.ShutdownTimeout + time.Second; time.Since(start) > limit {
				t.Fatalf("stop took %v with a broken collector (shutdown timeout %v)", time.Since(start), app.Config.HTTP.ShutdownTimeout)
			}
		})
	}
}
