// Package middleware holds the gin middleware every request passes through;
// their order is written out once, in bootstrap.
package middleware

import (
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// CorrelationHeader carries the correlation id on requests and responses.
const CorrelationHeader = "X-Correlation-ID"

var validCorrelation = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// Correlation keeps a well-formed incoming X-Correlation-ID (or
// X-Request-ID), replaces anything else with a fresh UUID, and puts it on
// the response, the request's logger and its context.
func Correlation(base *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(CorrelationHeader)
		if id == "" {
			id = c.GetHeader("X-Request-ID")
		}
		if !validCorrelation.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header(CorrelationHeader, id)
		info := &httpkit.RequestInfo{
			CorrelationID: id,
			Path:          c.Request.URL.Path,
			Logger:        base.WithLazy(zap.String("correlation_id", id)),
		}
		c.Request = c.Request.WithContext(httpkit.WithRequestInfo(c.Request.Context(), info))
		c.Next()
	}
}

// NotFound answers unknown routes with a problem.
func NotFound(c *gin.Context) {
	httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusNotFound, "no such route"))
}

// MethodNotAllowed answers a known route asked with the wrong method.
func MethodNotAllowed(c *gin.Context) {
	httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusMethodNotAllowed, "method not allowed on this route"))
}
