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

// RequestRecord starts the request's record (httpkit.Request), before
// anything else runs: its correlation id — a well-formed incoming
// X-Correlation-ID (or X-Request-ID), a fresh UUID otherwise, echoed on the
// response —, its path, its route template and, on a route with a
// {project_id}, that id parsed once. Tracing's sampler reads the route and
// the project; the gate's middleware decides whether the caller may act
// in that project.
func RequestRecord(base *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(CorrelationHeader)
		if id == "" {
			id = c.GetHeader("X-Request-ID")
		}
		if !validCorrelation.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header(CorrelationHeader, id)
		r := httpkit.NewRequest(base, id, c.Request.URL.Path, RouteTemplate(c.FullPath()), c.Param(httpkit.ProjectParam))
		c.Request = c.Request.WithContext(httpkit.WithRequest(c.Request.Context(), r))
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
