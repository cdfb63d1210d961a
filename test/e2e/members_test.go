package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// roleColumns are the callers of the role matrix, least able first.
var roleColumns = []string{"stranger", "viewer", "member", "admin", "owner"}

// roleCell is one project-scoped route and the status each caller gets.
type roleCell struct {
	method, path string // path with {project_id}, {operation_id}; {subject} is the "other" member
	body         any
	want         [5]int // by roleColumns
}

// roleMatrix is every project-scoped route of the API; the test checks
// that the document has no other.
var roleMatrix = []roleCell{
	{"GET", "/api/v1/projects/{project_id}", nil, [5]int{404, 200, 200, 200, 200}},
	{"PATCH", "/api/v1/projects/{project_id}", map[string]any{"description": "renamed"}, [5]int{404, 403, 403, 200, 200}},
	{"DELETE", "/api/v1/projects/{project_id}", nil, [5]int{404, 403, 403, 403, 204}},
	{"GET", "/api/v1/projects/{project_id}/info", nil, [5]int{404, 200, 200, 200, 200}},
	{"POST", "/api/v1/projects/{project_id}/transfer", map[string]any{"subject": "other"}, [5]int{404, 403, 403, 403, 200}},
	{"GET", "/api/v1/projects/{project_id}/members", nil, [5]int{404, 200, 200, 200, 200}},
	{"POST", "/api/v1/projects/{project_id}/members", map[string]any{"subject": "newcomer", "role": "viewer"}, [5]int{404, 403, 403, 201, 201}},
	{"PATCH", "/api/v1/projects/{project_id}/members/{subject}", map[string]any{"role": "viewer"}, [5]int{404, 403, 403, 200, 200}},
	{"DELETE", "/api/v1/projects/{project_id}/members/{subject}", nil, [5]int{404, 403, 403, 204, 204}},
	{"POST", "/api/v1/projects/{project_id}/keys", map[string]any{"name": "ci", "permissions": []string{"operations:report"}}, [5]int{404, 403, 403, 201, 201}},
	{"GET", "/api/v1/projects/{project_id}/keys", nil, [5]int{404, 403, 403, 200, 200}},
	{"DELETE", "/api/v1/projects/{project_id}/keys/{key_id}", nil, [5]int{404, 403, 403, 204, 204}},
	{"GET", "/api/v1/projects/{project_id}/events", nil, [5]int{404, 200, 200, 200, 200}},
	{"POST", "/api/v1/projects/{project_id}/events/tickets", nil, [5]int{404, 201, 201, 201, 201}},
	{"GET", "/api/v1/projects/{project_id}/operations", nil, [5]int{404, 200, 200, 200, 200}},
	{"POST", "/api/v1/projects/{project_id}/operations", map[string]any{"kind": "build"}, [5]int{404, 403, 201, 201, 201}},
	{"GET", "/api/v1/projects/{project_id}/operations/{operation_id}", nil, [5]int{404, 200, 200, 200, 200}},
	{"POST", "/api/v1/projects/{project_id}/operations/{operation_id}/progress", map[string]any{"percent": 10}, [5]int{404, 403, 200, 200, 200}},
	{"POST", "/api/v1/projects/{project_id}/operations/{operation_id}/cancel", nil, [5]int{404, 403, 200, 200, 200}},
	{"GET", "/api/v1/projects/{project_id}/operations/{operation_id}/events", nil, [5]int{404, 200, 200, 200, 200}},
	{"POST", "/api/v1/projects/{project_id}/operations/{operation_id}/events/tickets", nil, [5]int{404, 201, 201, 201, 201}},
}

func TestRoleMatrixOnPostgres(t *testing.T) {
	app, _ := startPostgresApp(t)
	checkRoleMatrix(t, app)
}

func TestRoleMatrixOnSQLite(t *testing.T) {
	app := testkit.StartApp(t, testkit.BaseEnv(testkit.NewSQLiteURL(t)))
	checkRoleMatrix(t, app)
}

