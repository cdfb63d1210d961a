package middleware

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/shared"
)

// The rate-limit header fields of draft-ietf-httpapi-ratelimit-headers
// (-09, -10), in canonical form so that setting them is one map store.
var (
	rateLimitPolicyKey = http.CanonicalHeaderKey("RateLimit-Policy")
	rateLimitKey       = http.CanonicalHeaderKey("RateLimit")
	retryAfterKey      = http.CanonicalHeaderKey("Retry-After")
	forwardedForKey    = http.CanonicalHeaderKey("X-Forwarded-For")
)

// RateLimitSettings are the budgets and where they are kept.
type RateLimitSettings struct {
	Limiter shared.RateLimiter
	Metrics shared.RateLimitMetrics
	// Writes and Reads are each caller's budgets (by token subject) for
	// unsafe and safe methods; Anonymous is each client address's budget
	// on routes that need no token.
	Writes, Reads, Anonymous shared.RateLimitPolicy
	// TrustedProxies are the peers whose X-Forwarded-For is believed; with
	// none, the client address is the connection's peer, whatever it sends.
	TrustedProxies []netip.Prefix
}

// limitedPolicy is a policy with everything about it that does not change
// per request built once: its RateLimit-Policy field and its refusal.
type limitedPolicy struct {
	shared.RateLimitPolicy
	field   []string
	refusal *kernel.Error
}

func newLimitedPolicy(p shared.RateLimitPolicy, what string) limitedPolicy {
	return limitedPolicy{
		RateLimitPolicy: p,
		field:           []string{PolicyField(p)},
		refusal: kernel.TooManyRequests("rate_limit.exceeded",
			fmt.Sprintf("too many %s: the budget of %d per %s is spent; retry after the Retry-After delay", what, p.Rate, per(p.Period))),
	}
}

func per(d time.Duration) string {
	switch d {
	case time.Second:
		return "second"
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	}
	return d.String()
}

// RateLimit is a huma middleware, after authentication (the caller is
// known) and before the project gate (a refused request costs no database
// round trip). It spends one request of the caller's writes or reads
// budget, or on a route that needs no token the client address's, and
// sets the RateLimit-Policy and RateLimit fields on every response of a
// limited route; a request over its budget is answered 429
// rate_limit.exceeded with Retry-After. The health probes are never
// limited. When the limiter cannot decide (Redis down), the request goes
// through without the RateLimit field and is counted (fail open): a
// limiter outage must not become an API outage.
func RateLimit(api huma.API, s RateLimitSettings) func(huma.Context, func(huma.Context)) {
	writes := newLimitedPolicy(s.Writes, "writes")
	reads := newLimitedPolicy(s.Reads, "reads")
	anonymous := newLimitedPolicy(s.Anonymous, "requests from this address")
	trusted := s.TrustedProxies
	return func(ctx huma.Context, next func(huma.Context)) {
		op := ctx.Operation()
		if op == nil || unlimited(op.Path) {
			next(ctx)
			return
		}
		gc := humagin.Unwrap(ctx)
		var p *limitedPolicy
		var key string
		if sub := httpkit.RequestOf(ctx.Context()).Subject(); !sub.IsZero() {
			p, key = &writes, sub.String()
			if safeMethod(gc.Request.Method) {
				p = &reads
			}
		} else {
			p, key = &anonymous, ClientAddr(gc.Request, trusted)
		}
		h := gc.Writer.Header()
		h[rateLimitPolicyKey] = p.field
		d, err := s.Limiter.Allow(ctx.Context(), p.RateLimitPolicy, key)
		if err != nil {
			s.Metrics.FailedOpen(p.Name)
			next(ctx)
			return
		}
		h[rateLimitKey] = []string{Field(p.Name, d)}
		if !d.Allowed {
			s.Metrics.Limited(p.Name)
			h[retryAfterKey] = []string{strconv.FormatInt(seconds(d.RetryAfter, 1), 10)}
			httpkit.WriteError(api, ctx, p.refusal)
			return
		}
		next(ctx)
	}
}

