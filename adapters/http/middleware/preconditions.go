package middleware

import (
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// RequireIfMatch is a huma middleware, after the project gate: when
// required (HTTP_REQUIRE_IF_MATCH), a conditional write
// (httpkit.ConditionalWrite) sent without If-Match is answered 428, so
// that no client overwrites a change it has not seen. Whether the tag
// matches is decided by the write itself.
func RequireIfMatch(api huma.API, required bool) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if required && httpkit.IsConditionalWrite(ctx.Operation()) && strings.TrimSpace(ctx.Header("If-Match")) == "" {
			httpkit.WriteError(api, ctx, httpkit.PreconditionRequired(ctx.Context()))
			return
		}
		next(ctx)
	}
}
