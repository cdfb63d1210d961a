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

// Principal is an authenticated caller.
type Principal struct {
	Subject   kernel.Subject
	ExpiresAt time.Time
}

// TokenVerifier checks a bearer token and returns who presented it and
// when the token expires. Any failure is reported the same way, so callers
// cannot tell which check failed.
type TokenVerifier interface {
	Verify(token string) (kernel.Subject, time.Time, error)
}

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of the request, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Authenticate is a huma middleware: operations that declare bearer
// security need a valid token; others pass through untouched.
func Authenticate(api huma.API, verifier TokenVerifier) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if !requiresBearer(ctx.Operation()) {
			next(ctx)
			return
		}
		header := ctx.Header("Authorization")
		if header == "" && acceptsTicket(ctx.Operation()) && ctx.Query(httpkit.TicketParam) != "" {
			// The handler redeems the ticket: it is bound to the route's scope.
			next(ctx)
			return
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
		httpkit.Info(ctx.Context()).Subject = sub
		next(huma.WithValue(ctx, principalKey{}, Principal{Subject: sub, ExpiresAt: exp}))
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
