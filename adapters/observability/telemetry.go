// Package observability is the OpenTelemetry adapter: the tracer and meter
// providers, the project-aware sampler, the exporter whose failures are
// reported but never felt by requests, Prometheus metrics, database and
// stream instruments, and the slow-statement log. Telemetry is optional by
// nature: nothing here can fail a request or block the start or the stop.
package observability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/domain/kernel"
)

// OTLP protocols (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// Settings is what the telemetry needs, already validated by the
// configuration: the standard OTEL_* variables and the service's own.
type Settings struct {
	// Disabled (OTEL_SDK_DISABLED) turns every signal into a no-op.
	Disabled           bool
	ServiceName        string
	ServiceVersion     string
	ResourceAttributes map[string]string
	// Endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) is the collector's base URL;
	// TracesEndpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) overrides it for
	// traces, as is. Neither set means no exporter.
	Endpoint       string
	TracesEndpoint string
	Protocol       string
	// ExportTimeout bounds one export, retries included.
	ExportTimeout time.Duration
	// ScheduleDelay is how long spans wait in the batch before export.
	ScheduleDelay        time.Duration
	Sampler              string
	SamplerRatio         float64
	AlwaysSampleProjects []kernel.ProjectID
	// NeverSampleRoutes are route templates that are never traced.
	NeverSampleRoutes []string
	// ErrorLogInterval is the least time between two lines about export
	// errors (one minute when zero); ProbeInterval how often the collector's
	// address is dialled (30 s when zero).
	ErrorLogInterval time.Duration
	ProbeInterval    time.Duration
	// ScopeOf reads the scope of a unit of work, which the sampler,
	// every span and the slow-statement log are attributed by; nil reads none.
	ScopeOf ScopeFunc
}

// TracesURL is the URL traces are sent to, or "" when none is configured:
// the signal-specific endpoint as is, else the base endpoint, with /v1/traces
// appended for http/protobuf as the OTLP specification says.
func (s Settings) TracesURL() string {
	if s.TracesEndpoint != "" {
		return s.TracesEndpoint
	}
	if s.Endpoint == "" {
		return ""
	}
	if s.Protocol == ProtocolGRPC {
		return s.Endpoint
	}
	return strings.TrimRight(s.Endpoint, "/") + "/v1/traces"
}

// CheckEndpoint validates an OTLP endpoint URL.
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be a URL such as http://collector:4318")
	}
	return nil
}

// ParseResourceAttributes reads OTEL_RESOURCE_ATTRIBUTES: comma-separated
// key=value pairs whose values may be percent-encoded.
func ParseResourceAttributes(raw string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(raw, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", pair)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q has a badly encoded value", pair)
		}
		out[k] = val
	}
	return out, nil
}

// Telemetry owns the providers and the health of the export pipeline.
type Telemetry struct {
	settings   Settings
	log        *zap.Logger
	tp         trace.TracerProvider
	sdkTP      *sdktrace.TracerProvider
	mp         metric.MeterProvider
	sdkMP      *sdkmetric.MeterProvider
	registry   *prometheus.Registry
	propagator propagation.TextMapPropagator
	health     *health
	probeAddr  string
	exporting  bool
	trickle    *Trickle
	scopeOf    ScopeFunc

	mu          sync.Mutex
	stopProbe   context.CancelFunc
	probeDone   chan struct{}
	unregisters []func() error
}

// New builds the providers. It never dials anything: the exporter connects
// lazily, so an absent collector cannot delay or fail the start.
func New(s Settings, log *zap.Logger) (*Telemetry, error) {
	if s.ErrorLogInterval <= 0 {
		s.ErrorLogInterval = time.Minute
	}
	if s.ProbeInterval <= 0 {
		s.ProbeInterval = 30 * time.Second
	}
	if s.ScopeOf == nil {
		s.ScopeOf = noScope
	}
	log = log.Named("telemetry")
	t := &Telemetry{
		settings:   s,
		log:        log,
		health:     newHealth(time.Now),
		trickle:    NewTrickle(time.Second, time.Now),
		scopeOf:    s.ScopeOf,
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	errs := newRateLimited(log, "telemetry error", s.ErrorLogInterval, time.Now)
	installGlobalErrorHandler(errs)
	otel.SetTextMapPropagator(t.propagator)

	if s.Disabled {
		t.tp = tracenoop.NewTracerProvider()
		t.mp = metricnoop.NewMeterProvider()
		t.health.disable("OTEL_SDK_DISABLED is true: no traces, no metrics")
		return t, nil
	}

	attrs := []attribute.KeyValue{}
	for k, v := range s.ResourceAttributes {
		attrs = append(attrs, attribute.String(k, v))
	}
	// OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES.
	attrs = append(attrs, attribute.String("service.name", s.ServiceName))
	if s.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", s.ServiceVersion))
	}
	res, err := resource.New(context.Background(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}

	t.registry = prometheus.NewRegistry()
	t.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reader, err := otelprom.New(otelprom.WithRegisterer(t.registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithReader(reader), sdkmetric.WithResource(res)}
	for _, name := range notInBaseUnits {
		opts = append(opts, sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: name}, sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})))
	}
	t.sdkMP = sdkmetric.NewMeterProvider(opts...)
	t.mp = t.sdkMP

	target := s.TracesURL()
	if target == "" {
		// No exporter: spans are never recorded, but trace ids are still
		// made (and taken from traceparent) so logs and problems carry one.
		t.sdkTP = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithResource(res))
		t.tp = t.sdkTP
		t.health.disable("no OTEL_EXPORTER_OTLP_ENDPOINT: traces are not exported (metrics are served)")
		return t, nil
	}
	exporter, err := newExporter(s, target)
	if err != nil {
		return nil, err
	}
	base, err := StandardSampler(s.Sampler, s.SamplerRatio)
	if err != nil {
		return nil, err
	}
	failures, err := t.Meter().Int64Counter("telemetry.export.failures",
		metric.WithDescription("Span batches the collector did not accept (they are dropped)"))
	if err != nil {
		return nil, err
	}
	monitored := &monitoredExporter{next: exporter, health: t.health, errs: errs, log: log, timeout: s.ExportTimeout, failures: failures}
	bsp := sdktrace.NewBatchSpanProcessor(monitored,
		sdktrace.WithBatchTimeout(s.ScheduleDelay),
		sdktrace.WithExportTimeout(s.ExportTimeout),
	)
	t.sdkTP = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(NewProjectSampler(base, s.ScopeOf, s.AlwaysSampleProjects, s.NeverSampleRoutes, t.health.failing, t.trickle)),
		sdktrace.WithSpanProcessor(scopeAttributes{scopeOf: s.ScopeOf}),
		sdktrace.WithSpanProcessor(bsp),
	)
	t.tp = t.sdkTP
	t.probeAddr = hostPort(target)
	t.exporting = true
	return t, nil
}

