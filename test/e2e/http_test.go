package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scoped-api/foundation/test/testkit"
)

var securityHeaders = map[string]string{
	"Strict-Transport-Security":    "max-age=63072000; includeSubDomains",
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"X-Xss-Protection":             "0",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "x")
	cases := []struct {
		method, path, token string
		body                any
		status              int
	}{
		{"GET", "/api/v1/projects/" + p.ID, alice, nil, 200},
		{"POST", "/api/v1/projects", alice, `{"name":"y"}`, 201},
		{"DELETE", "/api/v1/projects/" + p.ID, alice, nil, 204},
		{"GET", "/api/v1/projects", "", nil, 401},
		{"GET", "/nope", "", nil, 404},
		{"PUT", "/api/v1/projects", alice, nil, 405},
		{"POST", "/api/v1/projects", alice, `{`, 400},
		{"GET", "/health/live", "", nil, 200},
		{"GET", "/health/ready", "", nil, 200},
		{"GET", "/openapi.json", "", nil, 200},
		{"GET", "/docs", "", nil, 200},
	}
	for _, c := range cases {
		res := app.Do(c.method, c.path, c.token, c.body)
		if res.Status != c.status {
			t.Errorf("%s %s: status %d, want %d (%s)", c.method, c.path, res.Status, c.status, res.Body)
		}
		for h, want := range securityHeaders {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.path, h, got, want)
			}
		}
		if res.Header.Get("Permissions-Policy") == "" {
			t.Errorf("%s %s: no Permissions-Policy", c.method, c.path)
		}
		csp := res.Header.Get("Content-Security-Policy")
		if c.path == "/docs" {
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "http") {
				t.Errorf("docs CSP = %q", csp)
			}
		} else {
			if csp != "default-src 'none'; frame-ancestors 'none'" {
				t.Errorf("%s %s: CSP = %q", c.method, c.path, csp)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s %s: Cache-Control = %q", c.method, c.path, cc)
			}
		}
		if res.Header.Get("X-Correlation-ID") == "" {
			t.Errorf("%s %s: no X-Correlation-ID", c.method, c.path)
		}
		if c.status >= 400 {
			assertProblem(t, res, c.status)
		}
	}
}

// assertProblem checks the RFC 9457 shape every error shares.
func assertProblem(t *testing.T, res testkit.Response, status int) map[string]any {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("status %d: Content-Type %q, body %s", res.Status, ct, res.Body)
	}
	m := res.Map(t)
	for _, k := range []string{"type", "title", "status", "detail", "instance", "correlation_id"} {
		if _, ok := m[k]; !ok {
			t.Errorf("problem lacks %q: %s", k, res.Body)
		}
	}
	if int(m["status"].(float64)) != status || res.Status != status {
		t.Errorf("problem status %v / response %d, want %d", m["status"], res.Status, status)
	}
	if m["correlation_id"] != res.Header.Get("X-Correlation-ID") {
		t.Errorf("problem correlation_id %v differs from header %q", m["correlation_id"], res.Header.Get("X-Correlation-ID"))
	}
	if strings.Contains(string(res.Body), "goroutine") || strings.Contains(string(res.Body), ".go:") {
		t.Errorf("problem leaks internals: %s", res.Body)
	}
	return m
}

func TestCorrelationIDRoundTrip(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	kept := []struct{ header, value string }{
		{"X-Correlation-ID", "abc-123_X.y"},
		{"X-Request-ID", "from-request-id"},
		{"X-Correlation-ID", strings.Repeat("a", 128)},
	}
	for _, k := range kept {
		res := app.Do("GET", "/api/v1/projects/01936b2a-0000-7000-8000-000000000000", alice, nil, k.header, k.value)
		if got := res.Header.Get("X-Correlation-ID"); got != k.value {
			t.Errorf("%s %q came back as %q", k.header, k.value, got)
		}
		if m := assertProblem(t, res, 404); m["correlation_id"] != k.value {
			t.Errorf("problem correlation_id = %v", m["correlation_id"])
		}
		if n := app.Logs.FilterField(zapString("correlation_id", k.value)).FilterMessage("request").Len(); n != 1 {
			t.Errorf("access log lines with correlation id %q: %d", k.value, n)
		}
	}
	for _, bad := range []string{strings.Repeat("a", 129), "has space", "semi;colon", "üñí"} {
		res := app.Do("GET", "/health/live", "", nil, "X-Correlation-ID", bad)
		got := res.Header.Get("X-Correlation-ID")
		if got == bad || len(got) != 36 {
			t.Errorf("bad id %q was answered with %q, want a fresh UUID", bad, got)
		}
	}
}

