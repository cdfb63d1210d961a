package middleware

import (
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// AccessLog writes one line per request. It logs the route template, not
// the raw path, and never the query string or headers (they may hold tokens).
func AccessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		info := httpkit.Info(c.Request.Context())
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		fields := []zap.Field{
			zap.String("method", c.Request.Method),
			zap.String("route", route),
			zap.Int("status", status),
			zap.Duration("duration", time.Since(start)),
			zap.Int("bytes", max(c.Writer.Size(), 0)),
		}
		if !info.Subject.IsZero() {
			fields = append(fields, zap.String("subject", info.Subject.String()))
		}
		log := httpkit.Logger(c.Request.Context())
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
