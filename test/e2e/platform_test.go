package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/fx"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/test/testkit"
)

// testRoutes adds routes that exist only in tests, to drive the platform's
// behaviour (panics, slow requests) through the real middleware chain.
type testRoutes struct{ release chan struct{} }

func (r *testRoutes) Register(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "test-panic", Method: "GET", Path: "/test/panic"},
		func(context.Context, *struct{}) (*struct{}, error) { panic("boom: secret internal detail") })
	huma.Register(api, huma.Operation{OperationID: "test-slow", Method: "GET", Path: "/test/slow"},
		func(ctx context.Context, _ *struct{}) (*struct{ Body string }, error) {
			<-r.release
			return &struct{ Body string }{Body: "done"}, nil
		})
}

func withTestRoutes(r *testRoutes) fx.Option {
	return fx.Provide(fx.Annotate(func() httpkit.Routes { return r }, fx.ResultTags(`group:"routes"`)))
}

func TestPanicIsA500ProblemWithTheStackInTheLog(t *testing.T) {
	env := testkit.BaseEnv(testkit.NewPostgresDatabase(t))
	app := testkit.StartApp(t, env, withTestRoutes(&testRoutes{}))
	res := app.Do("GET", "/test/panic", "", nil, "X-Correlation-ID", "panic-1")
	m := assertProblem(t, res, 500)
	if strings.Contains(string(res.Body), "boom") {
		t.Fatalf("the panic value leaked: %s", res.Body)
	}
	if m["detail"] == "" {
		t.Fatal("no detail")
	}
	logged := app.Logs.FilterMessage("panic serving request").FilterField(zapString("correlation_id", "panic-1")).All()
	if len(logged) != 1 || !strings.Contains(logged[0].ContextMap()["stack"].(string), "platform_test.go") {
		t.Fatalf("panic log: %v", logged)
	}
	// The server keeps serving.
	if res := app.Do("GET", "/health/live", "", nil); res.Status != 200 {
		t.Fatal(res.Status)
	}
}

func TestHealth(t *testing.T) {
	dbURL := testkit.NewPostgresDatabase(t)
	proxy := testkit.NewProxy(t, "127.0.0.1:5432")
	proxied := strings.Replace(dbURL, "127.0.0.1:5432", proxy.Addr(), 1)
	env := testkit.BaseEnv(proxied)
	env["DB_MAX_IDLE_CONNS"] = "2"
	env["HTTP_REQUEST_TIMEOUT"] = "1s"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "x")

	res := app.Do("GET", "/health/live", "", nil)
	if res.Status != 200 || res.Map(t)["status"] != "ok" {
		t.Fatalf("live: %d %s", res.Status, res.Body)
	}
	res = app.Do("GET", "/health/ready", "", nil)
	var ready struct {
		Status string `json:"status"`
		Checks map[string]struct {
			Status    string  `json:"status"`
			Required  bool    `json:"required"`
			LatencyMS float64 `json:"latency_ms"`
			Error     string  `json:"error"`
		} `json:"checks"`
	}
	res.JSON(t, &ready)
	if res.Status != 200 || ready.Status != "ok" || ready.Checks["database"].Status != "up" || !ready.Checks["database"].Required {
		t.Fatalf("ready: %d %s", res.Status, res.Body)
	}

	// A hanging database: readiness answers 503 within 2 s; liveness stays up.
	proxy.Freeze()
	start := time.Now()
	res = app.Do("GET", "/health/ready", "", nil)
	elapsed := time.Since(start)
	res.JSON(t, &ready)
	if res.Status != 503 || ready.Status != "unavailable" || ready.Checks["database"].Status != "down" {
		t.Fatalf("ready with a hanging database: %d %s", res.Status, res.Body)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("readiness took %v with a hanging database", elapsed)
	}
	if res := app.Do("GET", "/health/live", "", nil); res.Status != 200 {
		t.Fatalf("live with a hanging database: %d", res.Status)
	}
	// API calls get a 503 once HTTP_REQUEST_TIMEOUT has passed, not a
	// request held open: the database driver has no read timeout of its own.
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/projects/" + p.ID, nil},
		{"POST", "/api/v1/projects", `{"name":"while frozen"}`},
		{"GET", "/api/v1/projects", nil},
	} {
		start = time.Now()
		res = app.Do(call.method, call.path, alice, call.body)
		elapsed = time.Since(start)
		if res.Status != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with a hanging database: %d %s", call.method, call.path, res.Status, res.Body)
		}
		assertProblem(t, res, 503)
		if res.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %s: 503 without Retry-After", call.method, call.path)
		}
		if elapsed > 5*time.Second {
			t.Fatalf("%s %s took %v with a hanging database and HTTP_REQUEST_TIMEOUT=1s", call.method, call.path, elapsed)
		}
	}

	// A database that is down: API calls get a clear 503, not a hang or a 500.
	proxy.Cut()
	res = app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil)
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("get with the database down: %d %s", res.Status, res.Body)
	}
	assertProblem(t, res, 503)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	res = app.Do("GET", "/health/ready", "", nil)
	if res.Status != 503 {
		t.Fatalf("ready with the database down: %d", res.Status)
	}

	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res = app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil)
		if res.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the database came back: %d %s", res.Status, res.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res := app.Do("GET", "/health/ready", "", nil); res.Status != 200 {
		t.Fatalf("ready after recovery: %d %s", res.Status, res.Body)
	}
}

