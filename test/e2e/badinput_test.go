package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func countProjects(t *testing.T, dbURL string) int {
	t.Helper()
	var n int
	testkit.QueryRow(t, dbURL, "SELECT count(*) FROM projects", nil, &n)
	return n
}

func TestBadInputIsA4xxProblemAndWritesNothing(t *testing.T) {
	app, dbURL := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "existing")
	before := countProjects(t, dbURL)
	big := `{"name":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`

	cases := []struct {
		name, method, path string
		body               any
		status             int
		location           string // a field error expected at this location
	}{
		{"malformed JSON", "POST", "/api/v1/projects", `{"name":`, 400, "body"},
		{"not an object", "POST", "/api/v1/projects", `["x"]`, 422, "body"},
		{"null body", "POST", "/api/v1/projects", `null`, 422, "body"},
		{"empty body", "POST", "/api/v1/projects", ``, 400, ""},
		{"wrong type", "POST", "/api/v1/projects", `{"name":42}`, 422, "body.name"},
		{"unknown field", "POST", "/api/v1/projects", `{"name":"x","owner":"bob"}`, 422, "body.owner"},
		{"missing name", "POST", "/api/v1/projects", `{"description":"x"}`, 422, "body"},
		{"empty name", "POST", "/api/v1/projects", `{"name":""}`, 422, "body.name"},
		{"blank name", "POST", "/api/v1/projects", `{"name":"   "}`, 422, "body.name"},
		{"over-long name", "POST", "/api/v1/projects", `{"name":"` + strings.Repeat("n", 201) + `"}`, 422, "body.name"},
		{"over-long description", "POST", "/api/v1/projects", `{"name":"x","description":"` + strings.Repeat("d", 2001) + `"}`, 422, "body.description"},
		{"oversized body", "POST", "/api/v1/projects", big, 413, ""},
		{"invalid UUID", "GET", "/api/v1/projects/not-a-uuid", nil, 422, "path.project_id"},
		{"invalid UUID on patch", "PATCH", "/api/v1/projects/123", `{"name":"x"}`, 422, "path.project_id"},
		{"invalid UUID on delete", "DELETE", "/api/v1/projects/zzz", nil, 422, "path.project_id"},
		{"patch wrong type", "PATCH", "/api/v1/projects/" + p.ID, `{"name":["x"]}`, 422, "body.name"},
		{"patch empty name", "PATCH", "/api/v1/projects/" + p.ID, `{"name":""}`, 422, "body.name"},
		{"patch unknown field", "PATCH", "/api/v1/projects/" + p.ID, `{"deleted_at":"2020-01-01T00:00:00Z"}`, 422, "body.deleted_at"},
		{"patch malformed", "PATCH", "/api/v1/projects/" + p.ID, `{"name":"x"`, 400, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := app.Do(c.method, c.path, alice, c.body)
			if res.Status != c.status {
				t.Fatalf("status %d, want %d: %s", res.Status, c.status, res.Body)
			}
			m := assertProblem(t, res, c.status)
			if c.location != "" {
				found := false
				errs, _ := m["errors"].([]any)
				for _, e := range errs {
					if e.(map[string]any)["location"] == c.location {
						found = true
					}
				}
				if !found {
					t.Fatalf("no field error at %s: %s", c.location, res.Body)
				}
			}
		})
	}
	// null, like an absent field, leaves a field unchanged.
	if res := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":null}`); res.Status != http.StatusOK {
		t.Fatalf("patch with null: %d %s", res.Status, res.Body)
	}
	if after := countProjects(t, dbURL); after != before {
		t.Fatalf("bad input wrote rows: %d before, %d after", before, after)
	}
	var got projectJSON
	app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil).JSON(t, &got)
	if got != p {
		t.Fatalf("bad patches changed the project: %+v", got)
	}
}

func TestWrongContentTypeIs415(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	res := app.Do("POST", "/api/v1/projects", alice, `{"name":"x"}`, "Content-Type", "text/plain")
	assertProblem(t, res, http.StatusUnsupportedMediaType)
}

func TestBodyLimitIsConfigurable(t *testing.T) {
	app, _ := startPostgresApp(t, "HTTP_MAX_BODY_BYTES", "2097152")
	alice := testkit.Token(t, "alice", time.Hour)
	// 1.5 MiB passes the transport limit and is refused by the domain rule instead.
	res := app.Do("POST", "/api/v1/projects", alice, `{"name":"x","description":"`+strings.Repeat("a", 3<<19)+`"}`)
	assertProblem(t, res, http.StatusUnprocessableEntity)
	res = app.Do("POST", "/api/v1/projects", alice, `{"name":"x","description":"`+strings.Repeat("a", 2<<20)+`"}`)
	if m := assertProblem(t, res, http.StatusRequestEntityTooLarge); m["detail"] != "the request body is larger than the limit of 2097152 bytes" {
		t.Errorf("413 detail %q does not state the limit", m["detail"])
	}
	// A body of exactly the limit is accepted by the transport.
	body := `{"name":"exact"` + strings.Repeat(" ", 2097152-len(`{"name":"exact"}`)) + `}`
	if res := app.Do("POST", "/api/v1/projects", alice, body); res.Status != http.StatusCreated {
		t.Fatalf("a body of exactly HTTP_MAX_BODY_BYTES: %d %s", res.Status, res.Body)
	}
}
