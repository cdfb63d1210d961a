package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// createKey makes a project key with the permissions named and returns
// its id and token.
func createKey(t *testing.T, app *testkit.App, token, project string, permissions ...string) (id, secret string) {
	t.Helper()
	res := app.Do("POST", "/api/v1/projects/"+project+"/keys", token, map[string]any{"name": "worker", "permissions": permissions})
	if res.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", res.Status, res.Body)
	}
	body := res.Map(t)
	id, _ = body["id"].(string)
	secret, _ = body["token"].(string)
	if id == "" || !strings.HasPrefix(secret, "sfk_") || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created key: %s (Cache-Control %q)", res.Body, res.Header.Get("Cache-Control"))
	}
	return id, secret
}

// TestAWorkerKeyActsOnlyInItsProjectAndWithinItsPermissions: a key reports
// progress and reads; the same key on another project is 404, on a route
// outside its permissions 403; it is never shown again, is named in the
// access log by id, and after revocation is 401 within the gate's cache time.
func TestAWorkerKeyActsOnlyInItsProjectAndWithinItsPermissions(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "work")
	other := create(t, app, alice, "elsewhere")
	op := createOperation(t, app, alice, p.ID, "import").ID
	keyID, key := createKey(t, app, alice, p.ID, "operations:read", "operations:report")

	if res := report(t, app, key, p.ID, op, map[string]any{"percent": 40, "message": "from the worker"}); res.Status != http.StatusOK {
		t.Fatalf("the key reports progress: %d %s", res.Status, res.Body)
	}
	if res := app.Do("GET", "/api/v1/projects/"+p.ID+"/operations/"+op, key, nil); res.Status != http.StatusOK || res.Map(t)["percent"] != 40.0 {
		t.Fatalf("the key reads the operation: %d %s", res.Status, res.Body)
	}
	stream := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op), key)
	defer stream.Close()
	if stream.Status != http.StatusOK {
		t.Fatalf("the key opens the operation's stream: %d %s", stream.Status, stream.Body)
	}
	otherOp := createOperation(t, app, alice, other.ID, "import").ID
	for _, c := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"another project", "GET", "/api/v1/projects/" + other.ID, nil, 404},
		{"another project's operation", "POST", "/api/v1/projects/" + other.ID + "/operations/" + otherOp + "/progress", map[string]any{"percent": 1}, 404},
		{"outside its permissions: create", "POST", "/api/v1/projects/" + p.ID + "/operations", map[string]any{"kind": "x"}, 403},
		{"outside its permissions: cancel", "POST", "/api/v1/projects/" + p.ID + "/operations/" + op + "/cancel", nil, 403},
		{"outside its permissions: the project", "GET", "/api/v1/projects/" + p.ID, nil, 403},
		{"outside its permissions: members", "GET", "/api/v1/projects/" + p.ID + "/members", nil, 403},
		{"outside its permissions: keys", "POST", "/api/v1/projects/" + p.ID + "/keys", map[string]any{"name": "more", "permissions": []string{"operations:report"}}, 403},
		{"listing projects", "GET", "/api/v1/projects", nil, 403},
		{"creating a project", "POST", "/api/v1/projects", map[string]any{"name": "key's own"}, 403},
	} {
		if res := app.Do(c.method, c.path, key, c.body); res.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.Status, res.Body, c.want)
		}
	}
	// A forged secret for a real key id, and tokens of the key's form
	// that are not keys, are 401.
	forged := key[:len(key)-4] + "AAAA"
	for _, bad := range []string{forged, "sfk_", "sfk_" + strings.Repeat("0", 32) + "_" + key[len(key)-43:], key + "x"} {
		if res := app.Do("GET", "/api/v1/projects/"+p.ID+"/operations", bad, nil); res.Status != http.StatusUnauthorized {
			t.Errorf("token %q: %d %s", bad, res.Status, res.Body)
		}
	}

	// The list shows the key without its secret.
	res := app.Do("GET", "/api/v1/projects/"+p.ID+"/keys", alice, nil)
	if res.Status != http.StatusOK || strings.Contains(string(res.Body), key[len(key)-43:]) || !strings.Contains(string(res.Body), `"permissions":["operations:read","operations:report"]`) {
		t.Fatalf("keys: %d %s", res.Status, res.Body)
	}
	// The access log names the key by id, never the secret.
	named := 0
	for _, e := range app.Logs.All() {
		fields := e.ContextMap()
		if e.Message == "request" && fields["key_id"] == keyID {
			named++
			if _, ok := fields["subject"]; ok {
				t.Errorf("a key's request logged a subject: %v", fields)
			}
		}
		if strings.Contains(fmt.Sprint(fields), key[len(key)-43:]) || strings.Contains(e.Message, key[len(key)-43:]) {
			t.Fatalf("the key's secret reached the logs: %s %v", e.Message, fields)
		}
	}
	if named < 3 {
		t.Fatalf("%d access-log lines name the key's id", named)
	}

	if res := app.Do("DELETE", "/api/v1/projects/"+p.ID+"/keys/"+keyID, alice, nil); res.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	if res := app.Do("DELETE", "/api/v1/projects/"+p.ID+"/keys/"+keyID, alice, nil); res.Status != http.StatusConflict {
		t.Fatalf("revoke again: %d %s", res.Status, res.Body)
	}
	if res := report(t, app, key, p.ID, op, map[string]any{"percent": 50}); res.Status != http.StatusUnauthorized {
		t.Fatalf("the revoked key (same instance) reports: %d %s", res.Status, res.Body)
	}
	if events := stream.WaitEnd(t, 5*time.Second); len(events) == 0 || events[len(events)-1].Event != "access_revoked" {
		t.Fatalf("the revoked key's stream ended with %v", events)
	}
}

