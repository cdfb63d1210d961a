package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// conditionalApps starts the app on each dialect: conditional writes are
// decided by the repositories, so both must hold the same contract.
var conditionalApps = map[string]func(t *testing.T, extra ...string) *testkit.App{
	"postgres": func(t *testing.T, extra ...string) *testkit.App {
		app, _ := startPostgresApp(t, extra...)
		return app
	},
	"sqlite": func(t *testing.T, extra ...string) *testkit.App {
		env := testkit.BaseEnv(testkit.NewSQLiteURL(t))
		for i := 0; i+1 < len(extra); i += 2 {
			env[extra[i]] = extra[i+1]
		}
		return testkit.StartApp(t, env)
	},
}

func onBothDialects(t *testing.T, run func(t *testing.T, start func(t *testing.T, extra ...string) *testkit.App)) {
	for name, start := range conditionalApps {
		t.Run(name, func(t *testing.T) { run(t, start) })
	}
}

// expectStatus fails unless res has status want; a 412 or 428 must be a
// problem with its stable code.
func expectStatus(t *testing.T, what string, res testkit.Response, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: %d %s, want %d", what, res.Status, res.Body, want)
	}
	code := map[int]string{http.StatusPreconditionFailed: "precondition_failed", http.StatusPreconditionRequired: "precondition_required"}[want]
	if code == "" {
		return
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q, want a problem", what, ct)
	}
	if got := res.Map(t)["code"]; got != code {
		t.Fatalf("%s: code %v, want %s", what, got, code)
	}
}

func expectETag(t *testing.T, what string, res testkit.Response, want string) {
	t.Helper()
	if got := res.Header.Get("ETag"); got != want {
		t.Fatalf("%s: ETag %q, want %q", what, got, want)
	}
}

// TestTwoWritersWithOneTagOneWins: writers that read the same ETag race
// to rename the project; exactly one wins, every other one gets 412 and
// the stored project is the winner's. A stale DELETE changes nothing.
func TestTwoWritersWithOneTagOneWins(t *testing.T) {
	onBothDialects(t, func(t *testing.T, start func(t *testing.T, extra ...string) *testkit.App) {
		app := start(t)
		alice := testkit.Token(t, "alice", time.Hour)
		res := app.Do("POST", "/api/v1/projects", alice, `{"name":"contested"}`)
		expectStatus(t, "create", res, http.StatusCreated)
		expectETag(t, "create", res, `"0"`)
		var p projectJSON
		res.JSON(t, &p)
		path := "/api/v1/projects/" + p.ID
		res = app.Do("GET", path, alice, nil)
		expectETag(t, "get", res, `"0"`)
		tag := res.Header.Get("ETag")

		const writers = 6
		answers := make([]testkit.Response, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = app.Do("PATCH", path, alice, fmt.Sprintf(`{"name":"writer %d"}`, i), "If-Match", tag)
			}()
		}
		wg.Wait()
		winner := -1
		for i, res := range answers {
			switch res.Status {
			case http.StatusOK:
				if winner >= 0 {
					t.Fatalf("writers %d and %d both won with %s", winner, i, tag)
				}
				winner = i
				expectETag(t, "the winner", res, `"1"`)
			default:
				expectStatus(t, fmt.Sprintf("writer %d", i), res, http.StatusPreconditionFailed)
				if res.Header.Get("ETag") != "" {
					t.Fatalf("a 412 carries an ETag: %v", res.Header)
				}
			}
		}
		if winner < 0 {
			t.Fatal("no writer won")
		}
		res = app.Do("GET", path, alice, nil)
		var got projectJSON
		res.JSON(t, &got)
		if got.Name != fmt.Sprintf("writer %d", winner) {
			t.Fatalf("stored name %q, want writer %d's", got.Name, winner)
		}
		expectETag(t, "get after the race", res, `"1"`)

		// The loser's tag is stale for DELETE too: nothing is deleted.
		expectStatus(t, "stale delete", app.Do("DELETE", path, alice, nil, "If-Match", tag), http.StatusPreconditionFailed)
		expectStatus(t, "get after a stale delete", app.Do("GET", path, alice, nil), http.StatusOK)
		// A weak tag never matches If-Match (strong comparison), and a list matches any of its tags.
		expectStatus(t, "weak If-Match", app.Do("PATCH", path, alice, `{"description":"weak"}`, "If-Match", `W/"1"`), http.StatusPreconditionFailed)
		res = app.Do("PATCH", path, alice, `{"description":"listed"}`, "If-Match", `"7", "1"`)
		expectStatus(t, "listed If-Match", res, http.StatusOK)
		expectETag(t, "listed If-Match", res, `"2"`)
		// "*" matches any existing project, and no missing one.
		res = app.Do("PATCH", path, alice, `{"description":"any"}`, "If-Match", "*")
		expectStatus(t, "If-Match *", res, http.StatusOK)
		expectETag(t, "If-Match *", res, `"3"`)
		// A change that changes nothing keeps the version, and its tag.
		res = app.Do("PATCH", path, alice, `{"description":"any"}`, "If-Match", `"3"`)
		expectStatus(t, "no-op patch", res, http.StatusOK)
		expectETag(t, "no-op patch", res, `"3"`)
		expectStatus(t, "delete at the current tag", app.Do("DELETE", path, alice, nil, "If-Match", `"3"`), http.StatusNoContent)
		expectStatus(t, "If-Match * on a deleted project", app.Do("PATCH", path, alice, `{"name":"x"}`, "If-Match", "*"), http.StatusNotFound)
	})
}

