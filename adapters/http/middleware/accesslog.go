package middleware

import (
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// accessFields recycles the access line's fields: zap's cores encode or
// copy them in Write and keep nothing.
var accessFields = sync.Pool{New: func() any { s := make([]zap.Field, 0, 8); return &s }}

// AccessLog writes one line per request. It logs the route template, not
// the raw path, and never the query string or headers (they may hold tokens).
// The line carries the request's correlation and trace ids as fields of its
// own rather than through the request's logger: that logger is built
// only for requests that log something else. The caller (always
// this file) is left out: capturing it costs a stack walk per request.
func AccessLog(base *zap.Logger) gin.HandlerFunc {
	log := base.WithOptions(zap.WithCaller(false))
	return func(c *gin.Context) {
		start := time.Now()
		ctx := c.Request.Context() // Tracing put the trace context here
		c.Next()
		r := httpkit.RequestOf(ctx)
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		buf := accessFields.Get().(*[]zap.Field)
		defer accessFields.Put(buf)
		fields := (*buf)[:0]
		if id := r.CorrelationID(); id != "" {
			fields = append(fields, zap.String("correlation_id", id))
		}
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			fields = append(fields, zap.Stringer("trace_id", sc.TraceID()))
		}
		fields = append(fields,
			zap.String("method", c.Request.Method),
			zap.String("route", route),
			zap.Int("status", status),
			zap.Duration("duration", time.Since(start)),
			zap.Int("bytes", max(c.Writer.Size(), 0)),
		)
		if s := r.Subject(); !s.IsZero() {
			if key, isKey := s.Key(); isKey {
				fields = append(fields, zap.String("key_id", key.String()))
			} else {
				fields = append(fields, zap.String("subject", s.String()))
			}
		}
		switch {
		case status >= 500:
			log.Error("request", fields...)
		case status >= 400:
			log.Warn("request", fields...)
		default:
			log.Info("request", fields...)
		}
	}
}