// TestARevokedKeyIsRefusedOnAnotherInstanceWithinTheCacheTTL: the instance
// that did not revoke it learns within PROJECT_GATE_CACHE_TTL (1 s).
func TestARevokedKeyIsRefusedOnAnotherInstanceWithinTheCacheTTL(t *testing.T) {
	one, two := startTwoOperationsApps(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, one, alice, "two instances")
	op := createOperation(t, one, alice, p.ID, "import").ID
	keyID, key := createKey(t, one, alice, p.ID, "operations:report")
	if res := report(t, two, key, p.ID, op, map[string]any{"percent": 10}); res.Status != http.StatusOK {
		t.Fatalf("before revocation, on two: %d %s", res.Status, res.Body)
	}
	if res := one.Do("DELETE", "/api/v1/projects/"+p.ID+"/keys/"+keyID, alice, nil); res.Status != http.StatusNoContent {
		t.Fatalf("revoke on one: %d", res.Status)
	}
	revokedAt := time.Now()
	refused := testkit.Eventually(5*time.Second, func() bool {
		return report(t, two, key, p.ID, op, map[string]any{"percent": 20}).Status == http.StatusUnauthorized
	})
	if !refused {
		t.Fatal("instance two still accepts the revoked key")
	}
	// Not a timing assertion on the machine's speed: the bound is the TTL
	// the operator configured, with a generous margin for a loaded CI host.
	if waited := time.Since(revokedAt); waited > 3*time.Second {
		t.Fatalf("instance two took %v to refuse the key (PROJECT_GATE_CACHE_TTL is 1s)", waited)
	}
}

func TestKeyCreationRefusesBadInput(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "keys")
	for name, body := range map[string]any{
		"no permissions":       map[string]any{"name": "k", "permissions": []string{}},
		"unknown permission":   map[string]any{"name": "k", "permissions": []string{"members:manage"}},
		"expiry in the past":   map[string]any{"name": "k", "permissions": []string{"operations:read"}, "expires_at": "2020-01-01T00:00:00Z"},
		"blank name":           map[string]any{"name": " ", "permissions": []string{"operations:read"}},
		"a NUL in the name":    map[string]any{"name": "a\u0000b", "permissions": []string{"operations:read"}},
		"repeated permissions": map[string]any{"name": "k", "permissions": []string{"operations:read", "operations:read"}},
	} {
		res := app.Do("POST", "/api/v1/projects/"+p.ID+"/keys", alice, body)
		if res.Status != http.StatusUnprocessableEntity && res.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
		}
	}
	if res := app.Do("GET", "/api/v1/projects/"+p.ID+"/keys", alice, nil); res.Status != http.StatusOK || strings.Contains(string(res.Body), `"id"`) {
		t.Fatalf("a refused key was stored: %s", res.Body)
	}
	// An expiring key works until it expires.
	exp := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	res := app.Do("POST", "/api/v1/projects/"+p.ID+"/keys", alice, map[string]any{"name": "short", "permissions": []string{"operations:read"}, "expires_at": exp})
	if res.Status != http.StatusCreated {
		t.Fatalf("expiring key: %d %s", res.Status, res.Body)
	}
	key, _ := res.Map(t)["token"].(string)
	if res := app.Do("GET", "/api/v1/projects/"+p.ID+"/operations", key, nil); res.Status != http.StatusOK {
		t.Fatalf("before expiry: %d", res.Status)
	}
	if !testkit.Eventually(6*time.Second, func() bool {
		res := app.Do("GET", "/api/v1/projects/"+p.ID+"/operations", key, nil)
		return res.Status == http.StatusUnauthorized && res.Map(t)["code"] == "auth.token_expired"
	}) {
		t.Fatal("the expired key is still accepted")
	}
}