// TestIfNoneMatchAnswers304: a GET naming the current tag is a 304
// without a body that still sends the tag; after a change the old tag
// gets the new representation.
func TestIfNoneMatchAnswers304(t *testing.T) {
	onBothDialects(t, func(t *testing.T, start func(t *testing.T, extra ...string) *testkit.App) {
		app := start(t)
		alice := testkit.Token(t, "alice", time.Hour)
		p := create(t, app, alice, "cached")
		path := "/api/v1/projects/" + p.ID
		tag := app.Do("GET", path, alice, nil).Header.Get("ETag")
		for _, header := range []string{tag, "W/" + tag, `"9", ` + tag, "*"} {
			res := app.Do("GET", path, alice, nil, "If-None-Match", header)
			if res.Status != http.StatusNotModified || len(res.Body) != 0 {
				t.Fatalf("If-None-Match %s: %d %q, want 304 without a body", header, res.Status, res.Body)
			}
			expectETag(t, "304", res, tag)
		}
		if res := app.Do("GET", path, alice, nil, "If-None-Match", `"9"`); res.Status != http.StatusOK || len(res.Body) == 0 {
			t.Fatalf("another tag: %d %q", res.Status, res.Body)
		}
		app.Do("PATCH", path, alice, `{"description":"changed"}`)
		res := app.Do("GET", path, alice, nil, "If-None-Match", tag)
		var got projectJSON
		res.JSON(t, &got)
		if res.Status != http.StatusOK || got.Description != "changed" {
			t.Fatalf("the old tag after a change: %d %s", res.Status, res.Body)
		}
		expectETag(t, "after a change", res, `"1"`)
		// Someone else's project is 404 whatever the tag.
		bob := testkit.Token(t, "bob", time.Hour)
		expectStatus(t, "another owner", app.Do("GET", path, bob, nil, "If-None-Match", "*"), http.StatusNotFound)

		op := createOperation(t, app, alice, p.ID, "import")
		opPath := path + "/operations/" + op.ID
		res = app.Do("GET", opPath, alice, nil)
		expectETag(t, "get operation", res, `"0"`)
		res = app.Do("GET", opPath, alice, nil, "If-None-Match", `"0"`)
		if res.Status != http.StatusNotModified || len(res.Body) != 0 {
			t.Fatalf("operation If-None-Match: %d %q", res.Status, res.Body)
		}
		expectETag(t, "operation 304", res, `"0"`)
		mustReport(t, app, alice, p.ID, op.ID, 10, "started")
		res = app.Do("GET", opPath, alice, nil, "If-None-Match", `"0"`)
		if res.Status != http.StatusOK || res.Map(t)["percent"] != float64(10) {
			t.Fatalf("operation after a report: %d %s", res.Status, res.Body)
		}
		expectETag(t, "operation after a report", res, `"1"`)
	})
}

