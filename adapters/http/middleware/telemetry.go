package middleware

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/adapters/observability/scope"
	"github.com/scoped-api/foundation/domain/kernel"
)

// ProjectParam is the path parameter that puts a route in a project's scope.
const ProjectParam = "project_id"

// Scope records the request's route template and, on routes with a
// {project_id}, its project in the context, before tracing starts: the
// sampler reads them, and every span, slow statement and log line of the
// request is attributed by them. The project comes from the path; the
// handler still checks that the caller may see it.
func Scope() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		s := &scope.Scope{CorrelationID: httpkit.Info(ctx).CorrelationID, Route: RouteTemplate(c.FullPath())}
		if raw := c.Param(ProjectParam); raw != "" {
			if id, err := kernel.ParseProjectID(raw); err == nil {
				s.Project = id
			}
		}
		c.Request = c.Request.WithContext(scope.With(ctx, s))
		c.Next()
	}
}

// ScopeSubject is a huma middleware, placed after authentication, that
// adds the authenticated caller to the request's scope.
func ScopeSubject(ctx huma.Context, next func(huma.Context)) {
	if s := scope.From(ctx.Context()); s != nil {
		s.Subject = httpkit.Info(ctx.Context()).Subject
	}
	next(ctx)
}

// Tracing starts a server span per request with the OpenTelemetry gin
// instrumentation, continuing the caller's W3C traceparent. Its own HTTP
// metrics are off: Metrics records them with bounded labels.
func Tracing(service string, tp trace.TracerProvider, propagator propagation.TextMapPropagator) gin.HandlerFunc {
	return otelgin.Middleware(service,
		otelgin.WithTracerProvider(tp),
		otelgin.WithPropagators(propagator),
		otelgin.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}

// TraceContext, after Tracing, puts the trace id on every log line of the
// request and, when the request ends, the caller on its span.
func TraceContext() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		span := trace.SpanFromContext(ctx)
		if sc := span.SpanContext(); sc.HasTraceID() {
			info := httpkit.Info(ctx)
			if info.Logger != nil {
				info.Logger = info.Logger.With(zap.String("trace_id", sc.TraceID().String()))
			}
		}
		if span.IsRecording() {
			if s := scope.From(ctx); s != nil && s.Route != "" {
				span.SetAttributes(attribute.String("http.route", s.Route))
			}
		}
		c.Next()
		scope.Annotate(ctx, span)
	}
}

// Metrics records the request duration histogram by route template,
// method and status, and the number of requests in flight. Unknown routes
// share one label value and unknown methods another, so a client cannot
// create label values at will; no label names a project.
func Metrics(m metric.Meter) (gin.HandlerFunc, error) {
	duration, err := m.Float64Histogram("http.server.request.duration",
		metric.WithDescription("Duration of HTTP requests, by route template, method and status"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err != nil {
		return nil, err
	}
	active, err := m.Int64UpDownCounter("http.server.active_requests",
		metric.WithDescription("HTTP requests being served"))
	if err != nil {
		return nil, err
	}
	return func(c *gin.Context) {
		method := standardMethod(c.Request.Method)
		methodAttr := metric.WithAttributeSet(attribute.NewSet(attribute.String("http.request.method", method)))
		ctx := context.WithoutCancel(c.Request.Context())
		active.Add(ctx, 1, methodAttr)
		start := time.Now()
		defer func() {
			active.Add(ctx, -1, methodAttr)
			route := RouteTemplate(c.FullPath())
			if route == "" {
				route = "unmatched"
			}
			duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(
				attribute.String("http.route", route),
				attribute.String("http.request.method", method),
				attribute.Int("http.response.status_code", c.Writer.Status()),
			)))
		}()
		c.Next()
	}, nil
}

func standardMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "_OTHER"
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
