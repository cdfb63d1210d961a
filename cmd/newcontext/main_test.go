package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// copyModule copies the working tree into a temporary directory.
func copyModule(t *testing.T) string { return testkit.CopyModule(t) }

// snapshot lists every file under dir with its content, to prove a refused
// run wrote nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		out[path] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var fixedNow = func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

func generate(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"-root", dir}, args...), &out, &errb, fixedNow)
	return code, out.String(), errb.String()
}

func TestRefusesBadNamesAndWritesNothing(t *testing.T) {
	dir := copyModule(t)
	before := snapshot(t, dir)
	cases := map[string]string{
		"":                                "a name is required",
		"my-note":                         "not a valid Go identifier",
		"1note":                           "not a valid Go identifier",
		"no te":                           "not a valid Go identifier",
		"type":                            "Go keyword",
		"Note":                            `use lower-case letters and digits only, such as "note"`,
		"my_note":                         `such as "mynote"`,
		"string":                          "predeclared",
		"project":                         `a context named "project" already exists (domain/project, ports/project, application/project`,
		"kernel":                          "reserved",
		"postgres":                        "reserved",
		"problem":                         "reserved",
		"uuid":                            "already uses",
		"item":                            "already uses",
		"abcdefghijklmnopqrstuvwxyzabcde": "longer than 30",
	}
	for name, want := range cases {
		code, stdout, stderr := generate(t, dir, "-name", name)
		if code != 2 || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("name %q: exit %d, stderr %q; want exit 2 and a message containing %q", name, code, stderr, want)
		}
	}
	if code, _, stderr := generate(t, dir, "-name", "note", "extra"); code != 2 || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("a stray argument: exit %d, %q", code, stderr)
	}
	if code, _, _ := generate(t, dir, "-nope"); code != 2 {
		t.Errorf("an unknown flag: exit %d", code)
	}
	if code, _, stderr := generate(t, filepath.Join(dir, "missing"), "-name", "note"); code != 2 || stderr == "" {
		t.Errorf("a root that does not exist: exit %d, %q", code, stderr)
	}
	if code, _, stderr := generate(t, filepath.Join(dir, "domain"), "-name", "note"); code != 2 || !strings.Contains(stderr, "no go.mod") {
		t.Errorf("a root that is not the module's: exit %d, %q", code, stderr)
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("refused runs wrote files: %d before, %d after", len(before), len(after))
	}
	for path, data := range before {
		if after[path] != data {
			t.Fatalf("a refused run changed %s", path)
		}
	}
}

func TestPlural(t *testing.T) {
	for word, want := range map[string]string{
		"note": "notes", "box": "boxes", "status": "statuses", "match": "matches", "wish": "wishes",
		"category": "categories", "day": "days", "waltz": "waltzes", "y": "ys",
	} {
		if got := plural(word); got != want {
			t.Errorf("plural(%q) = %q, want %q", word, got, want)
		}
	}
}

// TestGeneratesOneContextAndRegistersItInOneLine runs the generator in
// process on a copy: every layer is written, app.go gains exactly one
// line, and a second run with the same name is refused.
func TestGeneratesOneContextAndRegistersItInOneLine(t *testing.T) {
	dir := copyModule(t)
	appBefore, err := os.ReadFile(filepath.Join(dir, "bootstrap", "app.go"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := generate(t, dir, "-name", "category")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{
		"domain/category/category.go", "domain/category/category_test.go", "ports/category/category.go",
		"application/category/service.go", "application/category/create_category.go", "application/category/get_category.go",
		"application/category/list_categories.go", "application/category/service_test.go",
		"adapters/memory/category/repository.go", "adapters/postgres/category/repository.go",
		"adapters/postgres/category/migrations/postgres/20300102030405_create_categories.sql",
		"adapters/postgres/category/migrations/sqlite/20300102030405_create_categories.sql",
		"adapters/http/category/handler.go", "bootstrap/category.go", "bootstrap/category_test.go",
		"test/contract/category_test.go", "test/e2e/category_test.go",
	} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("not written: %s", f)
		}
		if !strings.Contains(stdout, f) {
			t.Errorf("the summary does not list %s", f)
		}
	}
	handler, _ := os.ReadFile(filepath.Join(dir, "adapters/http/category/handler.go"))
	if !bytes.Contains(handler, []byte(`"/api/v1/projects/{project_id}/categories"`)) || !bytes.Contains(handler, []byte(`"/{category_id}"`)) {
		t.Errorf("the routes are not under /api/v1/projects/{project_id}/categories:\n%s", handler)
	}
	appAfter, err := os.ReadFile(filepath.Join(dir, "bootstrap", "app.go"))
	if err != nil {
		t.Fatal(err)
	}
	added, removed := lineDiff(string(appBefore), string(appAfter))
	if len(removed) != 0 || len(added) != 1 || strings.TrimSpace(added[0]) != "CategoryModule," {
		t.Fatalf("bootstrap/app.go must gain exactly the line `CategoryModule,`; added %q, removed %q", added, removed)
	}

	if code, _, stderr := generate(t, dir, "-name", "category"); code != 2 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("a second run: exit %d, %q", code, stderr)
	}
	// A later context gets a later migration version even when the clock says otherwise.
	if code, _, stderr := generate(t, dir, "-name", "tag"); code != 0 {
		t.Fatalf("a second context: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "adapters/postgres/tag/migrations/postgres/20300102030406_create_tags.sql")); err != nil {
		t.Fatalf("the second context's migration must take the next version: %v", err)
	}
}

