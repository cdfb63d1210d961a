package middleware

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

const (
	apiCSP = "default-src 'none'; frame-ancestors 'none'"
	// Swagger UI needs its own scripts, its inline styles, data: images and
	// a fetch of /openapi.json; nothing else, and nothing from elsewhere.
	docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

// SecurityHeaders sets the headers every response carries. API responses
// are never cached; only the docs page may load scripts and styles.
func SecurityHeaders(docsPrefix string) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-XSS-Protection", "0")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if c.Request.URL.Path == docsPrefix || strings.HasPrefix(c.Request.URL.Path, docsPrefix+"/") {
			h.Set("Content-Security-Policy", docsCSP)
			h.Set("Cache-Control", "no-cache")
		} else {
			h.Set("Content-Security-Policy", apiCSP)
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// BodyLimit refuses bodies over max bytes with 413: at once when the
// declared length says so, and while reading when it does not.
func BodyLimit(maxBytes int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBytes {
			httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusRequestEntityTooLarge, "request body is too large"))
			c.Abort()
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
		}
		c.Next()
	}
}
