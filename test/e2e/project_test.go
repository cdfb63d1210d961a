package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

type projectJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type listJSON struct {
	Items      []projectJSON `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

func create(t *testing.T, app *testkit.App, token, name string) projectJSON {
	t.Helper()
	res := app.Do("POST", "/api/v1/projects", token, map[string]any{"name": name})
	if res.Status != http.StatusCreated {
		t.Fatalf("create %q: %d %s", name, res.Status, res.Body)
	}
	var p projectJSON
	res.JSON(t, &p)
	return p
}

func TestProjectCRUD(t *testing.T) {
	app, dbURL := startPostgresApp(t)
	projectCRUD(t, app, dbURL)
}

// projectCRUD runs the project flow on app, whose database dbURL reaches
// directly.
func projectCRUD(t *testing.T, app *testkit.App, dbURL string) {
	t.Helper()
	alice := testkit.Token(t, "alice", time.Hour)

	res := app.Do("POST", "/api/v1/projects", alice, `{"name":"  Apollo  ","description":"to the moon"}`)
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var p projectJSON
	res.JSON(t, &p)
	if p.Name != "Apollo" || p.Description != "to the moon" || p.ID == "" || p.CreatedAt.IsZero() || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Fatalf("created %+v", p)
	}
	if loc := res.Header.Get("Location"); loc != "/api/v1/projects/"+p.ID {
		t.Fatalf("Location = %q", loc)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	body := res.Map(t)
	for _, k := range []string{"id", "owner", "name", "description", "created_at", "updated_at"} {
		if _, ok := body[k]; !ok {
			t.Errorf("response lacks %q: %s", k, res.Body)
		}
	}
	if len(body) != 6 {
		t.Errorf("response has unexpected fields: %s", res.Body)
	}

	res = app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil)
	var got projectJSON
	res.JSON(t, &got)
	if res.Status != http.StatusOK || got != p {
		t.Fatalf("get: %d %+v", res.Status, got)
	}

	res = app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"description":"and back"}`)
	res.JSON(t, &got)
	if res.Status != http.StatusOK || got.Name != "Apollo" || got.Description != "and back" || !got.UpdatedAt.After(p.UpdatedAt) {
		t.Fatalf("patch description: %d %+v", res.Status, got)
	}
	res = app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"Artemis"}`)
	res.JSON(t, &got)
	if res.Status != http.StatusOK || got.Name != "Artemis" || got.Description != "and back" {
		t.Fatalf("patch name: %d %+v", res.Status, got)
	}

	create(t, app, alice, "Gemini")
	res = app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"Gemini"}`)
	if res.Status != http.StatusConflict {
		t.Fatalf("rename onto a taken name: %d %s", res.Status, res.Body)
	}
	res = app.Do("POST", "/api/v1/projects", alice, `{"name":"Gemini"}`)
	if res.Status != http.StatusConflict || res.Map(t)["code"] != "project.name_taken" {
		t.Fatalf("duplicate create: %d %s", res.Status, res.Body)
	}

	res = app.Do("DELETE", "/api/v1/projects/"+p.ID, alice, nil)
	if res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("delete: %d %q", res.Status, res.Body)
	}
	if res := app.Do("GET", "/api/v1/projects/"+p.ID, alice, nil); res.Status != http.StatusNotFound {
		t.Fatalf("get after delete: %d", res.Status)
	}
	if res := app.Do("DELETE", "/api/v1/projects/"+p.ID, alice, nil); res.Status != http.StatusNotFound {
		t.Fatalf("second delete: %d", res.Status)
	}
	var list listJSON
	app.Do("GET", "/api/v1/projects", alice, nil).JSON(t, &list)
	for _, it := range list.Items {
		if it.ID == p.ID {
			t.Fatal("a deleted project is still listed")
		}
	}
	// Soft delete: the row is still there, with deleted_at set.
	var deleted bool
	testkit.QueryRow(t, dbURL, "SELECT deleted_at IS NOT NULL FROM projects WHERE id = $1", []any{p.ID}, &deleted)
	if !deleted {
		t.Fatal("the deleted project's row has no deleted_at")
	}
	// Its name is free again.
	create(t, app, alice, "Artemis")
}

func TestPaginationHasNoGapsOrDuplicates(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	bob := testkit.Token(t, "bob", time.Hour)
	const n = 23
	created := map[string]bool{}
	for i := range n {
		created[create(t, app, alice, fmt.Sprintf("p%02d", i)).ID] = true
	}
	create(t, app, bob, "bob's")

	var order []projectJSON
	path := "/api/v1/projects?limit=5"
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("pagination does not end")
		}
		res := app.Do("GET", path, alice, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("list: %d %s", res.Status, res.Body)
		}
		var page listJSON
		res.JSON(t, &page)
		if len(page.Items) > 5 {
			t.Fatalf("page of %d", len(page.Items))
		}
		order = append(order, page.Items...)
		if page.NextCursor == nil {
			if strings.Contains(string(res.Body), "next_cursor") {
				t.Fatalf("last page carries next_cursor: %s", res.Body)
			}
			break
		}
		path = "/api/v1/projects?limit=5&cursor=" + *page.NextCursor
	}
	if len(order) != n {
		t.Fatalf("listed %d projects, want %d", len(order), n)
	}
	for i, p := range order {
		if !created[p.ID] {
			t.Fatalf("unexpected or duplicate project %s", p.Name)
		}
		delete(created, p.ID)
		if want := fmt.Sprintf("p%02d", n-1-i); p.Name != want {
			t.Fatalf("position %d holds %s, want %s (newest first)", i, p.Name, want)
		}
	}

	var def listJSON
	app.Do("GET", "/api/v1/projects", alice, nil).JSON(t, &def)
	if len(def.Items) != 20 || def.NextCursor == nil {
		t.Fatalf("default page: %d items", len(def.Items))
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=-1", "limit=abc", "cursor=not-a-cursor", "cursor=" + strings.Repeat("A", 300), "unknown=1"} {
		res := app.Do("GET", "/api/v1/projects?"+q, alice, nil)
		if res.Status < 400 || res.Status >= 500 || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("list?%s: %d %s", q, res.Status, res.Body)
		}
	}
}