// lineDiff returns the lines only in b and the lines only in a.
func lineDiff(a, b string) (added, removed []string) {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		if count[l] > 0 {
			count[l]--
			continue
		}
		added = append(added, l)
	}
	for l, n := range count {
		for range n {
			removed = append(removed, l)
		}
	}
	return added, removed
}

func TestRefusesClashesItCannotSeeFromTheName(t *testing.T) {
	dir := copyModule(t)
	// A table of that name already exists in another context's migrations.
	sql := filepath.Join(dir, "adapters/postgres/project/migrations/postgres/20261125000002_widgets.sql")
	if err := os.WriteFile(sql, []byte("-- +goose Up\nCREATE TABLE widgets (id uuid);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := generate(t, dir, "-name", "widget"); code != 2 || !strings.Contains(stderr, `the table "widgets" already exists`) {
		t.Errorf("table clash: exit %d, %q", code, stderr)
	}
	// A package the context would join already declares one of its names.
	helper := filepath.Join(dir, "test/e2e/gadget_helpers_test.go")
	if err := os.WriteFile(helper, []byte("package e2e\n\nfunc createGadget() {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := generate(t, dir, "-name", "gadget"); code != 2 || !strings.Contains(stderr, "declare createGadget") {
		t.Errorf("redeclaration: exit %d, %q", code, stderr)
	}
	// bootstrap/app.go no longer lists contexts the way the generator expects.
	app := filepath.Join(dir, "bootstrap", "app.go")
	src, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, bytes.ReplaceAll(src, []byte("var contexts ="), []byte("var modules =")), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := generate(t, dir, "-name", "gizmo"); code != 2 || !strings.Contains(stderr, "var contexts = fx.Options") {
		t.Errorf("no contexts list: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "domain", "gizmo")); err == nil {
		t.Error("a refused run wrote domain/gizmo")
	}
}

func TestRegisterKeepsOneLinePerContext(t *testing.T) {
	oneLine := []byte("package bootstrap\n\nvar contexts = fx.Options(ProjectModule)\n")
	got, err := register(oneLine, "NoteModule")
	if err != nil || !bytes.Contains(got, []byte("fx.Options(ProjectModule, NoteModule)")) {
		t.Fatalf("one-line list: %s, %v", got, err)
	}
	empty := []byte("package bootstrap\n\nvar contexts = fx.Options()\n")
	if got, err := register(empty, "NoteModule"); err != nil || !bytes.Contains(got, []byte("fx.Options(NoteModule)")) {
		t.Fatalf("empty list: %s, %v", got, err)
	}
	if _, err := register(got, "NoteModule"); err == nil {
		t.Fatal("registering a module twice must fail")
	}
	if _, err := register([]byte("package bootstrap\n\nvar contexts = "), "NoteModule"); err == nil {
		t.Fatal("an app.go that does not parse must fail")
	}
}

// TestGeneratedContextPassesItsTestsAndTheRules is the generator's
// acceptance test: `make context NAME=note` on a copy of the repository,
// then, in the copy, the build, the generated context's unit, contract and
// end-to-end tests (PostgreSQL) and the architecture rules must all pass.
func TestGeneratedContextPassesItsTestsAndTheRules(t *testing.T) {
	dir := copyModule(t)
	env := append(os.Environ(), "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off", "GOCOVERDIR=")
	sh := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := sh("make", "context", "NAME=note")
	if !strings.Contains(out, "registered NoteModule in bootstrap/app.go") {
		t.Fatalf("make context did not register the module:\n%s", out)
	}
	sh("go", "build", "./...")
	sh("go", "vet", "./domain/note/...", "./ports/note/...", "./application/note/...", "./adapters/...", "./bootstrap/...")
	out = sh("go", "test", "-count=1", "-v",
		"-run", `^(TestNote|TestArchitecture$|TestGraphIsComplete$|TestContextInternalsArePrivate$|TestContextsContributeRoutesAndMigrations$)`,
		"./domain/note/", "./application/note/", "./bootstrap/", "./test/contract/", "./test/e2e/", "./test/architecture/")
	for _, test := range []string{
		"TestNoteNameRule", "TestNoteIDParses", "TestNoteUseCasesAnswerNotFoundForSomeoneElsesProject",
		"TestNoteModuleKeepsItsInternalsPrivate", "TestGraphIsComplete", "TestContextsContributeRoutesAndMigrations",
		"TestNoteRepository/postgres", "TestNoteRepository/sqlite", "TestNoteRepository/memory",
		"TestNoteAPI", "TestNoteIsolation", "TestNoteInOpenAPI", "TestArchitecture",
	} {
		if !regexp.MustCompile(`--- PASS: ` + regexp.QuoteMeta(test) + ` `).MatchString(out) {
			t.Errorf("%s did not run and pass in the generated tree", test)
		}
	}
	if strings.Contains(out, "--- FAIL") || strings.Contains(out, "no tests to run") {
		t.Errorf("the generated tree's tests:\n%s", out)
	}
}

// TestAFailedWriteLeavesNothingBehind: when a file cannot be written (here
// one appeared after the checks), everything written so far is removed and
// bootstrap/app.go is left as it was.
func TestAFailedWriteLeavesNothingBehind(t *testing.T) {
	dir := copyModule(t)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	p, err := newPlan(root, "memo", fixedNow())
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	last := filepath.Join(dir, filepath.FromSlash(p.files[len(p.files)-1].path))
	if err := os.MkdirAll(filepath.Dir(last), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(last, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.apply(); err == nil || !strings.Contains(err.Error(), "file exists") {
		t.Fatalf("apply over an existing file = %v, want it refused", err)
	}
	if err := os.Remove(last); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, dir)
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("left behind: %s", path)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "domain", "memo")); err == nil {
		t.Error("the directories made for the context were left behind")
	}
}
