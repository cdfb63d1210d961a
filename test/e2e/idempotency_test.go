package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

const keyHeader = "Idempotency-Key"

func countRows(t *testing.T, dbURL, query string, args ...any) (n int) {
	t.Helper()
	testkit.QueryRow(t, dbURL, query, args, &n)
	return n
}

func events(t *testing.T, dbURL, op string) int {
	t.Helper()
	return countRows(t, dbURL, `SELECT (SELECT count(*) FROM operation_outbox WHERE operation_id = $1)
		+ (SELECT count(*) FROM operation_events WHERE operation_id = $1)`, op)
}

func assertReplay(t *testing.T, first, again testkit.Response) {
	t.Helper()
	if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry was not the first answer replayed: %d %q %s, first %d %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body, first.Status, first.Body)
	}
	for _, h := range []string{"Location", "ETag", "Content-Type"} {
		if again.Header.Get(h) != first.Header.Get(h) {
			t.Errorf("replayed %s %q, first %q", h, again.Header.Get(h), first.Header.Get(h))
		}
	}
	if again.Header.Get(middlewareCorrelation) == first.Header.Get(middlewareCorrelation) {
		t.Error("a replay carries the first request's correlation id, not its own")
	}
}

// Every unsafe route replays its first answer to a retry with the same key,
// writes nothing twice, refuses the key for another request and keeps one
// caller's keys apart from another's.
func TestIdempotencyKeysMakeRetriesHarmless(t *testing.T) {
	app, dbURL := startOperationsApp(t)
	alice, bob := testkit.Token(t, "alice", time.Hour), testkit.Token(t, "bob", time.Hour)

	first := app.Do("POST", "/api/v1/projects", alice, `{"name":"once"}`, keyHeader, "create-1")
	if first.Status != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first create: %d %v %s", first.Status, first.Header, first.Body)
	}
	assertReplay(t, first, app.Do("POST", "/api/v1/projects", alice, `{"name":"once"}`, keyHeader, "create-1"))
	if n := countRows(t, dbURL, `SELECT count(*) FROM projects WHERE owner = 'alice'`); n != 1 {
		t.Fatalf("%d projects after a retried create", n)
	}
	var p projectJSON
	first.JSON(t, &p)

	reused := app.Do("POST", "/api/v1/projects", alice, `{"name":"another"}`, keyHeader, "create-1")
	if reused.Status != http.StatusUnprocessableEntity || reused.Map(t)["code"] != "idempotency.key_reused" {
		t.Fatalf("key reused for another body: %d %s", reused.Status, reused.Body)
	}
	assertProblem(t, reused, http.StatusUnprocessableEntity)
	if res := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"x"}`, keyHeader, "create-1"); res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("key reused on another route: %d %s", res.Status, res.Body)
	}
	// Bob's identical key is his own: his request runs, and is his project.
	theirs := app.Do("POST", "/api/v1/projects", bob, `{"name":"once"}`, keyHeader, "create-1")
	if theirs.Status != http.StatusCreated || theirs.Header.Get("Idempotent-Replayed") != "" || bytes.Equal(theirs.Body, first.Body) {
		t.Fatalf("another caller's identical key: %d %s", theirs.Status, theirs.Body)
	}

	// Progress reports: a retried report is one event.
	op := createOperation(t, app, alice, p.ID, "import")
	opPath := "/api/v1/projects/" + p.ID + "/operations/" + op.ID
	before := events(t, dbURL, op.ID)
	report := app.Do("POST", opPath+"/progress", alice, `{"percent":10,"message":"ten"}`, keyHeader, "report-10")
	if report.Status != http.StatusOK {
		t.Fatalf("report: %d %s", report.Status, report.Body)
	}
	for range 3 {
		assertReplay(t, report, app.Do("POST", opPath+"/progress", alice, `{"percent":10,"message":"ten"}`, keyHeader, "report-10"))
	}
	if got := events(t, dbURL, op.ID); got != before+1 {
		t.Fatalf("%d events for one report retried three times, want %d", got, before+1)
	}

	// PATCH, cancel and DELETE replay too; a replayed DELETE is 204 again,
	// not the 404 a second delete would be.
	patch := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"description":"d"}`, keyHeader, "patch-1")
	assertReplay(t, patch, app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"description":"d"}`, keyHeader, "patch-1"))
	cancel := app.Do("POST", opPath+"/cancel", alice, nil, keyHeader, "cancel-1")
	if cancel.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", cancel.Status, cancel.Body)
	}
	assertReplay(t, cancel, app.Do("POST", opPath+"/cancel", alice, nil, keyHeader, "cancel-1"))
	del := app.Do("DELETE", "/api/v1/projects/"+p.ID, alice, nil, keyHeader, "delete-1")
	if del.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", del.Status, del.Body)
	}
	assertReplay(t, del, app.Do("DELETE", "/api/v1/projects/"+p.ID, alice, nil, keyHeader, "delete-1"))

	// A failed write keeps nothing: the same key runs again once it can succeed.
	taken := app.Do("POST", "/api/v1/projects", alice, `{"name":"dup"}`, keyHeader, "dup-1")
	if taken.Status != http.StatusCreated {
		t.Fatal(taken.Status)
	}
	if res := app.Do("POST", "/api/v1/projects", alice, `{"name":"dup"}`, keyHeader, "dup-2"); res.Status != http.StatusConflict {
		t.Fatalf("name taken: %d", res.Status)
	}
	if n := countRows(t, dbURL, `SELECT count(*) FROM idempotency_keys WHERE key = 'dup-2'`); n != 0 {
		t.Fatalf("a refused write left its key behind")
	}
}

func TestBadIdempotencyKeysAre400(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	for name, key := range map[string]string{
		"too long":  strings.Repeat("k", 256),
		"non-ASCII": "clé",
	} {
		res := app.Do("POST", "/api/v1/projects", alice, `{"name":"`+name+`"}`, keyHeader, key)
		if res.Status != http.StatusBadRequest || res.Map(t)["code"] != "idempotency.key_invalid" {
			t.Errorf("%s key: %d %s", name, res.Status, res.Body)
		}
	}
	req, _ := http.NewRequestWithContext(context.Background(), "POST", app.URL+"/api/v1/projects", strings.NewReader(`{"name":"two keys"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+alice)
	req.Header.Add(keyHeader, "a")
	req.Header.Add(keyHeader, "b")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("two keys: %d", res.StatusCode)
	}
	if n := len(app.Do("GET", "/api/v1/projects", alice, nil).Map(t)["items"].([]any)); n != 0 {
		t.Errorf("a refused key still created %d projects", n)
	}
	if res := app.Do("POST", "/api/v1/projects", alice, `{"name":"max"}`, keyHeader, strings.Repeat("k", 255)); res.Status != http.StatusCreated {
		t.Errorf("a 255-character key: %d %s", res.Status, res.Body)
	}
}