// TestProgressAndCancelHonourIfMatch: a worker's report and a cancel
// apply only at the tag they name; a stale one changes nothing.
func TestProgressAndCancelHonourIfMatch(t *testing.T) {
	onBothDialects(t, func(t *testing.T, start func(t *testing.T, extra ...string) *testkit.App) {
		app := start(t)
		alice := testkit.Token(t, "alice", time.Hour)
		p := create(t, app, alice, "work")
		res := app.Do("POST", "/api/v1/projects/"+p.ID+"/operations", alice, `{"kind":"import"}`)
		expectStatus(t, "create operation", res, http.StatusCreated)
		expectETag(t, "create operation", res, `"0"`)
		var op operationJSON
		res.JSON(t, &op)
		path := "/api/v1/projects/" + p.ID + "/operations/" + op.ID

		res = app.Do("POST", path+"/progress", alice, `{"percent":10}`, "If-Match", `"0"`)
		expectStatus(t, "report at the current tag", res, http.StatusOK)
		expectETag(t, "report", res, `"1"`)
		expectStatus(t, "stale report", app.Do("POST", path+"/progress", alice, `{"percent":50}`, "If-Match", `"0"`), http.StatusPreconditionFailed)
		expectStatus(t, "stale cancel", app.Do("POST", path+"/cancel", alice, nil, "If-Match", `"0"`), http.StatusPreconditionFailed)
		var got operationJSON
		res = app.Do("GET", path, alice, nil)
		res.JSON(t, &got)
		if got.Percent != 10 || got.Status != "running" {
			t.Fatalf("stale writes changed the operation: %+v", got)
		}
		expectETag(t, "after stale writes", res, `"1"`)

		res = app.Do("POST", path+"/cancel", alice, nil, "If-Match", `"1"`)
		expectStatus(t, "cancel at the current tag", res, http.StatusOK)
		expectETag(t, "cancel", res, `"2"`)
		res.JSON(t, &got)
		if got.Status != "cancelled" {
			t.Fatalf("cancel answered %+v", got)
		}
		// A stale tag on a finished operation is 412 (the tag is judged first), a current one 409.
		expectStatus(t, "stale tag on a finished operation", app.Do("POST", path+"/cancel", alice, nil, "If-Match", `"1"`), http.StatusPreconditionFailed)
		expectStatus(t, "current tag on a finished operation", app.Do("POST", path+"/cancel", alice, nil, "If-Match", `"2"`), http.StatusConflict)
	})
}

