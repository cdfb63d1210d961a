package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	memratelimit "github.com/scoped-api/foundation/adapters/memory/ratelimit"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/shared"
)

func TestPolicyFieldIsTheDraftsStructuredFieldForm(t *testing.T) {
	for _, c := range []struct {
		p    shared.RateLimitPolicy
		want string
	}{
		{shared.RateLimitPolicy{Name: "writes", Rate: 60, Period: time.Minute, Burst: 20}, `"writes";q=60;w=60`},
		{shared.RateLimitPolicy{Name: "reads", Rate: 600, Period: time.Minute, Burst: 100}, `"reads";q=600;w=60`},
		{shared.RateLimitPolicy{Name: "anonymous", Rate: 5, Period: time.Hour, Burst: 5}, `"anonymous";q=5;w=3600`},
		// A window under a second still says one second: w is an integer.
		{shared.RateLimitPolicy{Name: "fast", Rate: 10, Period: 100 * time.Millisecond, Burst: 1}, `"fast";q=10;w=1`},
	} {
		if got := PolicyField(c.p); got != c.want {
			t.Errorf("PolicyField(%+v) = %s, want %s", c.p, got, c.want)
		}
	}
}

func TestFieldRoundsTheResetUpAndNeverGoesNegative(t *testing.T) {
	for _, c := range []struct {
		d    shared.RateLimitDecision
		want string
	}{
		{shared.RateLimitDecision{Allowed: true, Remaining: 59, ResetAfter: time.Second}, `"writes";r=59;t=1`},
		{shared.RateLimitDecision{Allowed: true, Remaining: 19, ResetAfter: 1200 * time.Millisecond}, `"writes";r=19;t=2`},
		{shared.RateLimitDecision{Allowed: true, Remaining: 20}, `"writes";r=20;t=0`},
		{shared.RateLimitDecision{Remaining: -1, RetryAfter: time.Second, ResetAfter: 20 * time.Second}, `"writes";r=0;t=20`},
	} {
		if got := Field("writes", c.d); got != c.want {
			t.Errorf("Field(%+v) = %s, want %s", c.d, got, c.want)
		}
	}
}

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"peer", "192.0.2.7:5000", nil, nil, "192.0.2.7"},
		{"forwarded-for ignored without trusted proxies", "192.0.2.7:5000", []string{"198.51.100.1"}, nil, "192.0.2.7"},
		{"forwarded-for ignored from an untrusted peer", "192.0.2.7:5000", []string{"198.51.100.1"}, proxies, "192.0.2.7"},
		{"trusted proxy", "10.1.2.3:5000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"the client's own entries on the left are not believed", "10.1.2.3:5000", []string{"203.0.113.9, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"trusted hops are skipped from the right", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, proxies, "198.51.100.1"},
		{"only proxies: the peer", "10.1.2.3:5000", []string{"10.9.9.9"}, proxies, "10.1.2.3"},
		{"garbage stops the walk", "10.1.2.3:5000", []string{"198.51.100.1, nonsense"}, proxies, "10.1.2.3"},
		{"IPv6 by /64", "[2001:db8:1:2:3:4:5:6]:443", nil, nil, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6 is IPv4", "[::ffff:192.0.2.7]:1", nil, nil, "192.0.2.7"},
		{"IPv6 proxy", "[::1]:1", []string{"2001:db8::1"}, proxies, "2001:db8::/64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientAddr(r, c.trusted); got != c.want {
				t.Errorf("ClientAddr = %q, want %q", got, c.want)
			}
		})
	}
}

// countingMetrics records what the middleware reports.
type countingMetrics struct {
	mu                 sync.Mutex
	limited, failedOpn map[string]int
}

func newCountingMetrics() *countingMetrics {
	return &countingMetrics{limited: map[string]int{}, failedOpn: map[string]int{}}
}

func (m *countingMetrics) Limited(p string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limited[p]++
}

func (m *countingMetrics) FailedOpen(p string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failedOpn[p]++
}

// failingLimiter never decides.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, shared.RateLimitPolicy, string) (shared.RateLimitDecision, error) {
	return shared.RateLimitDecision{}, errors.New("redis: connection refused")
}

var testPolicies = RateLimitSettings{
	Writes:    shared.RateLimitPolicy{Name: "writes", Rate: 60, Period: time.Minute, Burst: 2},
	Reads:     shared.RateLimitPolicy{Name: "reads", Rate: 60, Period: time.Minute, Burst: 3},
	Anonymous: shared.RateLimitPolicy{Name: "anonymous", Rate: 60, Period: time.Minute, Burst: 1},
}

