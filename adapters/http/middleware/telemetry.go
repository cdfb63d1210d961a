package middleware

import (
	"context"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
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
// instrumentation, continuing the caller's W3C traceparent, and records its
// HTTP server metrics (request duration by route template, method and
// status, and body sizes). Routes in untraced (probes, /metrics) get
// neither. server is "name:port": a constant, so that no label comes from
// the client's Host header; unknown routes share the route label
// "unmatched" and unknown methods are "_OTHER", so a client cannot create
// label values at will; no label names a project.
func Tracing(server string, tp trace.TracerProvider, propagator propagation.TextMapPropagator, mp metric.MeterProvider, untraced []string) gin.HandlerFunc {
	skip := make(map[string]bool, len(untraced))
	for _, r := range untraced {
		skip[r] = true
	}
	return otelgin.Middleware(server,
		otelgin.WithTracerProvider(tp),
		otelgin.WithPropagators(propagator),
		otelgin.WithMeterProvider(mp),
		otelgin.WithGinFilter(func(c *gin.Context) bool { return !skip[RouteTemplate(c.FullPath())] }),
		otelgin.WithGinMetricAttributeFn(func(c *gin.Context) []attribute.KeyValue {
			route := RouteTemplate(c.FullPath())
			if route == "" {
				route = "unmatched"
			}
			return []attribute.KeyValue{attribute.String("http.route", route)}
		}),
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
		if s := scope.From(ctx); s != nil && !s.Subject.IsZero() && span.IsRecording() {
			span.SetAttributes(scope.AttrSubject.String(s.Subject.String()))
		}
	}
}

// InFlight counts the requests being served, by method.
func InFlight(m metric.Meter) (gin.HandlerFunc, error) {
	active, err := m.Int64UpDownCounter("http.server.active_requests",
		metric.WithDescription("HTTP requests being served"))
	if err != nil {
		return nil, err
	}
	attrs := map[string]metric.AddOption{}
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "_OTHER"} {
		attrs[method] = metric.WithAttributeSet(attribute.NewSet(attribute.String("http.request.method", method)))
	}
	return func(c *gin.Context) {
		opt := attrs[standardMethod(c.Request.Method)]
		ctx := context.WithoutCancel(c.Request.Context())
		active.Add(ctx, 1, opt)
		defer active.Add(ctx, -1, opt)
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
