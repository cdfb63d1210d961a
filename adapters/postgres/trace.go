package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/XSAM/otelsql"
	"github.com/exaring/otelpgx"
	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/attribute"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing puts one client span on every statement: pgx's tracer hook
// (otelpgx) on PostgreSQL, the database/sql driver wrapper (otelsql) on
// SQLite. Spans carry the statement normalised by Normalize (parameters
// are never on them, and no literal either) and, on PostgreSQL, the
// server's address. Statement durations and pool figures are recorded
// apart (Observe, Stats), so both tracers get a no-op meter.
type Tracing struct {
	Provider  trace.TracerProvider
	Normalize Normalizer
}

// pgxTracer normalises each statement before otelpgx sees it.
type pgxTracer struct {
	inner     *otelpgx.Tracer
	normalize Normalizer
}

var _ pgx.QueryTracer = pgxTracer{}

func (t pgxTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	data.SQL = t.normalize(data.SQL)
	return t.inner.TraceQueryStart(ctx, conn, data)
}

func (t pgxTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	t.inner.TraceQueryEnd(ctx, conn, data)
}

// tracePostgres sets the query tracer on every connection the pool opens.
func tracePostgres(t *Tracing, server string) stdlib.OptionOpenDB {
	attrs := []attribute.KeyValue{semconv.DBSystemNamePostgreSQL}
	if server != "" {
		attrs = append(attrs, semconv.ServerAddress(server))
	}
	tracer := pgxTracer{normalize: t.Normalize, inner: otelpgx.NewTracer(
		otelpgx.WithTracerProvider(t.Provider),
		otelpgx.WithMeterProvider(noopmetric.NewMeterProvider()),
		// The address is constant: read per statement it would be parsed
		// from the connection's configuration every time.
		otelpgx.WithDisableConnectionDetailsInAttributes(),
		otelpgx.WithTracerAttributes(attrs...),
	)}
	return stdlib.OptionBeforeConnect(func(_ context.Context, c *pgx.ConnConfig) error {
		c.Tracer = tracer
		return nil
	})
}

// openTracedSQLite opens the SQLite pool through otelsql: one span per
// statement, transaction begin and commit included; no spans for rows,
// session resets or connects.
func openTracedSQLite(t *Tracing, dsn string) (*sql.DB, error) {
	return otelsql.Open(sqlite.DriverName, dsn,
		otelsql.WithTracerProvider(t.Provider),
		otelsql.WithMeterProvider(noopmetric.NewMeterProvider()),
		otelsql.WithAttributes(semconv.DBSystemNameSQLite),
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			DisableQuery: true, DisableErrSkip: true,
			OmitConnResetSession: true, OmitConnPrepare: true, OmitRows: true, OmitConnectorConnect: true,
		}),
		otelsql.WithAttributesGetter(func(_ context.Context, _ otelsql.Method, query string, _ []driver.NamedValue) []attribute.KeyValue {
			if query == "" {
				return nil
			}
			return []attribute.KeyValue{semconv.DBQueryText(t.Normalize(query))}
		}),
	)
}