// rateLimitedAPI serves one protected resource (GET and POST), one open
// route and a health probe behind RateLimit. The caller is whoever the
// X-Test-Subject header names: this stands in for authentication.
func rateLimitedAPI(t *testing.T, s RateLimitSettings) *gin.Engine {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.Use(RequestRecord(zap.NewNop(), time.Minute))
	api := httpkit.NewAPI(engine, httpkit.APIConfig{Title: "t", Version: "1", MaxBodyBytes: 1 << 20})
	api.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		if sub := ctx.Header("X-Test-Subject"); sub != "" {
			s, err := kernel.ParseSubject(sub)
			if err != nil {
				t.Fatal(err)
			}
			httpkit.RequestOf(ctx.Context()).Authenticated(s, time.Now().Add(time.Hour))
		}
		next(ctx)
	}, RateLimit(api, s))
	type out struct {
		Body struct {
			OK bool `json:"ok"`
		}
	}
	h := func(context.Context, *struct{}) (*out, error) {
		o := &out{}
		o.Body.OK = true
		return o, nil
	}
	huma.Register(api, huma.Operation{OperationID: "get-thing", Method: http.MethodGet, Path: "/things", Security: httpkit.Protected}, h)
	huma.Register(api, huma.Operation{OperationID: "make-thing", Method: http.MethodPost, Path: "/things", Security: httpkit.Protected}, h)
	huma.Register(api, huma.Operation{OperationID: "open", Method: http.MethodGet, Path: "/open"}, h)
	huma.Register(api, huma.Operation{OperationID: "live", Method: http.MethodGet, Path: "/health/live"}, h)
	AnswerHEAD(engine)
	return engine
}

func serve(engine *gin.Engine, method, path, subject string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(context.Background(), method, path, nil)
	r.RemoteAddr = "192.0.2.1:1234"
	if subject != "" {
		r.Header.Set("X-Test-Subject", subject)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, r)
	return w
}

func withMemory(metrics shared.RateLimitMetrics) RateLimitSettings {
	s := testPolicies
	s.Limiter = memratelimit.New(nil)
	s.Metrics = metrics
	return s
}

func TestRateLimitSpendsTheCallersWritesAndRefusesWithAProblem(t *testing.T) {
	metrics := newCountingMetrics()
	engine := rateLimitedAPI(t, withMemory(metrics))
	for i, wantR := range []string{"1", "0"} {
		w := serve(engine, http.MethodPost, "/things", "alice")
		if w.Code != http.StatusOK {
			t.Fatalf("write %d: %d %s", i, w.Code, w.Body)
		}
		if got := w.Header().Get("RateLimit-Policy"); got != `"writes";q=60;w=60` {
			t.Errorf("write %d RateLimit-Policy = %q", i, got)
		}
		if got := w.Header().Get("RateLimit"); !strings.HasPrefix(got, `"writes";r=`+wantR+";t=") {
			t.Errorf("write %d RateLimit = %q, want r=%s", i, got, wantR)
		}
		if w.Header().Get("Retry-After") != "" {
			t.Errorf("write %d: Retry-After on an allowed request", i)
		}
	}
	w := serve(engine, http.MethodPost, "/things", "alice")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third write: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != httpkit.ProblemContentType {
		t.Errorf("429 content type %q", ct)
	}
	var p httpkit.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != 429 || p.Code != "rate_limit.exceeded" || p.Type != "/problems/too-many-requests" || p.Instance != "/things" || p.CorrelationID == "" {
		t.Errorf("problem: %+v", p)
	}
	// One write per second comes back at 60 per minute.
	if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 1 {
		t.Errorf("Retry-After = %q, want 1", w.Header().Get("Retry-After"))
	}
	if got := w.Header().Get("RateLimit"); got != `"writes";r=0;t=2` {
		t.Errorf("429 RateLimit = %q", got)
	}
	if got := w.Header().Get("RateLimit-Policy"); got != `"writes";q=60;w=60` {
		t.Errorf("429 RateLimit-Policy = %q", got)
	}
	if metrics.limited["writes"] != 1 {
		t.Errorf("limited counted %v", metrics.limited)
	}

	// Reads are a budget of their own, and so is every other caller.
	if w := serve(engine, http.MethodGet, "/things", "alice"); w.Code != http.StatusOK || w.Header().Get("RateLimit") != `"reads";r=2;t=1` {
		t.Errorf("read after the writes ran out: %d %q", w.Code, w.Header().Get("RateLimit"))
	}
	if w := serve(engine, http.MethodHead, "/things", "alice"); w.Code != http.StatusOK || w.Header().Get("RateLimit") != `"reads";r=1;t=2` {
		t.Errorf("HEAD is a read: %d %q", w.Code, w.Header().Get("RateLimit"))
	}
	if w := serve(engine, http.MethodPost, "/things", "bob"); w.Code != http.StatusOK || w.Header().Get("RateLimit") != `"writes";r=1;t=1` {
		t.Errorf("another caller's write: %d %q", w.Code, w.Header().Get("RateLimit"))
	}
}

