package bootstrap

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/health"
	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/adapters/http/middleware"
	"github.com/scoped-api/foundation/adapters/observability"
	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/ports/shared"
)

// TelemetryModule is tracing, metrics and the slow-statement log. Nothing in
// it can fail a request or hold up the start or the stop: the exporter
// connects lazily, failures show in readiness as "degraded", and the flush
// at stop shares the shutdown budget.
var TelemetryModule = fx.Module("telemetry",
	fx.Provide(
		fx.Private,
		newStopBudget,
	),
	fx.Provide(
		NewTelemetry,
		newHTTPTelemetry,
		newSlowStatements,
		fx.Annotate(newStreamMetrics, fx.As(new(shared.StreamMetrics))),
		fx.Annotate(telemetryCheck, fx.ResultTags(`group:"readiness"`)),
	),
	fx.Invoke(instrumentDatabase, serveMetrics, serveDebug),
)

// neverSampled are the routes no trace is ever recorded for.
var neverSampled = []string{"/health/live", "/health/ready", "/metrics"}

var traceIDSource sync.Once

// NewTelemetry builds the providers from the configuration and hooks them
// to the lifecycle: probing starts with the app, the flush ends within the
// shutdown timeout.
func NewTelemetry(lc fx.Lifecycle, cfg Config, log *zap.Logger, budget *stopBudget) (*observability.Telemetry, error) {
	c := cfg.OTel
	tel, err := observability.New(observability.Settings{
		Disabled:             c.Disabled,
		ServiceName:          c.ServiceName,
		ServiceVersion:       Build().Version,
		ResourceAttributes:   c.Resource,
		Endpoint:             c.Endpoint,
		TracesEndpoint:       c.TracesEndpoint,
		Protocol:             c.Protocol,
		ExportTimeout:        time.Duration(c.ExportTimeoutMS) * time.Millisecond,
		ScheduleDelay:        time.Duration(c.ScheduleDelayMS) * time.Millisecond,
		Sampler:              c.Sampler,
		SamplerRatio:         c.SamplerRatio,
		AlwaysSampleProjects: c.AlwaysProjects,
		NeverSampleRoutes:    neverSampled,
		ScopeOf:              requestScope,
	}, log)
	if err != nil {
		return nil, err
	}
	traceIDSource.Do(func() { httpkit.SetTraceIDSource(observability.TraceID) })
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			tel.Start(ctx)
			st := tel.State()
			log.Info("telemetry", zap.String("status", st.Status), zap.String("reason", st.Reason))
			return nil
		},
		OnStop: func(ctx context.Context) error {
			ctx, cancel := budget.context(ctx)
			defer cancel()
			return tel.Shutdown(ctx)
		},
	})
	return tel, nil
}

// requestScope is what telemetry attributes a unit of work by: the HTTP
// request's record, the one place its identity is kept.
func requestScope(ctx context.Context) observability.Scope {
	r := httpkit.RequestOf(ctx)
	if r == nil {
		return observability.Scope{}
	}
	return observability.Scope{CorrelationID: r.CorrelationID(), Route: r.Route(), Project: r.ProjectID(), Subject: r.Subject()}
}

// HTTPTelemetry is what the HTTP module installs; newEngine decides where.
type HTTPTelemetry struct {
	// Tracing continues the caller's trace, starts the server span when one
	// can be recorded and puts the trace id on the request's log lines;
	// empty when disabled.
	Tracing []gin.HandlerFunc
	// Metrics records request durations and requests in flight; empty when disabled.
	Metrics []gin.HandlerFunc
	// MetricsOnMain serves GET /metrics on the main listener; nil unless
	// METRICS_ADDR is unset and the main listener is bound to loopback.
	MetricsOnMain http.Handler
}

func newHTTPTelemetry(cfg Config, tel *observability.Telemetry, log *zap.Logger) (HTTPTelemetry, error) {
	var h HTTPTelemetry
	metrics := tel.MetricsHandler()
	if !tel.Tracing() || metrics == nil {
		return h, nil
	}
	_, port, _ := net.SplitHostPort(cfg.HTTP.Addr)
	h.Tracing = []gin.HandlerFunc{
		middleware.Tracing(net.JoinHostPort(cfg.OTel.ServiceName, port), tel.TracerProvider(), tel.Propagator(), neverSampled, tel.Admit),
		middleware.TraceContext(),
	}
	m, err := middleware.Metrics(tel.Meter())
	if err != nil {
		return h, err
	}
	h.Metrics = []gin.HandlerFunc{m}
	switch {
	case cfg.OTel.MetricsAddr != "":
	case IsLoopback(cfg.HTTP.Addr):
		h.MetricsOnMain = metrics
	default:
		log.Warn("GET /metrics is not served: HTTP_ADDR is not a loopback address and METRICS_ADDR is unset; set METRICS_ADDR to an internal address to expose metrics",
			zap.String("http_addr", cfg.HTTP.Addr))
	}
	return h, nil
}

