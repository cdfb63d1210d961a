package middleware

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// Tracing continues the caller's W3C trace context on every request. When
// admit says the request may be recorded, the OpenTelemetry gin
// instrumentation starts its server span; otherwise — no exporter, or the
// collector failing — no span is built, and the request only carries the
// incoming trace context or a fresh trace id, so logs and problems still
// have one. Routes in untraced (probes, /metrics) get neither. server is
// "name:port", a constant, so no span attribute comes from the client's
// Host header.
func Tracing(server string, tp trace.TracerProvider, propagator propagation.TextMapPropagator, untraced []string, admit func() bool) gin.HandlerFunc {
	skip := make(map[string]bool, len(untraced))
	for _, r := range untraced {
		skip[r] = true
	}
	span := otelgin.Middleware(server,
		otelgin.WithTracerProvider(tp),
		otelgin.WithPropagators(propagator),
		otelgin.WithMeterProvider(metricnoop.NewMeterProvider()), // Metrics records them, with bounded labels
	)
	return func(c *gin.Context) {
		if skip[RouteTemplate(c.FullPath())] {
			c.Next()
			return
		}
		if admit() {
			span(c)
			return
		}
		ctx := c.Request.Context()
		if carriesTraceContext(c.Request.Header) {
			ctx = propagator.Extract(ctx, propagation.HeaderCarrier(c.Request.Header))
		}
		if !trace.SpanContextFromContext(ctx).IsValid() {
			ctx = trace.ContextWithSpanContext(ctx, newSpanContext())
		}
		saved := c.Request
		c.Request = c.Request.WithContext(ctx)
		defer func() { c.Request = saved }()
		c.Next()
	}
}

// carriesTraceContext reports whether the request has any header the W3C
// propagators read; without one, extracting finds nothing.
func carriesTraceContext(h http.Header) bool {
	return len(h["Traceparent"]) > 0 || len(h["Tracestate"]) > 0 || len(h["Baggage"]) > 0
}

// newSpanContext makes an unsampled span context with fresh random ids.
// They correlate a request's log lines and problems and guard nothing,
// so the runtime's fast generator serves, as the SDK's own id generator's
// does.
func newSpanContext() trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	binary.LittleEndian.PutUint64(tid[:8], rand.Uint64()) //nolint:gosec // an id that names, not guards: see above
	binary.LittleEndian.PutUint64(tid[8:], rand.Uint64()) //nolint:gosec // an id that names, not guards: see above
	binary.LittleEndian.PutUint64(sid[:], rand.Uint64())  //nolint:gosec // an id that names, not guards: see above
	tid[15] |= 1                                          // an all-zero id is invalid
	sid[7] |= 1
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
}

// TraceContext, after Tracing, puts the route template on the request's
// span and, when the request ends, the caller.
func TraceContext() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			c.Next()
			return
		}
		r := httpkit.RequestOf(ctx)
		if route := r.Route(); route != "" {
			span.SetAttributes(attribute.String("http.route", route))
		}
		c.Next()
		if s := r.Subject(); !s.IsZero() {
			span.SetAttributes(attribute.String("subject", s.String())) // the key telemetry uses for callers
		}
	}
}

// Metrics records the request duration histogram by route template,
// method and status, and the number of requests in flight. Unknown routes
// share the route "unmatched" and unknown methods "_OTHER", so a client
// cannot create label values at will; no label names a project.
func Metrics(m metric.Meter) (gin.HandlerFunc, error) {
	duration, err := m.Float64Histogram("http.server.request.duration",
		metric.WithDescription("Duration of HTTP requests, by route template, method and status"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err != nil {
		return nil, err
	}
	// Requests in flight are counted with one atomic add per method, and
	// read by the SDK when it collects, rather than two SDK measurements
	// per request. A method shows up once it has been served, as with a
	// synchronous counter.
	var inFlight [len(standardMethods)]struct {
		n    atomic.Int64
		seen atomic.Bool
	}
	methodAttrs := make([]metric.ObserveOption, len(standardMethods))
	for i, method := range standardMethods {
		methodAttrs[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("http.request.method", method)))
	}
	_, err = m.Int64ObservableUpDownCounter("http.server.active_requests",
		metric.WithDescription("HTTP requests being served"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for i := range inFlight {
				if inFlight[i].seen.Load() {
					o.Observe(inFlight[i].n.Load(), methodAttrs[i])
				}
			}
			return nil
		}))
	if err != nil {
		return nil, err
	}
	var sets sync.Map // seriesKey -> metric.RecordOption; bounded by routes × methods × statuses
	return func(c *gin.Context) {
		mi := methodIndex(c.Request.Method)
		method := standardMethods[mi]
		ctx := c.Request.Context() // the SDK reads only its span, for exemplars
		active := &inFlight[mi]
		active.n.Add(1)
		active.seen.Store(true)
		start := time.Now()
		defer func() {
			active.n.Add(-1)
			key := seriesKey{route: c.FullPath(), method: method, status: c.Writer.Status()}
			opt, ok := sets.Load(key)
			if !ok {
				route := RouteTemplate(key.route)
				if route == "" {
					route = "unmatched"
				}
				opt, _ = sets.LoadOrStore(key, metric.WithAttributeSet(attribute.NewSet(
					attribute.String("http.route", route),
					attribute.String("http.request.method", method),
					attribute.Int("http.response.status_code", key.status),
				)))
			}
			duration.Record(ctx, time.Since(start).Seconds(), opt.(metric.RecordOption))
		}()
		c.Next()
	}, nil
}

type seriesKey struct {
	route, method string
	status        int
}

// standardMethods are the method labels; anything else is "_OTHER".
var standardMethods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "_OTHER"}

func methodIndex(m string) int {
	for i, s := range standardMethods[:len(standardMethods)-1] {
		if s == m {
			return i
		}
	}
	return len(standardMethods) - 1
}

var templates sync.Map // gin path -> route template

// RouteTemplate turns a gin route ("/projects/:project_id") into the API
// document's template ("/projects/{project_id}").
func RouteTemplate(ginPath string) string {
	if ginPath == "" {
		return ""
	}
	if t, ok := templates.Load(ginPath); ok {
		return t.(string)
	}
	parts := strings.Split(ginPath, "/")
	for i, p := range parts {
		if len(p) > 1 && (p[0] == ':' || p[0] == '*') {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	t := strings.Join(parts, "/")
	templates.Store(ginPath, t)
	return t
}