func TestRateLimitKeepsAnonymousBudgetsPerAddress(t *testing.T) {
	s := withMemory(newCountingMetrics())
	engine := rateLimitedAPI(t, s)
	if w := serve(engine, http.MethodGet, "/open", ""); w.Code != 200 || w.Header().Get("RateLimit") != `"anonymous";r=0;t=1` {
		t.Fatalf("first anonymous request: %d %q", w.Code, w.Header().Get("RateLimit"))
	}
	// A forged X-Forwarded-For does not buy a new budget.
	if w := serve(engine, http.MethodGet, "/open", "", "X-Forwarded-For", "198.51.100.77"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("second request from the same peer: %d", w.Code)
	}

	s.Limiter = memratelimit.New(nil)
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	engine = rateLimitedAPI(t, s)
	for _, client := range []string{"198.51.100.1", "198.51.100.2"} {
		if w := serve(engine, http.MethodGet, "/open", "", "X-Forwarded-For", client); w.Code != 200 {
			t.Errorf("first request of %s behind the trusted proxy: %d", client, w.Code)
		}
	}
	if w := serve(engine, http.MethodGet, "/open", "", "X-Forwarded-For", "198.51.100.1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("second request of 198.51.100.1: %d", w.Code)
	}
}

func TestRateLimitNeverLimitsTheHealthProbes(t *testing.T) {
	engine := rateLimitedAPI(t, withMemory(newCountingMetrics()))
	for i := range 20 {
		w := serve(engine, http.MethodGet, "/health/live", "")
		if w.Code != 200 || w.Header().Get("RateLimit") != "" || w.Header().Get("RateLimit-Policy") != "" {
			t.Fatalf("probe %d: %d %v", i, w.Code, w.Header())
		}
	}
}

func TestRateLimitFailsOpenWhenTheLimiterCannotDecide(t *testing.T) {
	metrics := newCountingMetrics()
	s := testPolicies
	s.Limiter, s.Metrics = failingLimiter{}, metrics
	engine := rateLimitedAPI(t, s)
	for range 5 {
		w := serve(engine, http.MethodPost, "/things", "alice")
		if w.Code != http.StatusOK {
			t.Fatalf("write with the limiter down: %d %s", w.Code, w.Body)
		}
		if w.Header().Get("RateLimit-Policy") != `"writes";q=60;w=60` || w.Header().Get("RateLimit") != "" {
			t.Errorf("headers with the limiter down: %v", w.Header())
		}
	}
	if metrics.failedOpn["writes"] != 5 || len(metrics.limited) != 0 {
		t.Errorf("failed open %v, limited %v", metrics.failedOpn, metrics.limited)
	}
}

// TestRateLimitAllocatesLittle keeps the middleware's own cost per request
// small: the decision's RateLimit field and its header slice.
func TestRateLimitAllocatesLittle(t *testing.T) {
	s := testPolicies
	s.Reads.Burst, s.Reads.Rate = 1<<30, 1<<30
	s.Limiter, s.Metrics = memratelimit.New(nil), newCountingMetrics()
	mw := RateLimit(nil, s)
	op := &huma.Operation{Method: http.MethodGet, Path: "/things"}
	w := httptest.NewRecorder()
	gc, _ := gin.CreateTestContext(w)
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/things", nil)
	rec := httpkit.NewRequest(zap.NewNop(), "c", http.MethodGet, "/things", "/things", "")
	rec.Authenticated(mustSubject(t, "alice"), time.Time{})
	gc.Request = req.WithContext(httpkit.WithRequest(req.Context(), rec))
	hctx := humagin.NewContext(op, gc)
	called := 0
	next := func(huma.Context) { called++ }
	allocs := testing.AllocsPerRun(1000, func() { mw(hctx, next) })
	if called == 0 || w.Header().Get("RateLimit") == "" {
		t.Fatalf("the middleware did not run: %d calls, headers %v", called, w.Header())
	}
	if allocs > 3 {
		t.Errorf("RateLimit allocates %.1f times per request, want at most 3", allocs)
	}
}

func BenchmarkRateLimitMemory(b *testing.B) {
	s := testPolicies
	s.Reads.Burst, s.Reads.Rate = 1<<30, 1<<30
	s.Limiter, s.Metrics = memratelimit.New(nil), newCountingMetrics()
	mw := RateLimit(nil, s)
	op := &huma.Operation{Method: http.MethodGet, Path: "/things"}
	gc, _ := gin.CreateTestContext(httptest.NewRecorder())
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/things", nil)
	rec := httpkit.NewRequest(zap.NewNop(), "c", http.MethodGet, "/things", "/things", "")
	rec.Authenticated(mustSubject(b, "alice"), time.Time{})
	gc.Request = req.WithContext(httpkit.WithRequest(req.Context(), rec))
	hctx := humagin.NewContext(op, gc)
	b.ReportAllocs()
	for b.Loop() {
		mw(hctx, func(huma.Context) {})
	}
}

func mustSubject(tb testing.TB, s string) kernel.Subject {
	tb.Helper()
	sub, err := kernel.ParseSubject(s)
	if err != nil {
		tb.Fatal(err)
	}
	return sub
}
