package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/test/testkit"
)

// TestEveryProblemTypeResolvesToAPageThatExplainsIt: a problem's type is
// a link a developer can follow, for every type the API answers with,
// including those of real answers.
func TestEveryProblemTypeResolvesToAPageThatExplainsIt(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	types := map[string]bool{}
	for _, pt := range httpkit.ProblemTypes {
		types[pt.URI()] = true
	}
	// Types taken from real answers, not only from the table.
	for _, res := range []testkit.Response{
		app.Do("POST", "/api/v1/projects", alice, `{"name":`),
		app.Do("POST", "/api/v1/projects", alice, `{"name":""}`),
		app.Do("GET", "/api/v1/projects", "", nil),
		app.Do("GET", "/api/v1/projects/00000000-0000-0000-0000-000000000000", alice, nil),
		app.Do("POST", "/api/v1/projects", alice, `{"name":"x"}`, "Content-Type", "text/plain"),
	} {
		typ, _ := res.Map(t)["type"].(string)
		if !types[typ] {
			t.Errorf("answer %d has type %q, which is not documented", res.Status, typ)
		}
		types[typ] = true
	}
	for uri := range types {
		res := app.Do("GET", uri, "", nil, "Accept", "text/html")
		slug := strings.TrimPrefix(uri, httpkit.ProblemsPath+"/")
		body := string(res.Body)
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, `id="`+slug+`"`) || !strings.Contains(body, "What to do:") {
			t.Errorf("GET %s: %d %s %.200s", uri, res.Status, res.Header.Get("Content-Type"), body)
		}
	}
	all := app.Do("GET", httpkit.ProblemsPath, "", nil)
	for _, pt := range httpkit.ProblemTypes {
		if !strings.Contains(string(all.Body), `href="`+pt.URI()+`"`) {
			t.Errorf("the index of problem types lacks %s", pt.URI())
		}
	}
	if res := app.Do("GET", httpkit.ProblemsPath+"/no-such-type", "", nil); res.Status != http.StatusNotFound {
		t.Errorf("an unknown problem type: %d", res.Status)
	}
}

// TestMalformedJSONNamesWhereItBroke: the 400 says the body is not JSON
// and after how many bytes the parser gave up.
func TestMalformedJSONNamesWhereItBroke(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	for body, want := range map[string]string{
		`{"name": "x",}`: "looking for beginning of object key string (after 14 bytes of the body)",
		`{"name": "x"`:   "unexpected end of JSON input (after 12 bytes of the body)",
	} {
		res := app.Do("POST", "/api/v1/projects", alice, body)
		m := assertProblem(t, res, http.StatusBadRequest)
		errs, _ := m["errors"].([]any)
		if m["detail"] != "the request body is not valid JSON" || len(errs) != 1 ||
			!strings.Contains(errs[0].(map[string]any)["message"].(string), want) {
			t.Errorf("%s: %s, want %q", body, res.Body, want)
		}
	}
}

// TestTheRootRedirectsToTheDocumentation: the address the banner prints
// first is not a 404.
func TestTheRootRedirectsToTheDocumentation(t *testing.T) {
	app, _ := startPostgresApp(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, err := http.NewRequestWithContext(context.Background(), method, app.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/docs" {
			t.Errorf("%s /: %d Location %q", method, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if res := app.Do("GET", "/docs", "", nil); res.Status != http.StatusOK {
		t.Errorf("/docs: %d", res.Status)
	}
}
