package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scoped-api/foundation/test/testkit"
)

// rateLimitEnv turns rate limiting on (testkit.BaseEnv turns it off) with
// the given writes budget; reads stay generous.
func rateLimitEnv(env map[string]string, writesPerMinute, writesBurst int) map[string]string {
	env["RATE_LIMIT_ENABLED"] = "true"
	env["RATE_LIMIT_WRITES_PER_MINUTE"] = strconv.Itoa(writesPerMinute)
	env["RATE_LIMIT_WRITES_BURST"] = strconv.Itoa(writesBurst)
	env["RATE_LIMIT_READS_PER_MINUTE"] = "600"
	env["RATE_LIMIT_READS_BURST"] = "100"
	return env
}

var rateLimitField = regexp.MustCompile(`^"(writes|reads)";r=(\d+);t=(\d+)$`)

// remaining checks a response's RateLimit field names policy and returns its r.
func remaining(t *testing.T, res testkit.Response, policy string) int {
	t.Helper()
	m := rateLimitField.FindStringSubmatch(res.Header.Get("RateLimit"))
	if m == nil || m[1] != policy {
		t.Fatalf("RateLimit = %q, want the %s policy's field (status %d)", res.Header.Get("RateLimit"), policy, res.Status)
	}
	r, _ := strconv.Atoi(m[2])
	return r
}

func createProjectAs(app *testkit.App, token, name string) testkit.Response {
	return app.Do("POST", "/api/v1/projects", token, map[string]any{"name": name})
}

// checkRefused checks a 429 is the rate-limit problem with its fields.
func checkRefused(t *testing.T, res testkit.Response, policy string) {
	t.Helper()
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("over the budget: %d %s", res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("429 content type %q", ct)
	}
	p := res.Map(t)
	if p["code"] != "rate_limit.exceeded" || p["status"] != float64(429) || p["type"] != "/problems/too-many-requests" || p["correlation_id"] == "" {
		t.Errorf("429 problem: %v", p)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds at one write a minute", res.Header.Get("Retry-After"))
	}
	if r := remaining(t, res, policy); r != 0 {
		t.Errorf("429 RateLimit r=%d, want 0", r)
	}
}

