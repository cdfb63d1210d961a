package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func TestOperationLifecycleOverHTTP(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "ops")

	op := createOperation(t, app, alice, p.ID, "import")
	if op.Status != "pending" || op.Percent != 0 || op.ProjectID != p.ID || op.Kind != "import" {
		t.Fatalf("created %+v", op)
	}
	mustReport(t, app, alice, p.ID, op.ID, 30, "reading")
	res := report(t, app, alice, p.ID, op.ID, map[string]any{"percent": 20})
	if res.Status != http.StatusConflict || res.Map(t)["code"] != "operation.progress_backwards" {
		t.Fatalf("progress down: %d %s", res.Status, res.Body)
	}
	res = report(t, app, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded", "result": map[string]any{"rows": 7}})
	if res.Status != http.StatusOK {
		t.Fatalf("succeed: %d %s", res.Status, res.Body)
	}
	var done operationJSON
	res.JSON(t, &done)
	if done.Status != "succeeded" || done.Percent != 100 || string(done.Result) != `{"rows":7}` || done.Message != "reading" {
		t.Fatalf("succeeded %+v result %s", done, done.Result)
	}
	// Terminal states are final.
	for _, body := range []map[string]any{{"percent": 100}, {"percent": 100, "status": "failed", "error": "late"}} {
		if res := report(t, app, alice, p.ID, op.ID, body); res.Status != http.StatusConflict {
			t.Fatalf("report after success: %d %s", res.Status, res.Body)
		}
	}
	if res := app.Do("POST", "/api/v1/projects/"+p.ID+"/operations/"+op.ID+"/cancel", alice, nil); res.Status != http.StatusConflict {
		t.Fatalf("cancel after success: %d %s", res.Status, res.Body)
	}

	other := createOperation(t, app, alice, p.ID, "agent.run")
	if res := app.Do("POST", "/api/v1/projects/"+p.ID+"/operations/"+other.ID+"/cancel", alice, nil); res.Status != http.StatusOK || res.Map(t)["status"] != "cancelled" {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}

	// List, filtered and paged.
	res = app.Do("GET", "/api/v1/projects/"+p.ID+"/operations?status=succeeded", alice, nil)
	var page struct {
		Items      []operationJSON `json:"items"`
		NextCursor string          `json:"next_cursor"`
	}
	res.JSON(t, &page)
	if res.Status != http.StatusOK || len(page.Items) != 1 || page.Items[0].ID != op.ID {
		t.Fatalf("list succeeded: %d %s", res.Status, res.Body)
	}
	res = app.Do("GET", "/api/v1/projects/"+p.ID+"/operations?limit=1", alice, nil)
	res.JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != other.ID || page.NextCursor == "" {
		t.Fatalf("first page: %s", res.Body)
	}
	res = app.Do("GET", "/api/v1/projects/"+p.ID+"/operations?limit=1&cursor="+page.NextCursor, alice, nil)
	page.NextCursor = ""
	res.JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != op.ID || page.NextCursor != "" {
		t.Fatalf("second page: %s", res.Body)
	}
	res = app.Do("GET", "/api/v1/projects/"+p.ID+"/operations/"+op.ID, alice, nil)
	if res.Status != http.StatusOK || res.Map(t)["status"] != "succeeded" {
		t.Fatalf("get: %d %s", res.Status, res.Body)
	}

	// The info endpoint counts them.
	res = app.Do("GET", "/api/v1/projects/"+p.ID+"/info", alice, nil)
	var info struct {
		Operations struct {
			ByStatus map[string]int `json:"by_status"`
		} `json:"operations"`
		Streams struct {
			LastEventID string `json:"last_event_id"`
		} `json:"streams"`
	}
	res.JSON(t, &info)
	if info.Operations.ByStatus["succeeded"] != 1 || info.Operations.ByStatus["cancelled"] != 1 || info.Operations.ByStatus["running"] != 0 {
		t.Fatalf("info: %s", res.Body)
	}
	if !testkit.Eventually(5*time.Second, func() bool {
		res = app.Do("GET", "/api/v1/projects/"+p.ID+"/info", alice, nil)
		res.JSON(t, &info)
		return info.Streams.LastEventID == "5" // created, progress, succeeded, created, cancelled
	}) {
		t.Fatalf("last event id: %s", res.Body)
	}
}