// unlimited lists the routes no budget applies to: the probes must answer
// an orchestrator whatever a client does. (/metrics, /docs and
// /openapi.json are served outside the API and never reach this.)
func unlimited(path string) bool { return strings.HasPrefix(path, "/health/") }

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// PolicyField is the RateLimit-Policy field value of p: its name, its
// quota (q, requests) and its window (w, seconds), as the draft's
// structured-field form has them, e.g. "writes";q=60;w=60.
func PolicyField(p shared.RateLimitPolicy) string {
	b := make([]byte, 0, len(p.Name)+24)
	b = strconv.AppendQuote(b, p.Name)
	b = append(b, ";q="...)
	b = strconv.AppendInt(b, int64(p.Rate), 10)
	b = append(b, ";w="...)
	b = strconv.AppendInt(b, seconds(p.Period, 1), 10)
	return string(b)
}

// Field is the RateLimit field value of a decision: the remaining quota
// (r) and the seconds until the whole burst is back (t), e.g.
// "writes";r=19;t=1.
func Field(policy string, d shared.RateLimitDecision) string {
	var buf [64]byte
	b := strconv.AppendQuote(buf[:0], policy)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(max(d.Remaining, 0)), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, seconds(d.ResetAfter, 0), 10)
	return string(b)
}

// seconds rounds d up to whole seconds, and to at least floor.
func seconds(d time.Duration, floor int64) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, floor)
}

// ClientAddr is the address a budget is kept for: the connection's peer,
// or, when that peer is a trusted proxy, the right-most address of
// X-Forwarded-For that is not itself a trusted proxy (the left part of the
// header is whatever the client wrote). IPv6 clients are counted by their
// /64, which one host usually holds whole.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseAddr(r.RemoteAddr, true)
	if !ok {
		return r.RemoteAddr
	}
	if len(trusted) > 0 && isTrusted(peer, trusted) {
		if addr, ok := forwardedClient(r.Header[forwardedForKey], trusted); ok {
			peer = addr
		}
	}
	return addrKey(peer)
}

func forwardedClient(values []string, trusted []netip.Prefix) (netip.Addr, bool) {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var hop string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				hop, v = v[j+1:], v[:j]
			} else {
				hop, v = v, ""
			}
			addr, ok := parseAddr(strings.TrimSpace(hop), false)
			if !ok {
				// A hop that is not an address: nothing left of it can be trusted.
				return netip.Addr{}, false
			}
			if !isTrusted(addr, trusted) {
				return addr, true
			}
		}
	}
	return netip.Addr{}, false
}

func parseAddr(s string, withPort bool) (netip.Addr, bool) {
	if withPort {
		if host, _, err := net.SplitHostPort(s); err == nil {
			s = host
		}
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func addrKey(addr netip.Addr) string {
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// DeclareRateLimits adds to every limited operation of the document what
// RateLimit gives each of them: the RateLimit-Policy and RateLimit header
// fields on its answers, and the 429 over the budget. Call it once the
// routes are registered, and only when limiting is on.
func DeclareRateLimits(api huma.API) {
	field := func(what string) *huma.Param {
		return &huma.Param{Description: what, Schema: &huma.Schema{Type: huma.TypeString}}
	}
	for path, item := range api.OpenAPI().Paths {
		if unlimited(path) {
			continue
		}
		for _, op := range []*huma.Operation{item.Get, item.Head, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			var problem map[string]*huma.MediaType
			for code, r := range op.Responses {
				if len(code) == 3 && code[0] == '4' && r.Content != nil {
					problem = r.Content
				}
				if code[0] == '2' {
					if r.Headers == nil {
						r.Headers = map[string]*huma.Param{}
					}
					r.Headers["RateLimit-Policy"] = field(`The budget this request spent from, e.g. "writes";q=60;w=60 (draft-ietf-httpapi-ratelimit-headers)`)
					r.Headers["RateLimit"] = field(`What is left of it, e.g. "writes";r=19;t=1: r requests now, t seconds until the whole burst is back`)
				}
			}
			if _, ok := op.Responses["429"]; !ok {
				op.Responses["429"] = &huma.Response{
					Description: "Too Many Requests: the caller's budget is spent (code rate_limit.exceeded)",
					Content:     problem,
					Headers: map[string]*huma.Param{
						"Retry-After":      field("Seconds until a request fits the budget again"),
						"RateLimit-Policy": field("The budget"),
						"RateLimit":        field("What is left of it"),
					},
				}
			}
		}
	}
}