func newSlowStatements() *observability.SlowStatements {
	return observability.NewSlowStatements(time.Now)
}

func newStreamMetrics(tel *observability.Telemetry) (*observability.StreamMetrics, error) {
	return tel.NewStreamMetrics()
}

// instrumentDatabase adds the statement-duration histogram, the
// slow-statement log and the pool gauges (NewDatabase adds the spans).
func instrumentDatabase(db *postgres.DB, tel *observability.Telemetry, slow *observability.SlowStatements, cfg Config, log *zap.Logger) error {
	obs, err := tel.NewDBObserver(db.System(), cfg.OTel.SlowQueryThreshold, slow, log)
	if err != nil {
		return err
	}
	if err := db.Observe(obs.Observe); err != nil {
		return err
	}
	return tel.ObserveDBPool(db.System(), db.Stats)
}

// serveMetrics serves GET /metrics on METRICS_ADDR when it is set. A
// listener that cannot be opened is logged, not fatal: metrics are optional.
func serveMetrics(lc fx.Lifecycle, cfg Config, tel *observability.Telemetry, log *zap.Logger, budget *stopBudget, _ *Server) {
	// Depending on the server puts this hook after the server's, so it runs
	// first at stop: the moment the shutdown budget starts.
	lc.Append(fx.Hook{OnStop: func(context.Context) error { budget.begin(); return nil }})
	handler := tel.MetricsHandler()
	if cfg.OTel.MetricsAddr == "" || handler == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", handler)
	serveAside(lc, sideListener{
		what: "GET /metrics", variable: "METRICS_ADDR", addr: cfg.OTel.MetricsAddr, path: "/metrics",
		server: &http.Server{Handler: mux, ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout, WriteTimeout: cfg.HTTP.WriteTimeout},
	}, log, budget)
}

// sideListener is an optional listener beside the main one: one that
// cannot open is logged, never fatal, since nothing a client needs is
// served there.
type sideListener struct {
	what, variable, addr, path string
	server                     *http.Server
}

func serveAside(lc fx.Lifecycle, l sideListener, log *zap.Logger, budget *stopBudget) {
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", l.addr)
			if err != nil {
				log.Error(l.what+" is not served: cannot listen on "+l.variable, zap.String("addr", l.addr), zap.Error(err))
				return nil
			}
			go func() {
				if err := l.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error(l.what+" server failed", zap.Error(err))
				}
			}()
			log.Info(l.what+" listening", zap.String("url", "http://"+ln.Addr().String()+l.path))
			return nil
		},
		OnStop: func(ctx context.Context) error {
			ctx, cancel := budget.context(ctx)
			defer cancel()
			if err := l.server.Shutdown(ctx); err != nil {
				_ = l.server.Close()
			}
			return nil
		},
	})
}

func telemetryCheck(tel *observability.Telemetry) health.Check {
	return health.Check{Name: "telemetry", Required: false, Report: func() health.Report {
		st := tel.State()
		since := st.Since.UTC()
		return health.Report{Status: st.Status, Reason: st.Reason, Since: &since}
	}}
}

// stopBudget makes the whole stop — draining requests, then flushing
// telemetry — fit in HTTP_SHUTDOWN_TIMEOUT: the clock starts when the stop
// begins, and later steps get what is left.
type stopBudget struct {
	timeout time.Duration
	once    sync.Once
	mu      sync.Mutex
	began   time.Time
}

func newStopBudget(cfg Config) *stopBudget { return &stopBudget{timeout: cfg.HTTP.ShutdownTimeout} }

func (b *stopBudget) begin() {
	b.once.Do(func() {
		b.mu.Lock()
		b.began = time.Now()
		b.mu.Unlock()
	})
}

// context bounds ctx by what is left of the budget.
func (b *stopBudget) context(ctx context.Context) (context.Context, context.CancelFunc) {
	b.begin()
	b.mu.Lock()
	deadline := b.began.Add(b.timeout)
	b.mu.Unlock()
	return context.WithDeadline(ctx, deadline)
}
