package e2e

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap/zapcore"

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

// TestAuthenticationFailuresSayTheirClassOnly: a 401 says whether the
// token was missing, invalid or expired (code and RFC 6750 challenge), and
// within a class every failure answers alike, naming no check.
func TestAuthenticationFailuresSayTheirClassOnly(t *testing.T) {
	app, _ := startPostgresApp(t)
	good := testkit.Token(t, "alice", time.Hour)
	_, payload, _ := strings.Cut(good, ".")
	payload, _, _ = strings.Cut(payload, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + "."
	sign := func(claims jwt.MapClaims, header map[string]any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString([]byte(testkit.TestSecret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hour := time.Now().Add(time.Hour).Unix()
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "alice", "exp": hour}).SignedString([]byte(testkit.TestSecret))
	cases := map[string]struct {
		auth  string // the Authorization header
		class string
	}{
		"missing":          {"", "auth.token_missing"},
		"not bearer":       {"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")), "auth.token_missing"},
		"bearer, no token": {"Bearer ", "auth.token_missing"},
		"expired":          {"Bearer " + testkit.Token(t, "alice", -time.Minute), "auth.token_expired"},
		"wrong secret":     {"Bearer " + testkit.TokenWith(t, "another-secret-another-secret-another", "", "", "alice", time.Hour), "auth.token_invalid"},
		"alg none":         {"Bearer " + none, "auth.token_invalid"},
		"alg HS512":        {"Bearer " + hs512, "auth.token_invalid"},
		"no exp":           {"Bearer " + sign(jwt.MapClaims{"sub": "alice"}, nil), "auth.token_invalid"},
		"no sub":           {"Bearer " + sign(jwt.MapClaims{"exp": hour}, nil), "auth.token_invalid"},
		"NUL in sub":       {"Bearer " + sign(jwt.MapClaims{"sub": "ali\x00ce", "exp": hour}, nil), "auth.token_invalid"},
		"exp a string":     {"Bearer " + sign(jwt.MapClaims{"sub": "alice", "exp": fmt.Sprint(hour)}, nil), "auth.token_invalid"},
		"iat in ten years": {"Bearer " + sign(jwt.MapClaims{"sub": "alice", "exp": hour + 20*365*86400, "iat": hour + 10*365*86400}, nil), "auth.token_invalid"},
		"unknown crit":     {"Bearer " + sign(jwt.MapClaims{"sub": "alice", "exp": hour}, map[string]any{"crit": []string{"x-ext"}, "x-ext": 1}), "auth.token_invalid"},
		"garbage":          {"Bearer not.a.jwt", "auth.token_invalid"},
		"tampered":         {"Bearer " + good[:len(good)-4] + "AAAA", "auth.token_invalid"},
	}
	byClass := map[string]map[string]any{}
	for name, c := range cases {
		res := app.Do("GET", "/api/v1/projects", "", nil, "Authorization", c.auth)
		if res.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d %s", name, res.Status, res.Body)
			continue
		}
		m := assertProblem(t, res, 401)
		if m["code"] != c.class {
			t.Errorf("%s: code %v, want %s", name, m["code"], c.class)
		}
		challenge := res.Header.Get("WWW-Authenticate")
		wantError := c.class != "auth.token_missing"
		if !strings.HasPrefix(challenge, `Bearer realm="api"`) || strings.Contains(challenge, `error="invalid_token"`) != wantError ||
			(wantError && !strings.Contains(challenge, "error_description=")) {
			t.Errorf("%s: WWW-Authenticate = %q", name, challenge)
		}
		lower := strings.ToLower(string(res.Body))
		for _, leak := range []string{"signature", "algorithm", "alg", "issuer", "audience", "crit", "iat", "nul"} {
			if strings.Contains(lower, leak) {
				t.Errorf("%s: the body says which check failed (%q): %s", name, leak, res.Body)
			}
		}
		if first, ok := byClass[c.class]; ok && (first["detail"] != m["detail"] || first["type"] != m["type"]) {
			t.Errorf("%s: %s bodies differ: %v vs %v", name, c.class, m, first)
		}
		byClass[c.class] = m
	}
	for _, entry := range app.Logs.All() {
		if entry.Level >= zapcore.ErrorLevel {
			t.Errorf("an authentication failure was logged as an error: %s %v", entry.Message, entry.ContextMap())
		}
	}
	if res := app.Do("GET", "/api/v1/projects", good, nil); res.Status != 200 {
		t.Fatalf("the good token: %d", res.Status)
	}
}

// TestTwoAuthorizationHeadersAreRefused: a proxy that reads another of
// them than the API would authenticate someone else.
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	bob := testkit.Token(t, "bob", time.Hour)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", app.URL+"/api/v1/projects", nil)
	req.Header.Add("Authorization", "Bearer "+alice)
	req.Header.Add("Authorization", "Bearer "+bob)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	m := assertProblem(t, testkit.Response{Status: res.StatusCode, Header: res.Header, Body: body}, http.StatusBadRequest)
	if m["code"] != "auth.header_repeated" {
		t.Fatalf("two Authorization headers: %s", body)
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

// TestHEADAnswersOnEveryGETRoute: the same status and headers as GET, no
// body, on every GET route of the API document, the docs and probes
// included — and a stream is not opened by it.
func TestHEADAnswersOnEveryGETRoute(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "head")
	op := createOperation(t, app, alice, p.ID, "import")
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)
	paths := []string{"/docs", "/openapi.json"}
	for path, ops := range doc.Paths {
		if _, ok := ops["get"]; ok {
			paths = append(paths, strings.NewReplacer("{project_id}", p.ID, "{operation_id}", op.ID).Replace(path))
		}
	}
	if len(paths) < 10 {
		t.Fatalf("only %d GET routes found: %v", len(paths), paths)
	}
	for _, path := range paths {
		// A GET on a stream does not end, so its answer is written down.
		get := testkit.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}}}
		if !strings.HasSuffix(path, "/events") {
			get = app.Do("GET", path, alice, nil)
		}
		head := app.Do("HEAD", path, alice, nil)
		if head.Status != get.Status || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") || len(head.Body) != 0 {
			t.Errorf("HEAD %s: %d %q %d bytes; GET: %d %q", path, head.Status, head.Header.Get("Content-Type"), len(head.Body), get.Status, get.Header.Get("Content-Type"))
		}
		if head.Header.Get("X-Content-Type-Options") != "nosniff" || head.Header.Get(middlewareCorrelation) == "" {
			t.Errorf("HEAD %s lacks the headers every response carries: %v", path, head.Header)
		}
	}
	if res := app.Do("HEAD", "/api/v1/projects/"+p.ID, testkit.Token(t, "bob", time.Hour), nil); res.Status != http.StatusNotFound {
		t.Errorf("HEAD of someone else's project: %d", res.Status)
	}
	if res := app.Do("GET", "/api/v1/projects/"+p.ID+"/info", alice, nil); !strings.Contains(string(res.Body), `"connected":0`) {
		t.Errorf("HEAD on a stream route opened a stream: %s", res.Body)
	}
}

const middlewareCorrelation = "X-Correlation-ID"
