package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// servedDocument starts the app on the default configuration (but for its
// database and port) and returns /openapi.json, indented as make openapi
// writes it.
func servedDocument(t *testing.T) []byte {
	t.Helper()
	app := testkit.StartApp(t, map[string]string{
		"HTTP_ADDR":    "127.0.0.1:0",
		"DATABASE_URL": testkit.NewSQLiteURL(t),
		"LOG_LEVEL":    "error",
	})
	res := app.Do("GET", "/openapi.json", "", nil)
	if res.Status != 200 {
		t.Fatalf("/openapi.json: %d", res.Status)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, res.Body, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestTheCommittedOpenAPIDocumentIsTheServedOne: api/openapi.json is what
// the server serves, so an API change shows in review as a change of it.
func TestTheCommittedOpenAPIDocumentIsTheServedOne(t *testing.T) {
	served := servedDocument(t)
	committed, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(t), "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, committed) {
		t.Fatalf("api/openapi.json differs from the served document (%d and %d bytes): run make openapi and commit the result", len(committed), len(served))
	}
}

// TestTheOpenAPIDocumentPassesRedoclyAndSpectralCleanly: no error and no
// warning from redocly's recommended rules or spectral:oas, the linters a
// client team's tooling runs.
func TestTheOpenAPIDocumentPassesRedoclyAndSpectralCleanly(t *testing.T) {
	root := testkit.ModuleRoot(t)
	tools := filepath.Join(root, ".tools", "openapi-lint")
	if _, err := os.Stat(filepath.Join(tools, "node_modules", ".bin", "redocly")); err != nil {
		t.Fatalf("the OpenAPI linters are not installed in %s: run make openapi-tools (make test does)", tools)
	}
	doc := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(doc, servedDocument(t), 0o600); err != nil {
		t.Fatal(err)
	}
	npx := func(args ...string) []byte {
		cmd := exec.CommandContext(t.Context(), "npx", append([]string{"--no-install"}, args...)...)
		cmd.Dir = tools
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		// A linter that found something exits non-zero; its report says what.
		var exited *exec.ExitError
		if err != nil && !errors.As(err, &exited) {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		return out
	}

	var redocly struct {
		Totals   struct{ Errors, Warnings int } `json:"totals"`
		Problems []struct {
			RuleID  string `json:"ruleId"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	out := npx("redocly", "lint", "--config", filepath.Join(root, "api", "redocly.yaml"), "--format", "json", doc)
	if err := json.Unmarshal(out, &redocly); err != nil {
		t.Fatalf("redocly's report: %v\n%s", err, out)
	}
	if redocly.Totals.Errors+redocly.Totals.Warnings != 0 {
		t.Errorf("redocly: %d errors, %d warnings: %+v", redocly.Totals.Errors, redocly.Totals.Warnings, redocly.Problems)
	}

	report := filepath.Join(t.TempDir(), "spectral.json")
	npx("spectral", "lint", "--ruleset", filepath.Join(root, "api", "spectral.yaml"), "--format", "json", "--output", report, doc)
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("spectral wrote no report: %v", err)
	}
	var spectral []struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Severity int    `json:"severity"` // 0 error, 1 warning, 2 info, 3 hint
	}
	if err := json.Unmarshal(data, &spectral); err != nil {
		t.Fatalf("spectral's report: %v\n%s", err, data)
	}
	for _, r := range spectral {
		if r.Severity <= 1 {
			t.Errorf("spectral: %s: %s", r.Code, r.Message)
		}
	}
}

// TestTheServerAgreesWithTheSchemasLimits derives requests from the
// document's own limits (maxLength, minimum/maximum, pattern) on the
// create bodies and the progress report: a value at a limit is accepted,
// one past it is a 422 at that field, so the document cannot drift from
// what the server enforces.
func TestTheServerAgreesWithTheSchemasLimits(t *testing.T) {
	app, _ := startPostgresApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					MaxLength *int     `json:"maxLength"`
					MinLength *int     `json:"minLength"`
					Minimum   *float64 `json:"minimum"`
					Maximum   *float64 `json:"maximum"`
					Pattern   string   `json:"pattern"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)
	schema := func(name string) map[string]struct {
		MaxLength *int     `json:"maxLength"`
		MinLength *int     `json:"minLength"`
		Minimum   *float64 `json:"minimum"`
		Maximum   *float64 `json:"maximum"`
		Pattern   string   `json:"pattern"`
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok || len(s.Properties) == 0 {
			t.Fatalf("the document has no schema %s", name)
		}
		return s.Properties
	}
	p := create(t, app, alice, "limits")
	op := createOperation(t, app, alice, p.ID, "import")
	n := 0
	send := func(path string, body map[string]any) testkit.Response {
		n++
		method := "POST"
		if path == "/api/v1/projects/"+p.ID {
			method = "PATCH"
		}
		return app.Do(method, path, alice, body)
	}
	expect := func(what string, res testkit.Response, ok bool, field string) {
		t.Helper()
		if ok && res.Status >= 300 {
			t.Errorf("%s: the schema allows it, the server answered %d %s", what, res.Status, res.Body)
		}
		if !ok && (res.Status != http.StatusUnprocessableEntity || !strings.Contains(string(res.Body), `"location":"body.`+field+`"`)) {
			t.Errorf("%s: the schema forbids it, the server answered %d %s", what, res.Status, res.Body)
		}
	}
	// Strings: a value of exactly maxLength visible characters, then one more.
	for _, c := range []struct {
		schema, path, field string
		base                map[string]any
		char                string
	}{
		{"CreateProjectRequest", "/api/v1/projects", "name", map[string]any{}, "n"},
		{"CreateProjectRequest", "/api/v1/projects", "description", map[string]any{"name": "d"}, "d"},
		{"CreateOperationRequest", "/api/v1/projects/" + p.ID + "/operations", "kind", map[string]any{}, "k"},
		{"CreateOperationRequest", "/api/v1/projects/" + p.ID + "/operations", "message", map[string]any{"kind": "import"}, "m"},
		{"UpdateProjectRequest", "/api/v1/projects/" + p.ID, "name", map[string]any{}, "u"},
		{"UpdateProjectRequest", "/api/v1/projects/" + p.ID, "description", map[string]any{}, "v"},
		{"ProgressReport", "/api/v1/projects/" + p.ID + "/operations/" + op.ID + "/progress", "message", map[string]any{"percent": 0}, "r"},
	} {
		prop := schema(c.schema)[c.field]
		if prop.MaxLength == nil {
			t.Errorf("%s.%s declares no maxLength", c.schema, c.field)
			continue
		}
		for _, extra := range []int{0, 1} {
			body := map[string]any{}
			for k, v := range c.base {
				body[k] = v
			}
			if _, ok := body["name"]; ok {
				body["name"] = fmt.Sprintf("d%d-%d", n, extra)
			}
			value := strings.Repeat(c.char, *prop.MaxLength+extra)
			if c.field == "name" {
				value = fmt.Sprintf("%03d", n) + value[3:]
			}
			body[c.field] = value
			expect(fmt.Sprintf("%s.%s of %d characters (maxLength %d)", c.schema, c.field, *prop.MaxLength+extra, *prop.MaxLength),
				send(c.path, body), extra == 0, c.field)
		}
		if prop.MinLength != nil && *prop.MinLength == 1 {
			body := map[string]any{}
			for k, v := range c.base {
				body[k] = v
			}
			body[c.field] = ""
			expect(c.schema+"."+c.field+" empty (minLength 1)", send(c.path, body), false, c.field)
		}
	}
	// PATCH fields the schema calls nullable take null and change nothing.
	if res := app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":null,"description":null}`); res.Status != http.StatusOK {
		t.Errorf("PATCH with null fields, which the schema allows: %d %s", res.Status, res.Body)
	}
	if kind := schema("CreateOperationRequest")["kind"]; kind.Pattern == "" {
		t.Error("CreateOperationRequest.kind declares no pattern")
	} else {
		re := regexp.MustCompile(kind.Pattern)
		for _, k := range []string{"import", "a.b-c_1", "Import", "1abc", "a b", "-x"} {
			expect("kind "+k+" against "+kind.Pattern, send("/api/v1/projects/"+p.ID+"/operations", map[string]any{"kind": k}), re.MatchString(k), "kind")
		}
	}
	// Numbers: the bounds, then one past each. Percents only rise, so the
	// upper bound goes last and the lower one is tested on an operation of
	// its own.
	percent := schema("ProgressReport")["percent"]
	if percent.Minimum == nil || percent.Maximum == nil {
		t.Fatal("ProgressReport.percent declares no minimum or maximum")
	}
	lo, hi := int(*percent.Minimum), int(*percent.Maximum)
	progress := "/api/v1/projects/" + p.ID + "/operations/" + op.ID + "/progress"
	expect("percent below the minimum", send(progress, map[string]any{"percent": lo - 1}), false, "percent")
	expect("percent at the minimum", send(progress, map[string]any{"percent": lo}), true, "percent")
	expect("percent above the maximum", send(progress, map[string]any{"percent": hi + 1}), false, "percent")
	expect("percent at the maximum", send(progress, map[string]any{"percent": hi}), true, "percent")
}

// TestEveryProblemResponseIsDeclaredWithItsOwnExample: the statuses every
// route under /api can answer are declared (503 with Retry-After; 413 and
// 415 where a body is taken), and each problem response shows an example
// of that problem, not one example for all.
func TestEveryProblemResponseIsDeclaredWithItsOwnExample(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody any `json:"requestBody"`
			Responses   map[string]struct {
				Headers map[string]any `json:"headers"`
				Content map[string]struct {
					Example map[string]any `json:"example"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(servedDocument(t), &doc); err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			want := []string{}
			if strings.HasPrefix(path, "/api/") {
				want = append(want, "503")
			}
			if op.RequestBody != nil {
				want = append(want, "413", "415")
			}
			for _, code := range want {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s %s does not declare %s", method, path, code)
				}
			}
			if res, ok := op.Responses["503"]; ok && strings.HasPrefix(path, "/api/") {
				if _, ok := res.Headers["Retry-After"]; !ok {
					t.Errorf("%s %s: 503 without Retry-After", method, path)
				}
			}
			for code, res := range op.Responses {
				mt, ok := res.Content["application/problem+json"]
				if !ok {
					continue
				}
				if got := fmt.Sprint(mt.Example["status"]); got != code || !strings.HasPrefix(fmt.Sprint(mt.Example["type"]), "/problems/") {
					t.Errorf("%s %s %s: example %v", method, path, code, mt.Example)
				}
			}
		}
	}
}
