package bootstrap_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/observability"
	"github.com/scoped-api/foundation/bootstrap"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/test/testkit"
)

// scopeKey carries the scope a unit of work is attributed by, as the HTTP
// adapter's request record would.
type scopeKey struct{}

// TestInstrumentRedis: the seam the operation context will call traces
// every command (in the caller's trace, with its scope, without its
// arguments) and exports the real pool statistics.
func TestInstrumentRedis(t *testing.T) {
	rcv := testkit.NewOTLPReceiver(t, "grpc")
	tel, err := observability.New(observability.Settings{
		ServiceName: "redis-seam", Endpoint: rcv.Endpoint, Protocol: observability.ProtocolGRPC,
		ExportTimeout: time.Second, ScheduleDelay: 50 * time.Millisecond,
		Sampler: "parentbased_always_on", SamplerRatio: 1,
		ScopeOf: func(ctx context.Context) observability.Scope {
			s, _ := ctx.Value(scopeKey{}).(observability.Scope)
			return s
		},
	}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	tel.Start(t.Context())
	client := redis.NewClient(&redis.Options{Addr: testkit.RedisAddr(), PoolSize: 4})
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	// Connected before it is instrumented: the spans looked for are the commands'.
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s is not reachable (%v); start it with: %s", testkit.RedisAddr(), err, testkit.RedisStartHint)
	}
	if err := bootstrap.InstrumentRedis(client, tel); err != nil {
		t.Fatal(err)
	}

	project := kernel.ProjectIDFrom(uuid.Must(uuid.NewV7()))
	ctx = context.WithValue(ctx, scopeKey{}, observability.Scope{CorrelationID: "redis-corr", Project: project})
	ctx, parent := tel.TracerProvider().Tracer("test").Start(ctx, "work")
	key := testkit.RandomName("telemetry_test_")
	for i := range 20 {
		if err := client.Set(ctx, key, "payload-secret-"+strconv.Itoa(i), time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if err := client.Get(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
	}
	client.Del(ctx, key)
	parent.End()
	traceID := parent.SpanContext().TraceID().String()

	var cmds []testkit.Span
	ok := testkit.Eventually(10*time.Second, func() bool {
		cmds = nil
		for _, s := range rcv.Trace(traceID) {
			if s.Attributes["db.system"] == "redis" {
				cmds = append(cmds, s)
			}
		}
		return len(cmds) >= 41
	})
	if !ok {
		t.Fatalf("got %d Redis spans in the trace, want 41", len(cmds))
	}
	for _, s := range cmds {
		if s.ParentSpanID != parent.SpanContext().SpanID().String() || s.Attributes["project.id"] != project.String() || s.Attributes["correlation_id"] != "redis-corr" {
			t.Fatalf("span %q: parent %s attributes %v", s.Name, s.ParentSpanID, s.Attributes)
		}
		for k, v := range s.Attributes {
			if strings.Contains(v, "payload-secret") || strings.Contains(v, key) {
				t.Fatalf("span %q attribute %s holds a command argument: %q", s.Name, k, v)
			}
		}
	}

	text := scrape(t, tel)
	for _, m := range []string{
		"db_client_connections_hits_total", "db_client_connections_misses_total", "db_client_connections_timeouts_total",
		`db_client_connections_usage{`, "db_client_connections_waits_total",
	} {
		if !strings.Contains(text, m) {
			t.Errorf("metric %s missing", m)
		}
	}
	stats := client.PoolStats()
	if stats.Hits == 0 || !strings.Contains(text, "db_client_connections_hits_total{db_system=\"redis\",pool_name=\""+testkit.RedisAddr()+"\"} "+strconv.Itoa(int(stats.Hits))) {
		t.Errorf("hits exported do not match the pool's %d:\n%s", stats.Hits, grep(text, "db_client_connections_hits"))
	}
	if !strings.Contains(text, `db_client_connections_usage{db_system="redis",pool_name="`+testkit.RedisAddr()+`",state="idle"} `+strconv.Itoa(int(stats.IdleConns))) || stats.TotalConns == 0 {
		t.Errorf("idle connections do not match the pool's %d:\n%s", stats.IdleConns, grep(text, "db_client_connections_usage"))
	}

	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func scrape(t *testing.T, tel *observability.Telemetry) string {
	t.Helper()
	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func grep(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
