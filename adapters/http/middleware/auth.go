package middleware

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/domain/kernel"
)

// TokenVerifier checks a bearer token and returns who presented it and
// when the token expires. Any failure is reported the same way, so callers
// cannot tell which check failed.
type TokenVerifier interface {
	Verify(token string) (kernel.Subject, time.Time, error)
}

// TicketRedeemer redeems a stream ticket presented on the request path it
// was issued for, and returns the caller it was issued to and when that
// caller's token expires.
type TicketRedeemer interface {
	RedeemTicket(ctx context.Context, code, path string) (kernel.Subject, time.Time, error)
}

// Authenticate is a huma middleware and the one writer of the request's
// caller: operations that declare bearer security need a valid token, or,
// where they also accept one and no Authorization header is sent, a
// stream ticket; others pass through untouched.
func Authenticate(api huma.API, verifier TokenVerifier, tickets TicketRedeemer) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if !requiresBearer(ctx.Operation()) {
			next(ctx)
			return
		}
		header := ctx.Header("Authorization")
		if header == "" && acceptsTicket(ctx.Operation()) {
			if code := ctx.Query(httpkit.TicketParam); code != "" {
				sub, exp, err := tickets.RedeemTicket(ctx.Context(), code, ctx.URL().Path)
				if err != nil {
					httpkit.WriteError(api, ctx, err)
					return
				}
				httpkit.RequestOf(ctx.Context()).Authenticated(sub, exp)
				next(ctx)
				return
			}
		}
		raw, ok := bearerToken(header)
		if !ok {
			unauthorized(api, ctx, `Bearer realm="api"`)
			return
		}
		sub, exp, err := verifier.Verify(raw)
		if err != nil {
			unauthorized(api, ctx, `Bearer realm="api", error="invalid_token"`)
			return
		}
		httpkit.RequestOf(ctx.Context()).Authenticated(sub, exp)
		next(ctx)
	}
}

func requiresBearer(op *huma.Operation) bool {
	if op == nil {
		return false
	}
	for _, req := range op.Security {
		if _, ok := req[httpkit.BearerAuth]; ok {
			return true
		}
	}
	return false
}

func acceptsTicket(op *huma.Operation) bool {
	for _, req := range op.Security {
		if _, ok := req[httpkit.TicketAuth]; ok {
			return true
		}
	}
	return false
}

func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(api huma.API, ctx huma.Context, challenge string) {
	ctx.SetHeader("WWW-Authenticate", challenge)
	_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "a valid bearer token is required")
}