// team is one project with a caller in each role, an "other" member to
// act on and one running operation.
type team struct {
	project, operation, key string
	tokens                  map[string]string
}

func newTeam(t *testing.T, app *testkit.App, name string) team {
	t.Helper()
	tm := team{tokens: map[string]string{}}
	for _, who := range append(roleColumns, "other", "newcomer") {
		tm.tokens[who] = testkit.Token(t, who, time.Hour)
	}
	tm.project = create(t, app, tm.tokens["owner"], name).ID
	for who, role := range map[string]string{"admin": "admin", "member": "member", "viewer": "viewer", "other": "member"} {
		res := app.Do("POST", "/api/v1/projects/"+tm.project+"/members", tm.tokens["owner"], map[string]any{"subject": who, "role": role})
		if res.Status != http.StatusCreated {
			t.Fatalf("add %s: %d %s", who, res.Status, res.Body)
		}
	}
	tm.operation = createOperation(t, app, tm.tokens["owner"], tm.project, "build").ID
	tm.key, _ = createKey(t, app, tm.tokens["owner"], tm.project, "operations:read", "operations:report")
	return tm
}

func (tm team) path(p string) string {
	return strings.NewReplacer("{project_id}", tm.project, "{operation_id}", tm.operation, "{subject}", "other", "{key_id}", tm.key).Replace(p)
}

func checkRoleMatrix(t *testing.T, app *testkit.App) {
	checkMatrixCoversTheDocument(t, app)
	n := 0
	for _, c := range roleMatrix {
		for col, who := range roleColumns {
			n++
			tm := newTeam(t, app, sprintf("matrix %d", n))
			got := roleCellStatus(t, app, tm, c, who)
			if got.Status != c.want[col] {
				t.Errorf("%s %s as %s: %d, want %d: %s", c.method, c.path, who, got.Status, c.want[col], got.Body)
				continue
			}
			switch got.Status {
			case http.StatusForbidden:
				if code := got.Map(t)["code"]; code != "project.forbidden" {
					t.Errorf("%s %s as %s: 403 with code %v", c.method, c.path, who, code)
				}
			case http.StatusNotFound:
				// Exactly what a project that does not exist answers.
				absent := roleCellStatus(t, app, team{project: "01936b2a-0000-7000-8000-000000000000", operation: tm.operation, key: tm.key, tokens: tm.tokens}, c, who)
				if absent.Status != http.StatusNotFound || absent.Map(t)["code"] != got.Map(t)["code"] {
					t.Errorf("%s %s as %s: 404 %s differs from a missing project's %d %s", c.method, c.path, who, got.Body, absent.Status, absent.Body)
				}
			}
		}
	}
}

// roleCellStatus sends one cell's request; a stream is opened, its status
// read and closed.
func roleCellStatus(t *testing.T, app *testkit.App, tm team, c roleCell, who string) testkit.Response {
	t.Helper()
	path := tm.path(c.path)
	if c.method == "GET" && strings.HasSuffix(c.path, "/events") {
		s := testkit.OpenSSE(t, app.URL+path, tm.tokens[who])
		defer s.Close()
		return testkit.Response{Status: s.Status, Body: s.Body}
	}
	return app.Do(c.method, path, tm.tokens[who], c.body)
}

// checkMatrixCoversTheDocument: every operation of the OpenAPI document
// under a project is a row of the matrix, and nothing else is.
func checkMatrixCoversTheDocument(t *testing.T, app *testkit.App) {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)
	var documented, covered []string
	for path, item := range doc.Paths {
		if !strings.Contains(path, "{project_id}") {
			continue
		}
		for method := range item {
			if m := strings.ToUpper(method); m == "GET" || m == "POST" || m == "PATCH" || m == "DELETE" || m == "PUT" {
				documented = append(documented, m+" "+path)
			}
		}
	}
	for _, c := range roleMatrix {
		covered = append(covered, c.method+" "+c.path)
	}
	sort.Strings(documented)
	sort.Strings(covered)
	if strings.Join(documented, "\n") != strings.Join(covered, "\n") {
		t.Fatalf("the role matrix covers\n%s\nbut the document has\n%s", strings.Join(covered, "\n"), strings.Join(documented, "\n"))
	}
}