// TestIfMatchRequired: with HTTP_REQUIRE_IF_MATCH, every conditional
// write without If-Match is 428 and changes nothing; "*" or a tag
// satisfies it; reads and creates are not affected.
func TestIfMatchRequired(t *testing.T) {
	onBothDialects(t, func(t *testing.T, start func(t *testing.T, extra ...string) *testkit.App) {
		app := start(t, "HTTP_REQUIRE_IF_MATCH", "true")
		alice := testkit.Token(t, "alice", time.Hour)
		p := create(t, app, alice, "strict")
		path := "/api/v1/projects/" + p.ID
		op := createOperation(t, app, alice, p.ID, "import")
		opPath := path + "/operations/" + op.ID

		expectStatus(t, "patch without If-Match", app.Do("PATCH", path, alice, `{"name":"changed"}`), http.StatusPreconditionRequired)
		expectStatus(t, "delete without If-Match", app.Do("DELETE", path, alice, nil), http.StatusPreconditionRequired)
		expectStatus(t, "progress without If-Match", app.Do("POST", opPath+"/progress", alice, `{"percent":5}`), http.StatusPreconditionRequired)
		expectStatus(t, "cancel without If-Match", app.Do("POST", opPath+"/cancel", alice, nil), http.StatusPreconditionRequired)
		var got projectJSON
		app.Do("GET", path, alice, nil).JSON(t, &got)
		if got.Name != "strict" {
			t.Fatalf("a 428 changed the project: %+v", got)
		}
		var gotOp operationJSON
		res := app.Do("GET", opPath, alice, nil)
		res.JSON(t, &gotOp)
		if gotOp.Status != "pending" || gotOp.Percent != 0 {
			t.Fatalf("a 428 changed the operation: %+v", gotOp)
		}
		expectETag(t, "operation after 428s", res, `"0"`)
		// Another owner's project is 404, not 428: the gate answers first.
		bob := testkit.Token(t, "bob", time.Hour)
		expectStatus(t, "another owner without If-Match", app.Do("PATCH", path, bob, `{"name":"x"}`), http.StatusNotFound)

		expectStatus(t, "patch with *", app.Do("PATCH", path, alice, `{"name":"changed"}`, "If-Match", "*"), http.StatusOK)
		expectStatus(t, "progress with a tag", app.Do("POST", opPath+"/progress", alice, `{"percent":5}`, "If-Match", `"0"`), http.StatusOK)
		expectStatus(t, "cancel with a tag", app.Do("POST", opPath+"/cancel", alice, nil, "If-Match", `"1"`), http.StatusOK)
		expectStatus(t, "delete with a stale tag", app.Do("DELETE", path, alice, nil, "If-Match", `"0"`), http.StatusPreconditionFailed)
		expectStatus(t, "delete with the current tag", app.Do("DELETE", path, alice, nil, "If-Match", `"1"`), http.StatusNoContent)
	})
}

// TestTheDocumentDeclaresConditionalRequests: the OpenAPI document shows
// the ETag answers, the If-None-Match reads with their 304, and the
// If-Match writes with their 412 and 428.
func TestTheDocumentDeclaresConditionalRequests(t *testing.T) {
	app, _ := startPostgresApp(t)
	type response struct {
		Headers map[string]any `json:"headers"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
			Responses  map[string]response         `json:"responses"`
		} `json:"paths"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)
	const project = "/api/v1/projects/{project_id}"
	const operation = project + "/operations/{operation_id}"
	cases := []struct {
		method, path, header string
		statuses             []string
		tagged               string // the success status that carries ETag, if any
	}{
		{"get", project, "If-None-Match", []string{"200", "304"}, "200"},
		{"get", operation, "If-None-Match", []string{"200", "304"}, "200"},
		{"patch", project, "If-Match", []string{"200", "412", "428"}, "200"},
		{"delete", project, "If-Match", []string{"204", "412", "428"}, ""},
		{"post", operation + "/progress", "If-Match", []string{"200", "412", "428"}, "200"},
		{"post", operation + "/cancel", "If-Match", []string{"200", "412", "428"}, "200"},
	}
	for _, c := range cases {
		op, ok := doc.Paths[c.path][c.method]
		if !ok {
			t.Fatalf("%s %s is not in the document", c.method, c.path)
		}
		declared := false
		for _, p := range op.Parameters {
			declared = declared || (p.Name == c.header && p.In == "header")
		}
		if !declared {
			t.Errorf("%s %s does not declare the %s header", c.method, c.path, c.header)
		}
		for _, status := range c.statuses {
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s %s does not declare %s", c.method, c.path, status)
			}
		}
		if c.tagged != "" {
			if _, ok := op.Responses[c.tagged].Headers["ETag"]; !ok {
				t.Errorf("%s %s: %s does not declare ETag", c.method, c.path, c.tagged)
			}
		}
		if r, ok := op.Responses["304"]; ok {
			if _, ok := r.Headers["ETag"]; !ok {
				t.Errorf("%s %s: 304 does not declare ETag", c.method, c.path)
			}
		}
	}
	// Lists answer no tag.
	for _, path := range []string{"/api/v1/projects", project + "/operations"} {
		for _, p := range doc.Paths[path]["get"].Parameters {
			if p.Name == "If-None-Match" {
				t.Errorf("the list %s declares If-None-Match", path)
			}
		}
	}
}
