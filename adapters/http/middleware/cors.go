package middleware

import (
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
)

// CORS allows browsers on the listed origins, and only those, to call the
// API with a bearer token and with credentials: the ticket endpoints' pass
// cookie is set, and EventSource({withCredentials: true}) presents it,
// only on a credentialed request. It is only installed when origins are
// configured.
func CORS(origins []string) gin.HandlerFunc {
	return cors.New(cors.Config{
		AllowOrigins:     origins,
		AllowMethods:     []string{"GET", "POST", "PATCH", "DELETE", "OPTIONS"},
		AllowHeaders:     []string{"Authorization", "Content-Type", CorrelationHeader, "X-Request-ID", "Last-Event-ID", IdempotencyKeyHeader, "If-Match", "If-None-Match"},
		ExposeHeaders:    []string{CorrelationHeader, "Location", "ETag", "WWW-Authenticate", "Retry-After", "RateLimit", "RateLimit-Policy", ReplayedHeader},
		AllowCredentials: true,
		MaxAge:           10 * time.Minute,
	})
}