// Concurrent retries of one request: exactly one runs; each other one gets
// 409 with Retry-After while it runs, or its answer replayed after.
func TestConcurrentRetriesRunOnce(t *testing.T) {
	one, two := startTwoOperationsApps(t)
	alice := testkit.Token(t, "alice", time.Hour)
	var wg sync.WaitGroup
	answers := make([]testkit.Response, 8)
	for i := range answers {
		wg.Go(func() {
			app := one
			if i%2 == 1 {
				app = two
			}
			answers[i] = app.Do("POST", "/api/v1/projects", alice, `{"name":"raced"}`, keyHeader, "race-1")
		})
	}
	wg.Wait()
	created, busy, replayed := 0, 0, 0
	for _, a := range answers {
		switch {
		case a.Status == http.StatusCreated && a.Header.Get("Idempotent-Replayed") == "true":
			replayed++
		case a.Status == http.StatusCreated:
			created++
		case a.Status == http.StatusConflict && a.Map(t)["code"] == "idempotency.in_progress" && a.Header.Get("Retry-After") != "":
			busy++
		default:
			t.Errorf("unexpected answer: %d %s", a.Status, a.Body)
		}
	}
	if created != 1 || created+busy+replayed != len(answers) {
		t.Fatalf("created %d, busy %d, replayed %d", created, busy, replayed)
	}
	if n := len(one.Do("GET", "/api/v1/projects", alice, nil).Map(t)["items"].([]any)); n != 1 {
		t.Fatalf("%d projects", n)
	}
}

