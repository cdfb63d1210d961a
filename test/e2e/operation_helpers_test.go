package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

type operationJSON struct {
	ID        string          `json:"id"`
	ProjectID string          `json:"project_id"`
	Kind      string          `json:"kind"`
	Status    string          `json:"status"`
	Percent   int             `json:"percent"`
	Message   string          `json:"message"`
	Result    json.RawMessage `json:"result"`
	Error     string          `json:"error"`
}

type eventJSON struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	ProjectID   string        `json:"project_id"`
	OperationID string        `json:"operation_id"`
	Operation   operationJSON `json:"operation"`
}

// operationsEnv is the environment of an app whose events travel through
// the test Redis under a key prefix of its own.
func operationsEnv(t *testing.T, dbURL, prefix string, extra ...string) map[string]string {
	t.Helper()
	testkit.RequireRedis(t)
	env := testkit.BaseEnv(dbURL)
	env["REDIS_URL"] = testkit.RedisURL()
	env["REDIS_KEY_PREFIX"] = prefix
	env["LOG_LEVEL"] = "info"
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// startOperationsApp starts the app on a fresh PostgreSQL database and Redis.
func startOperationsApp(t *testing.T, extra ...string) (*testkit.App, string) {
	t.Helper()
	dbURL := testkit.NewPostgresDatabase(t)
	return testkit.StartApp(t, operationsEnv(t, dbURL, testkit.RandomName("e2e_")+":", extra...)), dbURL
}

// startTwoOperationsApps starts two instances on one PostgreSQL database
// and one Redis key prefix, as two replicas of a deployment would run.
func startTwoOperationsApps(t *testing.T) (one, two *testkit.App) {
	t.Helper()
	dbURL := testkit.NewPostgresDatabase(t)
	prefix := testkit.RandomName("e2e_") + ":"
	return testkit.StartApp(t, operationsEnv(t, dbURL, prefix)), testkit.StartApp(t, operationsEnv(t, dbURL, prefix))
}

func createOperation(t *testing.T, app *testkit.App, token, project, kind string) operationJSON {
	t.Helper()
	res := app.Do("POST", "/api/v1/projects/"+project+"/operations", token, map[string]any{"kind": kind})
	if res.Status != http.StatusCreated {
		t.Fatalf("create operation: %d %s", res.Status, res.Body)
	}
	var op operationJSON
	res.JSON(t, &op)
	return op
}

func report(t *testing.T, app *testkit.App, token, project, op string, body map[string]any) testkit.Response {
	t.Helper()
	return app.Do("POST", "/api/v1/projects/"+project+"/operations/"+op+"/progress", token, body)
}

func mustReport(t *testing.T, app *testkit.App, token, project, op string, percent int, message string) {
	t.Helper()
	res := report(t, app, token, project, op, map[string]any{"percent": percent, "message": message})
	if res.Status != http.StatusOK {
		t.Fatalf("report %d%%: %d %s", percent, res.Status, res.Body)
	}
}

func opStreamPath(project, op string) string {
	return "/api/v1/projects/" + project + "/operations/" + op + "/events"
}

func projectStreamPath(project string) string {
	return "/api/v1/projects/" + project + "/events"
}

func decodeEvent(t *testing.T, ev testkit.SSEEvent) eventJSON {
	t.Helper()
	var e eventJSON
	if err := json.Unmarshal([]byte(ev.Data), &e); err != nil {
		t.Fatalf("event %q data %q: %v", ev.Event, ev.Data, err)
	}
	if e.ID != ev.ID {
		t.Fatalf("event data id %q differs from its SSE id %q", e.ID, ev.ID)
	}
	return e
}

func seq(t *testing.T, ev testkit.SSEEvent) int64 {
	t.Helper()
	n, err := strconv.ParseInt(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q is not a number", ev.ID)
	}
	return n
}

// nextEvent skips keepalive-free control messages until an operation event.
func expectEvent(t *testing.T, s *testkit.SSE, wantType string, timeout time.Duration) eventJSON {
	t.Helper()
	ev := s.Next(t, timeout)
	if ev.Event != wantType {
		t.Fatalf("got event %q (%s), want %q", ev.Event, ev.Data, wantType)
	}
	return decodeEvent(t, ev)
}

func messages(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("step %03d", i)
	}
	return out
}
