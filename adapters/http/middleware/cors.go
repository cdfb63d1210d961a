package middleware

import (
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
)

// CORS allows browsers on the listed origins to call the API with a bearer
// token. It is only installed when origins are configured.
func CORS(origins []string) gin.HandlerFunc {
	return cors.New(cors.Config{
		AllowOrigins:     origins,
		AllowMethods:     []string{"GET", "POST", "PATCH", "DELETE", "OPTIONS"},
		AllowHeaders:     []string{"Authorization", "Content-Type", CorrelationHeader, "X-Request-ID", "Last-Event-ID", IdempotencyKeyHeader, "If-Match", "If-None-Match"},
		ExposeHeaders:    []string{CorrelationHeader, "Location", "ETag", "WWW-Authenticate", "Retry-After", "RateLimit", "RateLimit-Policy", ReplayedHeader},
		AllowCredentials: false, // bearer tokens, not cookies
		MaxAge:           10 * time.Minute,
	})
}