func TestOperationBadInputChangesNothing(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "ops")
	op := createOperation(t, app, alice, p.ID, "import")
	base := "/api/v1/projects/" + p.ID + "/operations"
	for _, c := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"empty kind", "POST", base, map[string]any{"kind": ""}, http.StatusUnprocessableEntity},
		{"kind with spaces", "POST", base, map[string]any{"kind": "Bad Kind"}, http.StatusUnprocessableEntity},
		{"unknown field", "POST", base, map[string]any{"kind": "x", "owner": "bob"}, http.StatusUnprocessableEntity},
		{"percent above 100", "POST", base + "/" + op.ID + "/progress", map[string]any{"percent": 101}, http.StatusUnprocessableEntity},
		{"negative percent", "POST", base + "/" + op.ID + "/progress", map[string]any{"percent": -1}, http.StatusUnprocessableEntity},
		{"unknown status", "POST", base + "/" + op.ID + "/progress", map[string]any{"percent": 1, "status": "paused"}, http.StatusUnprocessableEntity},
		{"back to pending", "POST", base + "/" + op.ID + "/progress", map[string]any{"percent": 1, "status": "pending"}, http.StatusUnprocessableEntity},
		{"succeed while pending", "POST", base + "/" + op.ID + "/progress", map[string]any{"percent": 100, "status": "succeeded"}, http.StatusConflict},
		{"result without success", "POST", base + "/" + op.ID + "/progress", map[string]any{"percent": 5, "result": 1}, http.StatusUnprocessableEntity},
		{"not JSON", "POST", base + "/" + op.ID + "/progress", "{", http.StatusBadRequest},
		{"bad operation id", "GET", base + "/not-a-uuid", nil, http.StatusUnprocessableEntity},
		{"bad status filter", "GET", base + "?status=paused", nil, http.StatusUnprocessableEntity},
		{"bad cursor", "GET", base + "?cursor=zzz", nil, http.StatusUnprocessableEntity},
		{"bad last event id", "GET", base + "/" + op.ID + "/events?last_event_id=-3", nil, http.StatusUnprocessableEntity},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := app.Do(c.method, c.path, alice, c.body)
			if res.Status != c.want || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%d %s (want %d problem)", res.Status, res.Body, c.want)
			}
		})
	}
	res := app.Do("GET", base+"/"+op.ID, alice, nil)
	var got operationJSON
	res.JSON(t, &got)
	if got.Status != "pending" || got.Percent != 0 {
		t.Fatalf("bad input changed the operation: %s", res.Body)
	}
	res = app.Do("GET", base, alice, nil)
	var page struct {
		Items []operationJSON `json:"items"`
	}
	res.JSON(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("bad input created operations: %s", res.Body)
	}
}