type memberJSON struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

// TestMembersLifecycle: a team shares a project end to end; the list says
// each caller's role; leaving, transfer and the one-owner rules hold.
func TestMembersLifecycle(t *testing.T) {
	app, _ := startPostgresApp(t)
	tm := newTeam(t, app, "shared")
	own := create(t, app, tm.tokens["viewer"], "the viewer's own")

	var list struct {
		Items []struct {
			ID, Role, Owner string
		} `json:"items"`
	}
	app.Do("GET", "/api/v1/projects", tm.tokens["viewer"], nil).JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != own.ID || list.Items[0].Role != "owner" ||
		list.Items[1].ID != tm.project || list.Items[1].Role != "viewer" || list.Items[1].Owner != "owner" {
		t.Fatalf("the viewer's list = %+v", list.Items)
	}
	app.Do("GET", "/api/v1/projects?role=viewer", tm.tokens["viewer"], nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != tm.project {
		t.Fatalf("role=viewer = %+v", list.Items)
	}
	if res := app.Do("GET", "/api/v1/projects?role=root", tm.tokens["viewer"], nil); res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("role=root = %d", res.Status)
	}

	// Members page by subject.
	var seen []string
	cursor := ""
	for range 10 {
		var page struct {
			Items      []memberJSON `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		res := app.Do("GET", "/api/v1/projects/"+tm.project+"/members?limit=2&cursor="+url.QueryEscape(cursor), tm.tokens["member"], nil)
		res.JSON(t, &page)
		for _, m := range page.Items {
			seen = append(seen, m.Subject+"="+m.Role)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if strings.Join(seen, " ") != "admin=admin member=member other=member owner=owner viewer=viewer" {
		t.Fatalf("members = %v", seen)
	}
	if res := app.Do("GET", "/api/v1/projects/"+tm.project+"/members?cursor=!!", tm.tokens["member"], nil); res.Status != http.StatusUnprocessableEntity && res.Status != http.StatusBadRequest {
		t.Fatalf("a forged cursor = %d", res.Status)
	}

	members := "/api/v1/projects/" + tm.project + "/members"
	for _, c := range []struct {
		name, method, path, who string
		body                    any
		want                    int
		code                    string
	}{
		{"a subject added twice", "POST", members, "owner", map[string]any{"subject": "member", "role": "viewer"}, 409, "member.exists"},
		{"owner by POST", "POST", members, "owner", map[string]any{"subject": "newcomer", "role": "owner"}, 422, ""},
		{"a subject with a NUL", "POST", members, "owner", map[string]any{"subject": "a\u0000b", "role": "viewer"}, 422, "member.subject_invalid"},
		{"admin adds an admin", "POST", members, "admin", map[string]any{"subject": "newcomer", "role": "admin"}, 403, "project.forbidden"},
		{"admin demotes the owner", "PATCH", members + "/owner", "admin", map[string]any{"role": "viewer"}, 409, "member.owner_by_transfer"},
		{"the owner leaves", "DELETE", members + "/owner", "owner", nil, 409, "member.owner_by_transfer"},
		{"a change of a non-member", "PATCH", members + "/nobody", "owner", map[string]any{"role": "viewer"}, 404, "member.not_found"},
		{"transfer to a non-member", "POST", "/api/v1/projects/" + tm.project + "/transfer", "owner", map[string]any{"subject": "newcomer"}, 422, "member.not_a_member"},
		{"transfer to oneself", "POST", "/api/v1/projects/" + tm.project + "/transfer", "owner", map[string]any{"subject": "owner"}, 409, "member.transfer_to_self"},
		{"the viewer leaves", "DELETE", members + "/viewer", "viewer", nil, 204, ""},
	} {
		res := app.Do(c.method, c.path, tm.tokens[c.who], c.body)
		if res.Status != c.want || (c.code != "" && res.Map(t)["code"] != c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.Status, res.Body, c.want, c.code)
		}
	}
	if res := app.Do("GET", "/api/v1/projects/"+tm.project, tm.tokens["viewer"], nil); res.Status != http.StatusNotFound {
		t.Fatalf("after leaving, the viewer gets %d", res.Status)
	}

	// Ownership moves; the old owner is an admin, and only one owner remains.
	res := app.Do("POST", "/api/v1/projects/"+tm.project+"/transfer", tm.tokens["owner"], map[string]any{"subject": "member"})
	if res.Status != http.StatusOK || res.Map(t)["owner"] != "member" {
		t.Fatalf("transfer = %d %s", res.Status, res.Body)
	}
	roles := map[string]string{}
	var page struct {
		Items []memberJSON `json:"items"`
	}
	app.Do("GET", members, tm.tokens["member"], nil).JSON(t, &page)
	for _, m := range page.Items {
		roles[m.Subject] = m.Role
	}
	if roles["member"] != "owner" || roles["owner"] != "admin" || len(roles) != 4 {
		t.Fatalf("after the transfer: %v", roles)
	}
	if res := app.Do("DELETE", "/api/v1/projects/"+tm.project, tm.tokens["owner"], nil); res.Status != http.StatusForbidden {
		t.Fatalf("the old owner deletes: %d", res.Status)
	}
	if res := app.Do("DELETE", "/api/v1/projects/"+tm.project, tm.tokens["member"], nil); res.Status != http.StatusNoContent {
		t.Fatalf("the new owner deletes: %d %s", res.Status, res.Body)
	}
}

// TestARemovedMemberLosesTheirStreams: at once on the instance that
// removed them, within the gate's cache TTL on another.
func TestARemovedMemberLosesTheirStreams(t *testing.T) {
	one, two := startTwoOperationsApps(t)
	tm := newTeam(t, one, "streams")
	onOne := testkit.OpenSSE(t, one.URL+projectStreamPath(tm.project), tm.tokens["viewer"])
	defer onOne.Close()
	onTwo := testkit.OpenSSE(t, two.URL+projectStreamPath(tm.project), tm.tokens["other"])
	defer onTwo.Close()
	for _, s := range []*testkit.SSE{onOne, onTwo} {
		if s.Status != http.StatusOK {
			t.Fatalf("stream: %d", s.Status)
		}
		if ev := s.Next(t, 5*time.Second); ev.Event != "snapshot" {
			t.Fatalf("first event %q", ev.Event)
		}
	}
	for _, who := range []string{"viewer", "other"} {
		if res := one.Do("DELETE", "/api/v1/projects/"+tm.project+"/members/"+who, tm.tokens["owner"], nil); res.Status != http.StatusNoContent {
			t.Fatalf("remove %s: %d", who, res.Status)
		}
	}
	// The default PROJECT_GATE_CACHE_TTL is 1s: a few seconds is ample
	// for both, and far below the keepalive and lifetime.
	for name, s := range map[string]*testkit.SSE{"this instance": onOne, "another instance": onTwo} {
		events := s.WaitEnd(t, 5*time.Second)
		if len(events) == 0 || events[len(events)-1].Event != "access_revoked" {
			t.Fatalf("%s: the stream ended with %v, want access_revoked", name, events)
		}
	}
	again := testkit.OpenSSE(t, two.URL+projectStreamPath(tm.project), tm.tokens["other"])
	defer again.Close()
	if again.Status != http.StatusNotFound {
		t.Fatalf("a removed member reconnects: %d", again.Status)
	}
}