// The case a retry exists for: the write commits, its answer is lost (the
// database froze right after COMMIT reached it, and the request deadline
// answered 503), and the client retries as the 503 invites. The retry gets
// the committed answer; there is one project, one event.
func TestARetryAfterA503FindsTheCommittedWrite(t *testing.T) {
	testkit.RequireRedis(t)
	dbURL := testkit.NewPostgresDatabase(t)
	proxy := testkit.NewProxy(t, "127.0.0.1:5432")
	env := operationsEnv(t, strings.Replace(dbURL, "127.0.0.1:5432", proxy.Addr(), 1), testkit.RandomName("e2e_")+":")
	env["HTTP_REQUEST_TIMEOUT"] = "1s"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "frozen")
	op := createOperation(t, app, alice, p.ID, "import")
	opPath := "/api/v1/projects/" + p.ID + "/operations/" + op.ID

	for _, write := range []struct{ path, body, key, table string }{
		{"/api/v1/projects", `{"name":"lost answer"}`, "frozen-create", "projects"},
		{opPath + "/progress", `{"percent":40,"message":"forty"}`, "frozen-report", "events"},
	} {
		projectsBefore, eventsBefore := countRows(t, dbURL, `SELECT count(*) FROM projects`), events(t, dbURL, op.ID)
		proxy.FreezeAfter("idempotency_keys", "commit")
		res := app.Do("POST", write.path, alice, write.body, keyHeader, write.key)
		if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with the database frozen after COMMIT: %d %s", write.key, res.Status, res.Body)
		}
		proxy.Cut() // the frozen connections are gone for good
		proxy.Restore()
		if n := countRows(t, dbURL, `SELECT count(*) FROM idempotency_keys WHERE key = $1`, write.key); n != 1 {
			t.Fatalf("%s: the write did not commit with its key (%d rows): the test did not freeze where it means to", write.key, n)
		}
		var retry testkit.Response
		if !testkit.Eventually(10*time.Second, func() bool {
			retry = app.Do("POST", write.path, alice, write.body, keyHeader, write.key)
			return retry.Status < 500
		}) {
			t.Fatalf("%s: no answer after the thaw: %d %s", write.key, retry.Status, retry.Body)
		}
		if retry.Header.Get("Idempotent-Replayed") != "true" || retry.Status >= 300 {
			t.Fatalf("%s retry: %d %q %s", write.key, retry.Status, retry.Header.Get("Idempotent-Replayed"), retry.Body)
		}
		assertReplay(t, retry, app.Do("POST", write.path, alice, write.body, keyHeader, write.key))
		wantProjects, wantEvents := projectsBefore, eventsBefore
		if write.table == "projects" {
			wantProjects++
			if !strings.Contains(string(retry.Body), `"lost answer"`) {
				t.Fatalf("replayed body: %s", retry.Body)
			}
		} else {
			wantEvents++
			if !strings.Contains(string(retry.Body), `"forty"`) {
				t.Fatalf("replayed body: %s", retry.Body)
			}
		}
		if got := countRows(t, dbURL, `SELECT count(*) FROM projects`); got != wantProjects {
			t.Fatalf("%s: %d projects, want %d", write.key, got, wantProjects)
		}
		if got := events(t, dbURL, op.ID); got != wantEvents {
			t.Fatalf("%s: %d events, want %d", write.key, got, wantEvents)
		}
	}
}

// An instance that dies after committing and before its answer leaves:
// the retry reaches the other instance, which replays the answer.
func TestARetryOnAnotherInstanceAfterOneDied(t *testing.T) {
	one, two := startTwoOperationsApps(t)
	alice := testkit.Token(t, "alice", time.Hour)
	target, _ := url.Parse(one.URL)
	// In front of instance one, a proxy that swallows the answer, stops
	// the instance and tells the client the gateway failed.
	front := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: func(*http.Response) error {
			_ = one.Stop()
			return context.Canceled
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	})
	defer front.Close()
	lost := testkit.Do(t, "POST", front.URL+"/api/v1/projects", alice, `{"name":"died"}`, keyHeader, "died-1")
	if lost.Status != http.StatusBadGateway {
		t.Fatalf("through the dying instance: %d %s", lost.Status, lost.Body)
	}
	retry := two.Do("POST", "/api/v1/projects", alice, `{"name":"died"}`, keyHeader, "died-1")
	if retry.Status != http.StatusCreated || retry.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(retry.Body), `"died"`) {
		t.Fatalf("retry on the other instance: %d %q %s", retry.Status, retry.Header.Get("Idempotent-Replayed"), retry.Body)
	}
	if n := len(two.Do("GET", "/api/v1/projects", alice, nil).Map(t)["items"].([]any)); n != 1 {
		t.Fatalf("%d projects", n)
	}
}

