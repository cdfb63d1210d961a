package middleware

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// Recovery turns a panic into a 500 problem. The stack trace goes to the
// log, never to the client.
func Recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(rec) // the server's own signal to abort the response
			}
			ctx := c.Request.Context()
			httpkit.Logger(ctx).Error("panic serving request", zap.Any("panic", rec), zap.StackSkip("stack", 2))
			if !c.Writer.Written() {
				httpkit.WriteProblem(c.Writer, httpkit.NewProblem(ctx, http.StatusInternalServerError, "an internal error occurred"))
			}
			c.Abort()
		}()
		c.Next()
	}
}