func newExporter(s Settings, target string) (sdktrace.SpanExporter, error) {
	ctx := context.Background()
	switch s.Protocol {
	case ProtocolGRPC:
		// The gRPC client connects lazily (grpc.NewClient): New never blocks.
		return otlptracegrpc.New(ctx,
			otlptracegrpc.WithEndpointURL(target),
			otlptracegrpc.WithTimeout(s.ExportTimeout),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 250 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: s.ExportTimeout}),
		)
	case ProtocolHTTPProtobuf:
		return otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(target),
			otlptracehttp.WithTimeout(s.ExportTimeout),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 250 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: s.ExportTimeout}),
		)
	}
	return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q is not supported", s.Protocol)
}

func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Start begins probing the collector's address in the background; it
// returns at once.
func (t *Telemetry) Start(ctx context.Context) {
	if t.probeAddr == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopProbe != nil {
		return
	}
	// The prober outlives the start hook that calls Start: keep ctx's
	// values, not its deadline.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.stopProbe, t.probeDone = cancel, make(chan struct{})
	go func() {
		defer close(t.probeDone)
		probe(ctx, t.probeAddr, t.settings.ProbeInterval, 2*time.Second, t.health)
	}()
	t.log.Info("traces exported", zap.String("endpoint", t.settings.TracesURL()), zap.String("protocol", t.settings.Protocol))
}

// Shutdown flushes what it can before ctx ends and releases the providers.
// It never returns an error: spans that cannot be delivered in time are
// dropped and logged, and the process stops on time regardless.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if t.stopProbe != nil {
		t.stopProbe()
		<-t.probeDone
		t.stopProbe = nil
	}
	unregisters := t.unregisters
	t.unregisters = nil
	t.mu.Unlock()
	for _, u := range unregisters {
		_ = u()
	}
	var errs []error
	if t.sdkTP != nil {
		errs = append(errs, t.sdkTP.Shutdown(ctx))
	}
	if t.sdkMP != nil {
		errs = append(errs, t.sdkMP.Shutdown(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		t.log.Warn("telemetry did not flush before the shutdown deadline; undelivered spans were dropped", zap.Error(err))
	}
	return nil
}

// State is the pipeline's condition for readiness.
func (t *Telemetry) State() State { return t.health.state() }

// TracerProvider is the provider every instrumentation must be given.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// MeterProvider is the provider every instrument is created from.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// Propagator reads and writes W3C traceparent and baggage.
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.propagator }

// Tracing reports whether requests carry a trace context (false when the
// SDK is disabled).
func (t *Telemetry) Tracing() bool { return t.sdkTP != nil }

// Exporting reports whether spans are recorded and exported at all (an
// endpoint is configured).
func (t *Telemetry) Exporting() bool { return t.exporting }

// Admit tells an inbound adapter whether the work it is starting may be
// recorded as a new trace: always while exports succeed, one trace a second
// while they fail, never without an exporter. Work not admitted still gets
// a trace id, but no span is built for it.
func (t *Telemetry) Admit() bool {
	if !t.exporting {
		return false
	}
	return !t.health.failing() || t.trickle.Allow()
}

// MetricsHandler serves the Prometheus text format, or is nil when
// telemetry is disabled.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t.registry == nil {
		return nil
	}
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Meter returns a meter of the service's own instruments.
func (t *Telemetry) Meter() metric.Meter {
	return t.mp.Meter("github.com/scoped-api/foundation")
}

// OnShutdown registers fn to run when the telemetry stops, before the
// providers shut down (callback registrations that must not outlive them).
func (t *Telemetry) OnShutdown(fn func() error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unregisters = append(t.unregisters, fn)
}

// TraceID returns the hex trace id of the span in ctx, or "".
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// scopeAttributes copies the unit of work's correlation id, caller and
// project onto every span as it starts, so HTTP, SQL and Redis spans all
// carry them without each instrumentation knowing about scopes.
type scopeAttributes struct{ scopeOf ScopeFunc }

func (a scopeAttributes) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	annotate(a.scopeOf(parent), s)
}
func (scopeAttributes) OnEnd(sdktrace.ReadOnlySpan)      {}
func (scopeAttributes) Shutdown(context.Context) error   { return nil }
func (scopeAttributes) ForceFlush(context.Context) error { return nil }