// TestRateLimitIsOneBudgetAcrossInstances: two instances sharing Redis
// spend from one writes budget per caller; every limited response carries
// the policy and what remains; over the budget is a 429 problem with
// Retry-After on either instance; reads, other callers and the health
// probes are untouched.
func TestRateLimitIsOneBudgetAcrossInstances(t *testing.T) {
	dbURL := testkit.NewPostgresDatabase(t)
	prefix := testkit.RandomName("e2e_") + ":"
	one := testkit.StartApp(t, rateLimitEnv(operationsEnv(t, dbURL, prefix), 1, 4))
	two := testkit.StartApp(t, rateLimitEnv(operationsEnv(t, dbURL, prefix), 1, 4))
	alice := testkit.Token(t, "alice", time.Hour)
	apps := []*testkit.App{one, two}

	for i := range 4 {
		res := createProjectAs(apps[i%2], alice, fmt.Sprintf("p%d", i))
		if res.Status != http.StatusCreated {
			t.Fatalf("write %d on instance %d: %d %s", i, i%2+1, res.Status, res.Body)
		}
		if got := res.Header.Get("RateLimit-Policy"); got != `"writes";q=1;w=60` {
			t.Errorf("write %d RateLimit-Policy = %q", i, got)
		}
		if r := remaining(t, res, "writes"); r != 3-i {
			t.Errorf("write %d on instance %d: r=%d, want %d (one budget for both instances)", i, i%2+1, r, 3-i)
		}
	}
	for _, app := range apps {
		checkRefused(t, createProjectAs(app, alice, "one too many"), "writes")
	}

	// Reads are a budget of their own.
	res := two.Do("GET", "/api/v1/projects", alice, nil)
	if res.Status != http.StatusOK || res.Header.Get("RateLimit-Policy") != `"reads";q=600;w=60` || remaining(t, res, "reads") != 99 {
		t.Errorf("read after the writes ran out: %d %v", res.Status, res.Header)
	}
	// So is every other caller.
	if res := createProjectAs(one, testkit.Token(t, "bob", time.Hour), "bob's"); res.Status != http.StatusCreated || remaining(t, res, "writes") != 3 {
		t.Errorf("bob's first write: %d %q", res.Status, res.Header.Get("RateLimit"))
	}
	// The health probes never are.
	for i := range 30 {
		for _, path := range []string{"/health/live", "/health/ready"} {
			res := one.Do("GET", path, "", nil)
			if res.Status != http.StatusOK || res.Header.Get("RateLimit") != "" || res.Header.Get("RateLimit-Policy") != "" {
				t.Fatalf("%s #%d: %d %v", path, i, res.Status, res.Header)
			}
		}
	}
	if _, r := ready(t, one); r.Checks["rate_limit"].Status != "ok" || r.Checks["rate_limit"].Required {
		t.Errorf("readiness rate_limit: %+v", r.Checks["rate_limit"])
	}

	// The budgets are kept under the deployment's key prefix.
	opt, err := redis.ParseURL(testkit.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer func() { _ = rc.Close() }()
	keys, err := rc.Keys(context.Background(), prefix+"rate:writes:*").Result()
	if err != nil || len(keys) != 2 {
		t.Errorf("keys under %srate:writes:*: %v %v, want alice's and bob's", prefix, keys, err)
	}
}

// TestRateLimitFailsOpenWhenRedisStops: with its Redis killed mid-run,
// the API goes on answering (no 429, no 500, no wait past the command
// timeout), says so in readiness and in a metric, and limits again once
// Redis is back.
func TestRateLimitFailsOpenWhenRedisStops(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	env := rateLimitEnv(testkit.BaseEnv(testkit.NewPostgresDatabase(t)), 1, 2)
	env["REDIS_URL"] = srv.URL()
	env["REDIS_KEY_PREFIX"] = testkit.RandomName("e2e_") + ":"
	env["REDIS_COMMAND_TIMEOUT"] = "300ms"
	env["LOG_LEVEL"] = "info"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)

	for i := range 2 {
		if res := createProjectAs(app, alice, fmt.Sprintf("before-%d", i)); res.Status != http.StatusCreated {
			t.Fatalf("write %d: %d %s", i, res.Status, res.Body)
		}
	}
	checkRefused(t, createProjectAs(app, alice, "refused"), "writes")

	srv.Stop()
	const n = 6
	for i := range n {
		start := time.Now()
		res := createProjectAs(app, alice, fmt.Sprintf("during-%d", i))
		took := time.Since(start)
		if res.Status != http.StatusCreated {
			t.Fatalf("write %d with Redis down: %d %s, want 201 (fail open)", i, res.Status, res.Body)
		}
		if res.Header.Get("RateLimit-Policy") != `"writes";q=1;w=60` || res.Header.Get("RateLimit") != "" {
			t.Errorf("write %d with Redis down: RateLimit-Policy %q, RateLimit %q", i, res.Header.Get("RateLimit-Policy"), res.Header.Get("RateLimit"))
		}
		if took > 2*time.Second {
			t.Errorf("write %d with Redis down took %s; the limiter must give up after REDIS_COMMAND_TIMEOUT", i, took)
		}
	}
	status, r := ready(t, app)
	rl := r.Checks["rate_limit"]
	if status != http.StatusServiceUnavailable || r.Checks["redis"].Status != "down" {
		t.Errorf("readiness with Redis down: %d, redis %+v (the required redis check decides)", status, r.Checks["redis"])
	}
	if rl.Status != "degraded" || rl.Required || rl.Since == nil || rl.Error == "" {
		t.Errorf("readiness rate_limit with Redis down: %+v", rl)
	}
	metrics := app.Do("GET", "/metrics", "", nil)
	if v, found := metricSum(string(metrics.Body), "http_rate_limit_failed_open_total", `policy="writes"`); !found || v < n {
		t.Errorf("http_rate_limit_failed_open_total{policy=writes} = %v (found %v), want at least %d", v, found, n)
	}
	if v, found := metricSum(string(metrics.Body), "http_rate_limit_limited_total", `policy="writes"`); !found || v != 1 {
		t.Errorf("http_rate_limit_limited_total{policy=writes} = %v (found %v), want 1", v, found)
	}

	srv.Start() // an empty Redis: the budget starts whole
	if !testkit.Eventually(10*time.Second, func() bool {
		res := app.Do("GET", "/api/v1/projects", alice, nil)
		return res.Status == http.StatusOK && res.Header.Get("RateLimit") != ""
	}) {
		t.Fatal("requests were never limited again after Redis came back")
	}
	if _, r := ready(t, app); r.Checks["rate_limit"].Status != "ok" {
		t.Errorf("readiness rate_limit after Redis came back: %+v", r.Checks["rate_limit"])
	}
	for i := range 2 {
		if res := createProjectAs(app, alice, fmt.Sprintf("after-%d", i)); res.Status != http.StatusCreated {
			t.Fatalf("write %d after Redis came back: %d %s", i, res.Status, res.Body)
		}
	}
	checkRefused(t, createProjectAs(app, alice, "refused again"), "writes")
}

