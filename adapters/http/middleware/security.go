package middleware

import (
	"mime"
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

// headerSet is a fixed set of response headers, built once with canonical
// keys, and a slice rather than a map because applying it is a walk; each
// value slice has len == cap, so a later Header().Add copies instead of
// writing into the shared array.
type headerSet []headerField

type headerField struct {
	key   string
	value []string
}

func newHeaderSet(kv ...string) headerSet {
	var h headerSet
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, headerField{http.CanonicalHeaderKey(kv[i]), []string{kv[i+1]}[:1:1]})
	}
	return h
}

func (s headerSet) apply(h http.Header) {
	for _, f := range s {
		h[f.key] = f.value
	}
}

var (
	commonHeaders = newHeaderSet(
		"Strict-Transport-Security", "max-age=63072000; includeSubDomains",
		"X-Content-Type-Options", "nosniff",
		"X-Frame-Options", "DENY",
		"X-XSS-Protection", "0",
		"Referrer-Policy", "no-referrer",
		"Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()",
		"Cross-Origin-Opener-Policy", "same-origin",
		"Cross-Origin-Resource-Policy", "same-origin",
	)
	apiHeaders  = newHeaderSet("Content-Security-Policy", apiCSP, "Cache-Control", "no-store")
	docsHeaders = newHeaderSet("Content-Security-Policy", docsCSP, "Cache-Control", "no-cache")
)

// SecurityHeaders sets the headers every response carries. API responses
// are never cached; only the docs page may load scripts and styles.
func SecurityHeaders(docsPrefix string) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		commonHeaders.apply(h)
		if c.Request.URL.Path == docsPrefix || strings.HasPrefix(c.Request.URL.Path, docsPrefix+"/") {
			docsHeaders.apply(h)
		} else {
			apiHeaders.apply(h)
		}
		c.Next()
	}
}

// BodyLimit refuses bodies over max bytes with 413: at once when the
// declared length says so, and while reading when it does not.
func BodyLimit(maxBytes int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBytes {
			httpkit.WriteProblem(c.Writer, httpkit.TooLarge(c.Request.Context(), maxBytes))
			c.Abort()
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
		}
		c.Next()
	}
}

// JSONBodies refuses a request body that declares a media type other than
// JSON (application/json or any +json type) with 415, so that what is
// accepted does not depend on a decoder's leniency, and passes the media
// type on in its canonical lower-case form (media types are
// case-insensitive). A body without a Content-Type is read as JSON.
func JSONBodies() gin.HandlerFunc {
	return func(c *gin.Context) {
		ct := firstHeader(c.Request.Header, "Content-Type")
		if ct == "" || (c.Request.ContentLength == 0 && c.Request.TransferEncoding == nil) {
			c.Next()
			return
		}
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusUnsupportedMediaType, "request bodies must be JSON (Content-Type: application/json)"))
			c.Abort()
			return
		}
		c.Request.Header.Set("Content-Type", mt)
		c.Next()
	}
}