func TestAccessLogLine(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "logged")
	res := app.Do("GET", "/api/v1/projects/"+p.ID+"?", alice, nil, "X-Correlation-ID", "log-me")
	if res.Status != 200 {
		t.Fatal(res.Status)
	}
	lines := app.Logs.FilterMessage("request").FilterField(zapString("correlation_id", "log-me")).All()
	if len(lines) != 1 {
		t.Fatalf("%d access log lines", len(lines))
	}
	f := lines[0].ContextMap()
	if f["method"] != "GET" || f["route"] != "/api/v1/projects/:project_id" || f["status"] != int64(200) || f["subject"] != "alice" {
		t.Fatalf("access log fields: %v", f)
	}
	if _, ok := f["duration"]; !ok {
		t.Fatal("no duration")
	}
	if tid, _ := f["trace_id"].(string); len(tid) != 32 {
		t.Fatalf("trace_id = %v, want a 32-digit trace id", f["trace_id"])
	}
	if f["bytes"].(int64) != int64(len(res.Body)) {
		t.Fatalf("bytes = %v, body %d", f["bytes"], len(res.Body))
	}
	for _, e := range app.Logs.All() {
		for _, v := range e.ContextMap() {
			if s, ok := v.(string); ok && strings.Contains(s, alice) {
				t.Fatalf("a log line contains the token: %v", e.ContextMap())
			}
		}
	}
}

func TestAuthenticationFailuresAreUniform(t *testing.T) {
	app, _ := startPostgresApp(t)
	good := testkit.Token(t, "alice", time.Hour)
	header, payload, _ := strings.Cut(good, ".")
	payload, _, _ = strings.Cut(payload, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + "."
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testkit.TestSecret))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice"}).SignedString([]byte(testkit.TestSecret))
	noSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testkit.TestSecret))
	_ = header
	cases := map[string]string{
		"missing":        "",
		"expired":        testkit.Token(t, "alice", -time.Minute),
		"wrong secret":   testkit.TokenWith(t, "another-secret-another-secret-another", "", "", "alice", time.Hour),
		"alg none":       none,
		"alg HS512":      hs512,
		"no exp":         noExp,
		"no sub":         noSub,
		"garbage":        "not.a.jwt",
		"tampered":       good[:len(good)-4] + "AAAA",
		"not bearer":     "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")),
		"bearer, no tok": "Bearer ",
	}
	var bodies []map[string]any
	for name, tok := range cases {
		var res testkit.Response
		switch name {
		case "not bearer", "bearer, no tok":
			res = app.Do("GET", "/api/v1/projects", "", nil, "Authorization", tok)
		default:
			res = app.Do("GET", "/api/v1/projects", tok, nil)
		}
		if res.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, res.Status)
			continue
		}
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q", name, res.Header.Get("WWW-Authenticate"))
		}
		m := assertProblem(t, res, 401)
		bodies = append(bodies, m)
		lower := strings.ToLower(string(res.Body))
		for _, leak := range []string{"expired", "signature", "algorithm", "alg", "issuer", "audience", "exp"} {
			if strings.Contains(lower, leak) {
				t.Errorf("%s: the body says which check failed (%q): %s", name, leak, res.Body)
			}
		}
	}
	for _, b := range bodies[1:] {
		if b["detail"] != bodies[0]["detail"] || b["type"] != bodies[0]["type"] {
			t.Errorf("401 bodies differ: %v vs %v", b, bodies[0])
		}
	}
	if res := app.Do("GET", "/api/v1/projects", good, nil); res.Status != 200 {
		t.Fatalf("the good token: %d", res.Status)
	}
}

func TestIssuerAndAudienceAreCheckedWhenConfigured(t *testing.T) {
	app, _ := startPostgresApp(t, "AUTH_ISSUER", "https://issuer.test", "AUTH_AUDIENCE", "project-api")
	ok := testkit.TokenWith(t, testkit.TestSecret, "https://issuer.test", "project-api", "alice", time.Hour)
	if res := app.Do("GET", "/api/v1/projects", ok, nil); res.Status != 200 {
		t.Fatalf("matching iss/aud: %d %s", res.Status, res.Body)
	}
	for name, tok := range map[string]string{
		"no iss/aud":     testkit.Token(t, "alice", time.Hour),
		"wrong issuer":   testkit.TokenWith(t, testkit.TestSecret, "https://evil.test", "project-api", "alice", time.Hour),
		"wrong audience": testkit.TokenWith(t, testkit.TestSecret, "https://issuer.test", "other-api", "alice", time.Hour),
	} {
		if res := app.Do("GET", "/api/v1/projects", tok, nil); res.Status != 401 {
			t.Errorf("%s: %d", name, res.Status)
		}
	}
}

func TestCORSIsOffByDefaultAndAllowsOnlyConfiguredOrigins(t *testing.T) {
	off, _ := startPostgresApp(t)
	res := off.Do("GET", "/health/live", "", nil, "Origin", "https://app.example.com")
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS answered although no origin is configured")
	}

	on, _ := startPostgresApp(t, "CORS_ALLOWED_ORIGINS", "https://app.example.com")
	pre := on.Do("OPTIONS", "/api/v1/projects", "", nil,
		"Origin", "https://app.example.com",
		"Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if pre.Status >= 300 || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight: %d %v", pre.Status, pre.Header)
	}
	alice := testkit.Token(t, "alice", time.Hour)
	res = on.Do("GET", "/api/v1/projects", alice, nil, "Origin", "https://app.example.com")
	if res.Status != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("simple request: %d %v", res.Status, res.Header)
	}
	if !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "X-Correlation-Id") &&
		!strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "X-Correlation-ID") {
		t.Errorf("the correlation id is not exposed to browsers: %v", res.Header)
	}
	evil := on.Do("OPTIONS", "/api/v1/projects", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if evil.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("an unlisted origin was allowed: %v", evil.Header)
	}
}
