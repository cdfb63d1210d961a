package middleware

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/domain/kernel"
)

// TokenVerifier checks a bearer token and returns who presented it and
// when the token expires. A failure is kernel.ErrTokenExpired or
// kernel.ErrTokenInvalid, so callers cannot tell which check failed.
type TokenVerifier interface {
	Verify(token string) (kernel.Subject, time.Time, error)
}

// TicketRedeemer redeems a stream ticket, or checks and renews a stream
// pass, presented on the request path it was issued for, and returns the
// caller it was issued to and when that caller's token expires (and, for
// a pass, when the renewed pass expires).
type TicketRedeemer interface {
	RedeemTicket(ctx context.Context, code, path string) (kernel.Subject, time.Time, error)
	PresentPass(ctx context.Context, code, path string) (sub kernel.Subject, tokenExpiresAt, passExpiresAt time.Time, err error)
}

// KeyAuthenticator checks a project key presented as a bearer token and
// returns the subject it acts as (kernel.KeySubject) and when it expires
// (zero for never); IsKey tells a key's form from a JWT's.
type KeyAuthenticator interface {
	IsKey(token string) bool
	Authenticate(ctx context.Context, token string) (kernel.Subject, time.Time, error)
}

// Authenticate is a huma middleware and the one writer of the request's
// caller: operations that declare bearer security need a valid token or
// project key, or, where they also accept them and no Authorization
// header is sent, a stream ticket in the query or a stream pass cookie;
// others pass through untouched.
func Authenticate(api huma.API, verifier TokenVerifier, tickets TicketRedeemer, keys KeyAuthenticator) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if !requiresBearer(ctx.Operation()) {
			next(ctx)
			return
		}
		headers := humagin.Unwrap(ctx).Request.Header["Authorization"]
		if len(headers) > 1 {
			// A proxy that reads another of them would authenticate someone else.
			p := httpkit.NewProblem(ctx.Context(), http.StatusBadRequest, "send one Authorization header, not several")
			p.Code = "auth.header_repeated"
			httpkit.WriteError(api, ctx, p)
			return
		}
		header := ""
		if len(headers) == 1 {
			header = headers[0]
		}
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
			if passes := passCodes(humagin.Unwrap(ctx).Request); len(passes) > 0 {
				if presentPass(ctx, api, tickets, passes) {
					next(ctx)
				}
				return
			}
		}
		raw, ok := bearerToken(header)
		if !ok {
			httpkit.WriteError(api, ctx, kernel.ErrTokenMissing)
			return
		}
		var sub kernel.Subject
		var exp time.Time
		var err error
		if keys.IsKey(raw) {
			sub, exp, err = keys.Authenticate(ctx.Context(), raw)
		} else {
			sub, exp, err = verifier.Verify(raw)
		}
		if err != nil {
			httpkit.WriteError(api, ctx, err)
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

// passCodes are the stream pass cookies the request carries: usually one,
// the one whose Path is this stream's.
func passCodes(r *http.Request) []string {
	var codes []string
	for _, c := range r.CookiesNamed(httpkit.StreamPassCookie) {
		if c.Value != "" {
			codes = append(codes, c.Value)
		}
	}
	return codes
}

// presentPass authenticates the request with the first of the passes that
// is valid for this stream and sends the renewed cookie with the answer.
// When none is, the answer is the problem and deletes the cookie, so the
// browser stops presenting it.
func presentPass(ctx huma.Context, api huma.API, tickets TicketRedeemer, codes []string) bool {
	rec := httpkit.RequestOf(ctx.Context())
	path := ctx.URL().Path
	var err error
	for _, code := range codes {
		var sub kernel.Subject
		var tokenExp, passExp time.Time
		sub, tokenExp, passExp, err = tickets.PresentPass(ctx.Context(), code, path)
		if err == nil {
			cookie := httpkit.PassCookie(code, path, passExp, time.Now(), rec.Secure())
			ctx.AppendHeader("Set-Cookie", cookie.String())
			rec.Authenticated(sub, tokenExp)
			return true
		}
		if kernel.KindOf(err) != kernel.KindUnauthorized {
			break // the store is unavailable: the pass may well be valid
		}
	}
	if kernel.KindOf(err) == kernel.KindUnauthorized {
		cookie := httpkit.RemovedPassCookie(path, rec.Secure())
		ctx.AppendHeader("Set-Cookie", cookie.String())
	}
	httpkit.WriteError(api, ctx, err)
	return false
}
