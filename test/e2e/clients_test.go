package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// copyFiles copies the named files of dir src into dst.
func copyFiles(t *testing.T, src, dst string, names ...string) {
	t.Helper()
	from, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = from.Close() }()
	for _, name := range names {
		data, err := from.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGeneratedClientsRunTheProjectFlow generates a TypeScript client
// (openapi-typescript + openapi-fetch, pinned by make openapi-tools) and a
// Go client (oapi-codegen v2.8.2) from the committed api/openapi.json,
// compiles each strictly and runs its create/list/get/patch/delete flow
// against a started server.
func TestGeneratedClientsRunTheProjectFlow(t *testing.T) {
	root := testkit.ModuleRoot(t)
	doc := filepath.Join(root, "api", "openapi.json")
	app, _ := startPostgresApp(t)
	token := testkit.Token(t, "client-"+testkit.RandomName(""), time.Hour)

	t.Run("typescript", func(t *testing.T) {
		tools := filepath.Join(root, ".tools", "openapi-lint", "node_modules")
		if _, err := os.Stat(filepath.Join(tools, ".bin", "openapi-typescript")); err != nil {
			t.Fatalf("the TypeScript client tools are not installed in %s: run make openapi-tools (make test does)", tools)
		}
		dir := t.TempDir()
		copyFiles(t, filepath.Join(root, "test", "e2e", "testdata", "clients", "ts"), dir, "flow.ts", "tsconfig.json")
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type":"module","private":true}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(tools, filepath.Join(dir, "node_modules")); err != nil {
			t.Fatal(err)
		}
		run(t, dir, nil, filepath.Join(tools, ".bin", "openapi-typescript"), doc, "-o", filepath.Join(dir, "schema.d.ts"))
		run(t, dir, nil, filepath.Join(tools, ".bin", "tsc"), "-p", ".")
		if out := run(t, dir, nil, "node", filepath.Join("out", "flow.js"), app.URL, token); !strings.Contains(out, "typescript client flow: ok") {
			t.Fatalf("the flow did not finish: %s", out)
		}
	})

	t.Run("go", func(t *testing.T) {
		dir := t.TempDir()
		copyFiles(t, filepath.Join(root, "test", "e2e", "testdata", "clients", "go"), dir, "main.go", "go.mod", "go.sum")
		if err := os.Mkdir(filepath.Join(dir, "client"), 0o750); err != nil {
			t.Fatal(err)
		}
		// Outside this module: GOFLAGS of the suite (coverage) do not apply.
		env := []string{"GOFLAGS=", "GOWORK=off"}
		run(t, dir, env, "go", "run", "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2",
			"-generate", "types,client", "-package", "client", "-o", filepath.Join("client", "client.gen.go"), doc)
		run(t, dir, env, "go", "vet", ".")
		if out := run(t, dir, env, "go", "run", ".", app.URL, token); !strings.Contains(out, "go client flow: ok") {
			t.Fatalf("the flow did not finish: %s", out)
		}
	})
}