func TestOpenAPIAndDocs(t *testing.T) {
	app, _ := startPostgresApp(t)
	res := app.Do("GET", "/openapi.json", "", nil)
	if res.Status != 200 {
		t.Fatal(res.Status)
	}
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]any `json:"securitySchemes"`
			Schemas         map[string]any `json:"schemas"`
		} `json:"components"`
	}
	res.JSON(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	want := map[string][]string{
		"/api/v1/projects":              {"get", "post"},
		"/api/v1/projects/{project_id}": {"get", "patch", "delete"},
		"/health/live":                  {"get"},
		"/health/ready":                 {"get"},
	}
	for path, methods := range want {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("document lacks %s %s", m, path)
			}
		}
	}
	if _, ok := doc.Components.SecuritySchemes["bearer"]; !ok {
		t.Error("no bearer security scheme")
	}
	var create struct {
		Security    []map[string]any `json:"security"`
		RequestBody struct {
			Content map[string]struct {
				Schema struct {
					Ref string `json:"$ref"`
				} `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]any `json:"responses"`
	}
	if err := json.Unmarshal(doc.Paths["/api/v1/projects"]["post"], &create); err != nil {
		t.Fatal(err)
	}
	if len(create.Security) == 0 || create.Responses["201"] == nil || create.Responses["422"] == nil {
		t.Fatalf("create-project is not fully described: %s", doc.Paths["/api/v1/projects"]["post"])
	}
	if _, ok := doc.Components.Schemas["Problem"]; !ok {
		t.Error("the problem schema is not documented")
	}

	page := app.Do("GET", "/docs", "", nil)
	if page.Status != 200 || !strings.Contains(string(page.Body), "swagger-ui") || strings.Contains(string(page.Body), "https://") {
		t.Fatalf("docs page: %d %s", page.Status, page.Body)
	}
	for _, asset := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/init.js"} {
		if res := app.Do("GET", asset, "", nil); res.Status != 200 || len(res.Body) == 0 {
			t.Errorf("%s: %d", asset, res.Status)
		}
	}
	if init := app.Do("GET", "/docs/init.js", "", nil); !strings.Contains(string(init.Body), `"/openapi.json"`) {
		t.Error("the docs page does not load /openapi.json")
	}
	if res := app.Do("GET", "/docs/index.css.map", "", nil); res.Status != 404 {
		t.Errorf("unlisted docs file: %d", res.Status)
	}
}

func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	routes := &testRoutes{release: make(chan struct{})}
	app := testkit.StartApp(t, testkit.BaseEnv(testkit.NewPostgresDatabase(t)), withTestRoutes(routes))

	var wg sync.WaitGroup
	var inflight testkit.Response
	wg.Add(1)
	go func() {
		defer wg.Done()
		inflight = testkit.Do(t, "GET", app.URL+"/test/slow", "", nil)
	}()
	time.Sleep(200 * time.Millisecond) // the request is now being served

	stopped := make(chan error, 1)
	go func() { stopped <- app.Stop() }()
	time.Sleep(200 * time.Millisecond)
	// The listener is closed: new connections are refused while the old request drains.
	host := strings.TrimPrefix(app.URL, "http://")
	if c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", host); err == nil {
		_ = c.Close()
		t.Error("a new connection was accepted during shutdown")
	}
	select {
	case err := <-stopped:
		t.Fatalf("stop returned (%v) before the in-flight request finished", err)
	default:
	}
	close(routes.release)
	wg.Wait()
	if inflight.Status != 200 || strings.TrimSpace(string(inflight.Body)) != `"done"` {
		t.Fatalf("in-flight request: %d %s", inflight.Status, inflight.Body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
}
