package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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
