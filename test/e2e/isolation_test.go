package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestIsolationMatrix: another subject gets exactly what a missing project
// gets, on every project route, and never sees the project listed.
func TestIsolationMatrix(t *testing.T) {
	app, _ := startPostgresApp(t)
	isolationMatrix(t, app)
}

func isolationMatrix(t *testing.T, app *testkit.App) {
	t.Helper()
	alice := testkit.Token(t, "alice", time.Hour)
	bob := testkit.Token(t, "bob", time.Hour)
	p := create(t, app, alice, "alice's secret")
	missing := "01936b2a-0000-7000-8000-000000000000"

	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/projects/%s", nil},
		{"PATCH", "/api/v1/projects/%s", `{"name":"stolen"}`},
		{"GET", "/api/v1/projects/%s/info", nil},
		{"DELETE", "/api/v1/projects/%s", nil},
	}
	for _, r := range routes {
		theirs := app.Do(r.method, sprintf(r.path, p.ID), bob, r.body)
		absent := app.Do(r.method, sprintf(r.path, missing), bob, r.body)
		if theirs.Status != http.StatusNotFound || absent.Status != http.StatusNotFound {
			t.Fatalf("%s %s: someone else's = %d, missing = %d", r.method, r.path, theirs.Status, absent.Status)
		}
		a, b := theirs.Map(t), absent.Map(t)
		for _, k := range []string{"type", "title", "status", "detail", "code"} {
			if a[k] != b[k] {
				t.Errorf("%s %s: field %q differs: %v vs %v", r.method, r.path, k, a[k], b[k])
			}
		}
		if len(a) != len(b) {
			t.Errorf("%s %s: body shapes differ: %s vs %s", r.method, r.path, theirs.Body, absent.Body)
		}
	}
	var list listJSON
	app.Do("GET", "/api/v1/projects", bob, nil).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("bob lists %d projects", len(list.Items))
	}
	// Nothing bob did changed alice's project.
	var got projectJSON
	res := app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil)
	res.JSON(t, &got)
	if res.Status != http.StatusOK || got != p {
		t.Fatalf("alice's project after bob's attempts: %d %+v", res.Status, got)
	}
	// And the same name is free for bob: names are per owner.
	create(t, app, bob, "alice's secret")
}