// The embedded default keeps keys the same way, and forgets them after
// IDEMPOTENCY_KEY_RETENTION.
func TestIdempotencyOnSQLiteAndRetention(t *testing.T) {
	env := testkit.BaseEnv(testkit.NewSQLiteURL(t))
	env["IDEMPOTENCY_KEY_RETENTION"] = "2s"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	first := app.Do("POST", "/api/v1/projects", alice, `{"name":"lite"}`, keyHeader, "lite-1")
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	assertReplay(t, first, app.Do("POST", "/api/v1/projects", alice, `{"name":"lite"}`, keyHeader, "lite-1"))
	if res := app.Do("POST", "/api/v1/projects", alice, `{"name":"other"}`, keyHeader, "lite-1"); res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reuse on SQLite: %d", res.Status)
	}
	var p projectJSON
	first.JSON(t, &p)
	op := createOperation(t, app, alice, p.ID, "import")
	path := "/api/v1/projects/" + p.ID + "/operations/" + op.ID + "/progress"
	rep := app.Do("POST", path, alice, `{"percent":5}`, keyHeader, "lite-report")
	assertReplay(t, rep, app.Do("POST", path, alice, `{"percent":5}`, keyHeader, "lite-report"))
	time.Sleep(2500 * time.Millisecond) // past the retention: the key is new again
	again := app.Do("POST", "/api/v1/projects", alice, `{"name":"lite"}`, keyHeader, "lite-1")
	if again.Status != http.StatusConflict || again.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("after the retention the request runs again (and finds the name taken): %d %s", again.Status, again.Body)
	}
}

func TestTheDocumentDeclaresIdempotencyKeys(t *testing.T) {
	app, _ := startPostgresApp(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
			Responses  map[string]any              `json:"responses"`
		} `json:"paths"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)
	unsafe := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			declared := false
			for _, p := range op.Parameters {
				declared = declared || (p.Name == keyHeader && p.In == "header")
			}
			switch method {
			case "post", "patch", "delete", "put":
				unsafe++
				_, c409 := op.Responses["409"]
				_, c422 := op.Responses["422"]
				if !declared || !c409 || !c422 {
					t.Errorf("%s %s: Idempotency-Key declared %v, 409 %v, 422 %v", method, path, declared, c409, c422)
				}
			default:
				if declared {
					t.Errorf("%s %s declares Idempotency-Key", method, path)
				}
			}
		}
	}
	if unsafe < 6 {
		t.Fatalf("only %d unsafe operations in the document", unsafe)
	}
}

// A conditional write that committed and is retried with its key and tag
// gets its 200 again, not the 412 its now stale tag would earn; the same
// key with another tag is another request.
func TestARetriedConditionalWriteIsReplayedNotRefused(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "tagged")
	tag := app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil).Header.Get("ETag")
	first := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"renamed"}`, keyHeader, "tagged-1", "If-Match", tag)
	if first.Status != http.StatusOK || first.Header.Get("ETag") == tag {
		t.Fatalf("conditional PATCH: %d %q %s", first.Status, first.Header.Get("ETag"), first.Body)
	}
	assertReplay(t, first, app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"renamed"}`, keyHeader, "tagged-1", "If-Match", tag))
	if res := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"renamed"}`, keyHeader, "tagged-1", "If-Match", `"999"`); res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("the same key with another tag: %d %s", res.Status, res.Body)
	}
	if res := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"renamed"}`, "If-Match", tag); res.Status != http.StatusPreconditionFailed {
		t.Fatalf("without the key the stale tag is refused: %d", res.Status)
	}
}