// TestRateLimitInProcessOnTheEmbeddedDefault: without REDIS_URL, on
// SQLite, each instance limits in memory, with the same fields and problem.
func TestRateLimitInProcessOnTheEmbeddedDefault(t *testing.T) {
	env := testkit.BaseEnv("sqlite://" + t.TempDir() + "/api.db")
	delete(env, "RATE_LIMIT_ENABLED") // the code's default: on
	env["RATE_LIMIT_WRITES_PER_MINUTE"] = "1"
	env["RATE_LIMIT_WRITES_BURST"] = "3"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	var id string
	for i := range 3 {
		res := createProjectAs(app, alice, fmt.Sprintf("p%d", i))
		if res.Status != http.StatusCreated || remaining(t, res, "writes") != 2-i {
			t.Fatalf("write %d: %d %q %s", i, res.Status, res.Header.Get("RateLimit"), res.Body)
		}
		id, _ = res.Map(t)["id"].(string)
	}
	checkRefused(t, createProjectAs(app, alice, "refused"), "writes")
	if res := app.Do("PATCH", "/api/v1/projects/"+id, alice, map[string]any{"name": "renamed"}); res.Status != http.StatusTooManyRequests {
		t.Errorf("PATCH is a write too: %d", res.Status)
	}

	// The default reads budget: 600 a minute, 100 at once.
	res := app.Do("GET", "/api/v1/projects/"+id, alice, nil)
	if res.Status != http.StatusOK || res.Header.Get("RateLimit-Policy") != `"reads";q=600;w=60` || remaining(t, res, "reads") != 99 {
		t.Errorf("read: %d %v", res.Status, res.Header)
	}
	if res := app.Do("HEAD", "/api/v1/projects/"+id, alice, nil); res.Status != http.StatusOK || remaining(t, res, "reads") != 98 {
		t.Errorf("HEAD: %d %q", res.Status, res.Header.Get("RateLimit"))
	}
	// A request refused by authentication spends nothing and says nothing.
	if res := app.Do("GET", "/api/v1/projects", "", nil); res.Status != http.StatusUnauthorized || res.Header.Get("RateLimit") != "" {
		t.Errorf("no token: %d %q", res.Status, res.Header.Get("RateLimit"))
	}
	if _, r := ready(t, app); r.Checks["rate_limit"].Status != "ok" {
		t.Errorf("readiness rate_limit in process: %+v", r.Checks["rate_limit"])
	}
	if n := limitedOperations(t, app); n < 10 {
		t.Errorf("the document declares 429 and the RateLimit fields on %d operations", n)
	}
}

// limitedOperations counts the document's operations that declare the
// 429 with Retry-After and the RateLimit fields on their success; none
// under /health may.
func limitedOperations(t *testing.T, app *testkit.App) int {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Headers map[string]any `json:"headers"`
			} `json:"responses"`
		} `json:"paths"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			r429, ok := op.Responses["429"]
			if strings.HasPrefix(path, "/health/") {
				if ok {
					t.Errorf("%s %s declares a 429", method, path)
				}
				continue
			}
			if !ok || r429.Headers["Retry-After"] == nil {
				continue
			}
			for code, r := range op.Responses {
				if code[0] == '2' && r.Headers["RateLimit"] != nil && r.Headers["RateLimit-Policy"] != nil {
					n++
					break
				}
			}
		}
	}
	return n
}

// TestRateLimitCanBeTurnedOff: RATE_LIMIT_ENABLED=false limits nothing
// and sets no field.
func TestRateLimitCanBeTurnedOff(t *testing.T) {
	env := testkit.BaseEnv("sqlite://" + t.TempDir() + "/api.db")
	env["RATE_LIMIT_WRITES_PER_MINUTE"] = "1"
	env["RATE_LIMIT_WRITES_BURST"] = "1"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	for i := range 5 {
		res := createProjectAs(app, alice, fmt.Sprintf("p%d", i))
		if res.Status != http.StatusCreated || res.Header.Get("RateLimit") != "" || res.Header.Get("RateLimit-Policy") != "" {
			t.Fatalf("write %d with limiting off: %d %v", i, res.Status, res.Header)
		}
	}
	if _, r := ready(t, app); r.Checks["rate_limit"].Status != "disabled" {
		t.Errorf("readiness rate_limit when off: %+v", r.Checks["rate_limit"])
	}
	if n := limitedOperations(t, app); n != 0 {
		t.Errorf("with limiting off the document still declares limits on %d operations", n)
	}
}
