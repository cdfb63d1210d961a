package middleware

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
)

// Deadline ends every request's context after d. The database driver reads
// without a timeout of its own, so this is what turns a dependency that
// accepts connections and never answers into a 503 (its adapter maps the
// expired context to "unavailable") instead of a request held open.
// Streams are not cut by it: they take their connection over and leave the
// request behind.
func Deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
