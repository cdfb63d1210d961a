package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// A write whose COMMIT fails must neither be reported as done nor leave a
// trace: the client gets a 500 problem that does not show the database's
// message, the stored state and the event outbox are as they were, and the
// next write starts from the stored state, not from a remembered copy of
// the one that failed.
func TestAFailedCommitChangesNothingAndSaysSo(t *testing.T) {
	app, dbURL := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "committed")
	op := createOperation(t, app, alice, p.ID, "import")
	mustReport(t, app, alice, p.ID, op.ID, 10, "first")
	// An event is in the outbox until the relay numbers it into the log.
	events := func() (n int) {
		testkit.QueryRow(t, dbURL, `SELECT (SELECT count(*) FROM operation_outbox WHERE operation_id = $1)
			+ (SELECT count(*) FROM operation_events WHERE operation_id = $1)`, []any{op.ID}, &n)
		return n
	}
	before := events()

	// A deferred constraint trigger runs at COMMIT: these refuse every
	// commit that wrote an event or changed a project.
	testkit.Exec(t, dbURL, `CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$`)
	testkit.Exec(t, dbURL, `CREATE CONSTRAINT TRIGGER refuse_events AFTER INSERT ON operation_outbox
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()`)
	testkit.Exec(t, dbURL, `CREATE CONSTRAINT TRIGGER refuse_projects AFTER UPDATE ON projects
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()`)

	opPath := "/api/v1/projects/" + p.ID + "/operations/" + op.ID
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"POST", opPath + "/progress", `{"percent":50,"message":"never stored"}`},
		{"POST", opPath + "/progress", `{"percent":60}`}, // again, after the first failure
		{"POST", opPath + "/cancel", nil},
		{"PATCH", "/api/v1/projects/" + p.ID, `{"name":"renamed"}`},
		{"DELETE", "/api/v1/projects/" + p.ID, nil},
	} {
		res := app.Do(call.method, call.path, alice, call.body)
		if res.Status != http.StatusInternalServerError {
			t.Fatalf("%s %s with commits refused: %d %s", call.method, call.path, res.Status, res.Body)
		}
		assertProblem(t, res, http.StatusInternalServerError)
		if strings.Contains(string(res.Body), "refused") {
			t.Errorf("the problem shows the database's message: %s", res.Body)
		}
	}

	var got operationJSON
	res := app.Do("GET", opPath, alice, nil)
	res.JSON(t, &got)
	if res.Status != 200 || got.Percent != 10 || got.Message != "first" || got.Status != "running" {
		t.Fatalf("the operation after refused commits: %d %s", res.Status, res.Body)
	}
	if n := events(); n != before {
		t.Fatalf("refused commits left %d events, want %d", n, before)
	}
	var pj projectJSON
	res = app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil)
	res.JSON(t, &pj)
	if res.Status != 200 || pj.Name != "committed" {
		t.Fatalf("the project after refused commits: %d %s", res.Status, res.Body)
	}

	testkit.Exec(t, dbURL, `DROP TRIGGER refuse_events ON operation_outbox`)
	testkit.Exec(t, dbURL, `DROP TRIGGER refuse_projects ON projects`)
	mustReport(t, app, alice, p.ID, op.ID, 50, "stored")
	res = app.Do("GET", opPath, alice, nil)
	res.JSON(t, &got)
	if got.Percent != 50 || got.Message != "stored" {
		t.Fatalf("the first write after commits came back: %s", res.Body)
	}
	if n := events(); n != before+1 {
		t.Fatalf("%d events after one accepted report, want %d", n, before+1)
	}
	if res := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"renamed"}`); res.Status != 200 {
		t.Fatalf("rename after commits came back: %d %s", res.Status, res.Body)
	}
}
