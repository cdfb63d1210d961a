// Package middleware holds the gin middleware every request passes through;
// their order is written out once, in bootstrap.
package middleware

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// CorrelationHeader carries the correlation id on requests and responses.
const CorrelationHeader = "X-Correlation-ID"

// Canonical forms of the headers read here, so that reading them is one
// map lookup rather than a canonicalisation first.
var (
	correlationKey = http.CanonicalHeaderKey(CorrelationHeader)
	requestIDKey   = http.CanonicalHeaderKey("X-Request-ID")
)

// RequestRecord starts the request's record (httpkit.Request), before
// anything else runs: its correlation id — a well-formed incoming
// X-Correlation-ID (or X-Request-ID), a fresh UUID otherwise, echoed on the
// response —, its path, its route template and, on a route with a
// {project_id}, that id parsed once. Tracing's sampler reads the route and
// the project; the gate's middleware decides whether the caller may act
// in that project.
//
// It also ends the request's context after timeout. The database driver
// reads without a timeout of its own, so this is what turns a dependency
// that accepts connections and never answers into a 503 (its adapter maps
// the expired context to "unavailable") instead of a request held open.
// Streams are not cut by it: they take their connection over and leave the
// request behind. Record and deadline share one copy of the request.
func RequestRecord(base *zap.Logger, timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := firstHeader(c.Request.Header, correlationKey)
		if id == "" {
			id = firstHeader(c.Request.Header, requestIDKey)
		}
		if !validCorrelation(id) {
			id = newCorrelationID()
		}
		r := httpkit.NewRequest(base, id, c.Request.Method, c.Request.URL.Path, RouteTemplate(c.FullPath()), c.Param(httpkit.ProjectParam))
		r.Over(c.Request.TLS != nil, c.Request.Header)
		c.Writer.Header()[correlationKey] = r.CorrelationHeader()
		ctx, cancel := context.WithTimeout(httpkit.WithRequest(c.Request.Context(), r), timeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

func firstHeader(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// validCorrelation accepts 1 to 128 of A-Z, a-z, 0-9, '.', '_' and '-'.
func validCorrelation(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newCorrelationID is a random (version 4) UUID in its canonical form. It
// names a request in logs, it guards nothing, so the runtime's fast
// generator serves instead of the operating system's.
func newCorrelationID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64()) //nolint:gosec // an id that names, not guards: see above
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64()) //nolint:gosec // an id that names, not guards: see above
	b[6] = b[6]&0x0f | 0x40                             // version 4
	b[8] = b[8]&0x3f | 0x80                             // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// NotFound answers unknown routes with a problem.
func NotFound(c *gin.Context) {
	httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusNotFound, "no such route"))
}

// MethodNotAllowed answers a known route asked with the wrong method.
func MethodNotAllowed(c *gin.Context) {
	httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusMethodNotAllowed, "method not allowed on this route"))
}

// AnswerHEAD serves HEAD on every GET route registered so far, through
// the same middleware and handler (RFC 9110 §9.3.2): the server sends the
// same headers and drops the body. Call it after every route is in.
func AnswerHEAD(engine *gin.Engine) {
	heads := map[string]bool{}
	for _, r := range engine.Routes() {
		if r.Method == http.MethodHead {
			heads[r.Path] = true
		}
	}
	for _, r := range engine.Routes() {
		if r.Method == http.MethodGet && !heads[r.Path] {
			engine.HEAD(r.Path, r.HandlerFunc)
		}
	}
}
