package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scoped-api/foundation/bootstrap"
)

// TestSecret signs tokens in tests; it is not the development secret, so
// tests prove that the configured secret is the one used.
const TestSecret = "test-secret-0123456789abcdef0123456789abcdef"

// TestKeySecret keys project keys' digests in tests (a test value, public).
const TestKeySecret = "test-key-secret-0123456789abcdef0123456789abcdef"

// App is the real application, started on a random loopback port.
type App struct {
	URL    string
	Config bootstrap.Config
	Logs   *observer.ObservedLogs
	Server *bootstrap.Server
	fx     *fx.App
	t      testing.TB
	once   sync.Once
}

// BaseEnv is the environment every test app starts from: test mode, a
// random port, the test secret and the given database.
func BaseEnv(dbURL string) map[string]string {
	return map[string]string{
		"APP_ENV":               "test",
		"HTTP_ADDR":             "127.0.0.1:0",
		"DATABASE_URL":          dbURL,
		"AUTH_HS256_SECRET":     TestSecret,
		"PROJECT_KEY_SECRET":    TestKeySecret,
		"LOG_LEVEL":             "debug",
		"HTTP_SHUTDOWN_TIMEOUT": "5s",
		// Tests and benchmarks send many requests as one caller; the tests
		// of rate limiting turn it back on (test/e2e/ratelimit_test.go).
		"RATE_LIMIT_ENABLED": "false",
	}
}

// StartApp loads env as the configuration, starts the app and stops it when
// the test ends. Logs are captured in App.Logs (and not printed).
func StartApp(t testing.TB, env map[string]string, opts ...fx.Option) *App {
	t.Helper()
	p := protocol
	if p != HTTP1 {
		env = maps.Clone(env)
		protocolEnv(t, env)
	}
	cfg, err := bootstrap.LoadConfig(env)
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	var srv *bootstrap.Server
	all := append([]fx.Option{
		fx.Decorate(func() *zap.Logger { return zap.New(core) }),
		fx.Populate(&srv),
	}, opts...)
	app := bootstrap.App(cfg, all...)
	if err := app.Err(); err != nil {
		t.Fatalf("assemble app: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("start app: %v", err)
	}
	a := &App{URL: srv.URL(), Config: cfg, Logs: logs, Server: srv, fx: app, t: t}
	register(t, a.URL, p)
	t.Cleanup(func() { _ = a.Stop() })
	return a
}

// Stop stops the app (once); it returns the error of fx's stop.
func (a *App) Stop() error {
	var err error
	a.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = a.fx.Stop(ctx)
	})
	return err
}

// Token mints a token for sub with the test secret, valid for ttl.
func Token(t TB, sub string, ttl time.Duration) string {
	t.Helper()
	return TokenWith(t, TestSecret, "", "", sub, ttl)
}

// TokenWith mints a token with an explicit secret, issuer and audience,
// independently of the code under test; a negative ttl gives an expired token.
func TokenWith(t TB, secret, issuer, audience, sub string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Subject:   sub,
		Issuer:    issuer,
		IssuedAt:  jwt.NewNumericDate(now.Add(min(ttl, 0) - time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if audience != "" {
		claims.Audience = jwt.ClaimStrings{audience}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return tok
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it does not decode.
func (r Response) JSON(t TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d body %q: %v", r.Status, r.Body, err)
	}
}

// Map decodes a JSON object body.
func (r Response) Map(t TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do sends one request; body may be nil, a string, []byte or any value to encode as JSON.
func (a *App) Do(method, path, token string, body any, headers ...string) Response {
	a.t.Helper()
	return Do(a.t, method, a.URL+path, token, body, headers...)
}

// Do sends one request to url. headers are name, value pairs.
func Do(t TB, method, url, token string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client, p := clientFor(url)
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = res.Body.Close() }()
	checkProtocol(t, res, p)
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: data}
}
