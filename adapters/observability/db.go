package observability

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/ports/diagnostics"
)

// DB statement operations used as a metric attribute; anything else is "other".
var dbOperations = []string{"select", "insert", "update", "delete", "other"}

// durationBuckets suits request and statement latencies, in seconds.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// DBObserver times every statement into a histogram and logs and records
// the slow ones. It is told about statements by the persistence adapter.
type DBObserver struct {
	threshold time.Duration
	log       *zap.Logger
	store     *SlowStatements
	now       func() time.Time
	duration  metric.Float64Histogram
	slow      metric.Int64Counter
	scopeOf   ScopeFunc
	opSets    map[string]metric.MeasurementOption
	scoped    metric.MeasurementOption
	unscoped  metric.MeasurementOption
}

// NewDBObserver creates the statement instruments for the database system
// ("postgresql", "sqlite") and logs statements slower than threshold.
func (t *Telemetry) NewDBObserver(system string, threshold time.Duration, store *SlowStatements, log *zap.Logger) (*DBObserver, error) {
	m := t.Meter()
	duration, err := m.Float64Histogram("db.sql.statement.duration",
		metric.WithDescription("Time each SQL statement took, by operation"),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, err
	}
	slow, err := m.Int64Counter("db.sql.slow_statements",
		metric.WithDescription("SQL statements slower than DB_SLOW_QUERY_THRESHOLD; scoped tells whether they ran for a project"))
	if err != nil {
		return nil, err
	}
	sys := attribute.String("db.system.name", system)
	o := &DBObserver{
		threshold: threshold, log: log.Named("db"), store: store, now: time.Now, scopeOf: t.scopeOf,
		duration: duration, slow: slow, opSets: map[string]metric.MeasurementOption{},
		scoped:   metric.WithAttributeSet(attribute.NewSet(sys, attribute.Bool("scoped", true))),
		unscoped: metric.WithAttributeSet(attribute.NewSet(sys, attribute.Bool("scoped", false))),
	}
	for _, op := range dbOperations {
		o.opSets[op] = metric.WithAttributeSet(attribute.NewSet(sys, attribute.String("db.operation.name", op)))
	}
	return o, nil
}

// Observe is told that sql ran for d inside ctx's unit of work.
func (o *DBObserver) Observe(ctx context.Context, sql string, d time.Duration) {
	op := operationOf(sql)
	o.duration.Record(ctx, d.Seconds(), o.opSets[op])
	if d < o.threshold {
		return
	}
	text := NormalizeCached(sql)
	sc := o.scopeOf(ctx)
	fields := []zap.Field{
		zap.Duration("duration", d),
		zap.String("operation", op),
		zap.String("statement", text),
	}
	var correlation string
	if sc.CorrelationID != "" {
		correlation = sc.CorrelationID
		fields = append(fields, zap.String("correlation_id", correlation))
	}
	traceID := TraceID(ctx)
	if traceID != "" {
		fields = append(fields, zap.String("trace_id", traceID))
	}
	if sc.Project.IsZero() {
		o.slow.Add(ctx, 1, o.unscoped)
		o.log.Warn("slow statement", fields...)
		return
	}
	o.slow.Add(ctx, 1, o.scoped)
	fields = append(fields, zap.String("project_id", sc.Project.String()))
	o.log.Warn("slow statement", fields...)
	o.store.Add(sc.Project, sc.Subject, diagnostics.SlowStatement{
		At: o.now().UTC(), Duration: d, Operation: op, Statement: text,
		CorrelationID: correlation, TraceID: traceID,
	})
}

// operationOf names a statement by its first keyword.
func operationOf(sql string) string {
	s := strings.TrimLeft(sql, " \t\n\r(")
	end := strings.IndexAny(s, " \t\n\r(")
	if end < 0 {
		end = len(s)
	}
	switch w := strings.ToLower(s[:end]); w {
	case "select", "insert", "update", "delete":
		return w
	case "with":
		return "select"
	}
	return "other"
}

// ObserveDBPool exports the pool's real statistics, read from stats at each
// collection, named as go-redis's instrumentation names the Redis pool's
// (db.client.connections.*, labelled db.system), in base units: connections
// by state (idle, used), the configured maximum, and how often and how
// long callers waited for a connection.
func (t *Telemetry) ObserveDBPool(system string, stats func() sql.DBStats) error {
	m := t.Meter()
	sys := attribute.String("db.system", system)
	attrs := metric.WithAttributeSet(attribute.NewSet(sys))
	idleAttrs := metric.WithAttributeSet(attribute.NewSet(sys, attribute.String("state", "idle")))
	usedAttrs := metric.WithAttributeSet(attribute.NewSet(sys, attribute.String("state", "used")))
	usage, err := m.Int64ObservableUpDownCounter("db.client.connections.usage",
		metric.WithDescription("Established connections by state; their sum is the pool's open connections"))
	if err != nil {
		return err
	}
	maxOpen, err := m.Int64ObservableUpDownCounter("db.client.connections.max", metric.WithDescription("The pool's maximum of open connections"))
	if err != nil {
		return err
	}
	waits, err := m.Int64ObservableCounter("db.client.connections.waits", metric.WithDescription("Times a caller waited for a connection"))
	if err != nil {
		return err
	}
	waitTime, err := poolWaitTime(m)
	if err != nil {
		return err
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		o.ObserveInt64(usage, int64(s.Idle), idleAttrs)
		o.ObserveInt64(usage, int64(s.InUse), usedAttrs)
		o.ObserveInt64(maxOpen, int64(s.MaxOpenConnections), attrs)
		o.ObserveInt64(waits, s.WaitCount, attrs)
		o.ObserveFloat64(waitTime, s.WaitDuration.Seconds(), attrs)
		return nil
	}, usage, maxOpen, waits, waitTime)
	if err != nil {
		return err
	}
	t.OnShutdown(reg.Unregister)
	return nil
}

// poolWaitTime is the total time callers waited for a pooled connection,
// in seconds, for the SQL pool and (ObserveRedisPoolWaitTime) Redis's.
func poolWaitTime(m metric.Meter) (metric.Float64ObservableCounter, error) {
	return m.Float64ObservableCounter("db.client.connections.wait_time", metric.WithUnit("s"),
		metric.WithDescription("Total time callers waited for a connection"))
}

// notInBaseUnits are go-redis's pool instruments measured in milli- or
// nanoseconds; Prometheus wants seconds, so they are not exported
// (ObserveRedisPoolWaitTime exports the wait time in seconds instead).
var notInBaseUnits = []string{"db.client.connections.create_time", "db.client.connections.use_time", "db.client.connections.waits_duration"}

// ObserveRedisPoolWaitTime exports the Redis pool's total wait time in
// seconds, read from waited at each collection.
func (t *Telemetry) ObserveRedisPoolWaitTime(pool string, waited func() time.Duration) error {
	m := t.Meter()
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("db.system", "redis"), attribute.String("pool.name", pool)))
	waitTime, err := poolWaitTime(m)
	if err != nil {
		return err
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveFloat64(waitTime, waited().Seconds(), attrs)
		return nil
	}, waitTime)
	if err != nil {
		return err
	}
	t.OnShutdown(reg.Unregister)
	return nil
}