// TestOperationIsolation: another user's project answers 404 on every
// operation route, streams and tickets included, and a subscriber of
// project A never sees project B's events.
func TestOperationIsolation(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	bob := testkit.Token(t, "bob", time.Hour)
	pa := create(t, app, alice, "alice's")
	pb := create(t, app, bob, "bob's")
	opA := createOperation(t, app, alice, pa.ID, "import")
	opB := createOperation(t, app, bob, pb.ID, "import")

	base := "/api/v1/projects/" + pa.ID
	for _, c := range []struct{ method, path string }{
		{"POST", base + "/operations"},
		{"GET", base + "/operations"},
		{"GET", base + "/operations/" + opA.ID},
		{"POST", base + "/operations/" + opA.ID + "/progress"},
		{"POST", base + "/operations/" + opA.ID + "/cancel"},
		{"POST", base + "/operations/" + opA.ID + "/events/tickets"},
		{"POST", base + "/events/tickets"},
		{"GET", base + "/operations/" + opA.ID + "/events"},
		{"GET", base + "/events"},
		{"GET", base + "/info"},
		// Bob's operation through Alice's project is not found either.
		{"GET", "/api/v1/projects/" + pa.ID + "/operations/" + opB.ID},
	} {
		tok := bob
		if strings.Contains(c.path, opB.ID) {
			tok = alice
		}
		var body any
		switch {
		case strings.HasSuffix(c.path, "/progress"):
			body = map[string]any{"percent": 50}
		case c.method == "POST" && strings.HasSuffix(c.path, "/operations"):
			body = map[string]any{"kind": "steal"}
		}
		res := app.Do(c.method, c.path, tok, body)
		if res.Status != http.StatusNotFound {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.path, res.Status, res.Body)
		}
	}
	if s := testkit.OpenSSE(t, app.URL+opStreamPath(pb.ID, opA.ID), alice); s.Status != http.StatusNotFound {
		t.Errorf("alice's operation through bob's project: %d", s.Status)
	}

	// Nothing changed for Alice.
	res := app.Do("GET", base+"/operations/"+opA.ID, alice, nil)
	if res.Map(t)["status"] != "pending" {
		t.Fatalf("bob changed alice's operation: %s", res.Body)
	}

	streamA := testkit.OpenSSE(t, app.URL+projectStreamPath(pa.ID), alice)
	if snap := streamA.Next(t, 5*time.Second); snap.Event != "snapshot" {
		t.Fatalf("first message %+v", snap)
	}
	mustReport(t, app, bob, pb.ID, opB.ID, 10, "bob's secret")
	mustReport(t, app, alice, pa.ID, opA.ID, 10, "alice's")
	next := streamA.Next(t, 5*time.Second)
	if next.Event == "created" { // still on its way when the stream opened
		if e := decodeEvent(t, next); e.OperationID != opA.ID {
			t.Fatalf("alice's stream got %+v", e)
		}
		next = streamA.Next(t, 5*time.Second)
	}
	if next.Event != "progress" {
		t.Fatalf("alice's stream got %+v", next)
	}
	ev := decodeEvent(t, next)
	if ev.ProjectID != pa.ID || ev.OperationID != opA.ID || ev.Operation.Message != "alice's" {
		t.Fatalf("alice's stream got %+v", ev)
	}
	if extra, ok := streamA.TryNext(300 * time.Millisecond); ok {
		t.Fatalf("alice's stream got another event: %+v", extra)
	}
}

// TestDeletedProjectHidesItsOperationsAtOnce: the gate's cache forgets a
// project the moment its owner deletes it.
func TestDeletedProjectHidesItsOperationsAtOnce(t *testing.T) {
	app, _ := startOperationsApp(t, "PROJECT_GATE_CACHE_TTL", "1m")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "doomed")
	op := createOperation(t, app, alice, p.ID, "import")
	mustReport(t, app, alice, p.ID, op.ID, 10, "cached")
	if res := app.Do("DELETE", "/api/v1/projects/"+p.ID, alice, nil); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/projects/" + p.ID + "/operations/" + op.ID},
		{"POST", "/api/v1/projects/" + p.ID + "/operations/" + op.ID + "/progress"},
	} {
		if res := app.Do(c.method, c.path, alice, map[string]any{"percent": 20}); res.Status != http.StatusNotFound {
			t.Errorf("%s %s after delete: %d", c.method, c.path, res.Status)
		}
	}
}

// TestEmbeddedDefaultStreamsInProcess: without Redis, on SQLite (what
// `make run` starts), events reach streams inside the process, resumes
// read the SQLite log, and readiness reports Redis as disabled.
func TestEmbeddedDefaultStreamsInProcess(t *testing.T) {
	env := testkit.BaseEnv(testkit.NewSQLiteURL(t))
	env["SSE_MAX_DURATION"] = "500ms"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "embedded")
	op := createOperation(t, app, alice, p.ID, "import")
	var wg sync.WaitGroup
	wg.Add(1)
	worker := func() {
		defer wg.Done()
		for i, msg := range messages(20) {
			mustReport(t, app, alice, p.ID, op.ID, i, msg)
			time.Sleep(40 * time.Millisecond)
		}
		if res := report(t, app, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded", "message": "done"}); res.Status != http.StatusOK {
			t.Errorf("succeed: %d %s", res.Status, res.Body)
		}
	}
	got, _, connections := follow(t, app.URL+opStreamPath(p.ID, op.ID), alice, 30*time.Second, func() { go worker() })
	wg.Wait()
	if strings.Join(got, ",") != strings.Join(append(messages(20), "done"), ",") || connections < 2 {
		t.Fatalf("over %d connections got %v", connections, got)
	}
	res := app.Do("GET", "/health/ready", "", nil)
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"redis":{"status":"disabled"`) {
		t.Fatalf("readiness: %d %s", res.Status, res.Body)
	}
}
