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

// freeName returns the first candidate the generator accepts in dir, so
// that these tests keep passing after a team adds, say, a note context.
func freeName(t *testing.T, dir string, candidates ...string) string {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	for _, name := range candidates {
		if _, err := newPlan(root, name, fixedNow()); err == nil {
			return name
		}
	}
	t.Fatalf("every candidate name is taken: %v", candidates)
	return ""
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
	name := freeName(t, dir, "category", "story", "entry", "category2")
	many, typ := plural(name), title(name)
	code, stdout, stderr := generate(t, dir, "-name", name)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{
		"domain/NAME/NAME.go", "domain/NAME/NAME_test.go", "ports/NAME/NAME.go",
		"application/NAME/service.go", "application/NAME/create_NAME.go", "application/NAME/get_NAME.go",
		"application/NAME/list_MANY.go", "application/NAME/service_test.go",
		"adapters/memory/NAME/repository.go", "adapters/postgres/NAME/repository.go",
		"adapters/postgres/NAME/migrations/postgres/20300102030405_create_MANY.sql",
		"adapters/postgres/NAME/migrations/sqlite/20300102030405_create_MANY.sql",
		"adapters/http/NAME/handler.go", "bootstrap/NAME.go", "bootstrap/NAME_test.go",
		"test/contract/NAME_test.go", "test/e2e/NAME_test.go",
	} {
		f = strings.NewReplacer("NAME", name, "MANY", many).Replace(f)
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("not written: %s", f)
		}
		if !strings.Contains(stdout, f) {
			t.Errorf("the summary does not list %s", f)
		}
	}
	handler, _ := os.ReadFile(filepath.Join(dir, "adapters/http", name, "handler.go"))
	if !bytes.Contains(handler, []byte(`"/api/v1/projects/{project_id}/`+many+`"`)) || !bytes.Contains(handler, []byte(`"/{`+name+`_id}"`)) {
		t.Errorf("the routes are not under /api/v1/projects/{project_id}/%s:\n%s", many, handler)
	}
	appAfter, err := os.ReadFile(filepath.Join(dir, "bootstrap", "app.go"))
	if err != nil {
		t.Fatal(err)
	}
	added, removed := lineDiff(string(appBefore), string(appAfter))
	if len(removed) != 0 || len(added) != 1 || strings.TrimSpace(added[0]) != typ+"Module," {
		t.Fatalf("bootstrap/app.go must gain exactly the line `%sModule,`; added %q, removed %q", typ, added, removed)
	}

	if code, _, stderr := generate(t, dir, "-name", name); code != 2 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("a second run: exit %d, %q", code, stderr)
	}
	// A later context gets a later migration version even when the clock says otherwise.
	second := freeName(t, dir, "tag", "label", "tag2")
	if code, _, stderr := generate(t, dir, "-name", second); code != 0 {
		t.Fatalf("a second context: exit %d, %s", code, stderr)
	}
	migration := "adapters/postgres/" + second + "/migrations/postgres/20300102030406_create_" + plural(second) + ".sql"
	if _, err := os.Stat(filepath.Join(dir, migration)); err != nil {
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
	widget := freeName(t, dir, "widget", "widget2")
	sql := filepath.Join(dir, "adapters/postgres/project/migrations/postgres/20261125000002_"+widget+".sql")
	if err := os.WriteFile(sql, []byte("-- +goose Up\nCREATE TABLE "+plural(widget)+" (id uuid);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := generate(t, dir, "-name", widget); code != 2 || !strings.Contains(stderr, `the table "`+plural(widget)+`" already exists`) {
		t.Errorf("table clash: exit %d, %q", code, stderr)
	}
	// A package the context would join already declares one of its names.
	gadget := freeName(t, dir, "gadget", "gadget2")
	helper := filepath.Join(dir, "test/e2e/"+gadget+"_helpers_test.go")
	if err := os.WriteFile(helper, []byte("package e2e\n\nfunc create"+title(gadget)+"() {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := generate(t, dir, "-name", gadget); code != 2 || !strings.Contains(stderr, "declare create"+title(gadget)) {
		t.Errorf("redeclaration: exit %d, %q", code, stderr)
	}
	// bootstrap/app.go no longer lists contexts the way the generator expects.
	gizmo := freeName(t, dir, "gizmo", "gizmo2") // chosen while app.go is intact
	app := filepath.Join(dir, "bootstrap", "app.go")
	src, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, bytes.ReplaceAll(src, []byte("var contexts ="), []byte("var modules =")), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := generate(t, dir, "-name", gizmo); code != 2 || !strings.Contains(stderr, "var contexts = fx.Options") {
		t.Errorf("no contexts list: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "domain", gizmo)); err == nil {
		t.Error("a refused run wrote domain/" + gizmo)
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
// (Once a note context exists, the next free name stands in for note.)
func TestGeneratedContextPassesItsTestsAndTheRules(t *testing.T) {
	dir := copyModule(t)
	name := freeName(t, dir, "note", "memo", "jotting", "note2")
	typ := title(name)
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
	out := sh("make", "context", "NAME="+name)
	if !strings.Contains(out, "registered "+typ+"Module in bootstrap/app.go") {
		t.Fatalf("make context did not register the module:\n%s", out)
	}
	sh("go", "build", "./...")
	sh("go", "vet", "./domain/"+name+"/...", "./ports/"+name+"/...", "./application/"+name+"/...", "./adapters/...", "./bootstrap/...")
	out = sh("go", "test", "-count=1", "-v",
		"-run", `^(Test`+typ+`|TestArchitecture$|TestGraphIsComplete$|TestContextInternalsArePrivate$|TestContextsContributeRoutesAndMigrations$)`,
		"./domain/"+name+"/", "./application/"+name+"/", "./bootstrap/", "./test/contract/", "./test/e2e/", "./test/architecture/")
	for _, test := range []string{
		"Test" + typ + "NameRule", "Test" + typ + "IDParses", "Test" + typ + "UseCasesAnswerNotFoundForSomeoneElsesProject",
		"Test" + typ + "ModuleKeepsItsInternalsPrivate", "TestGraphIsComplete", "TestContextsContributeRoutesAndMigrations",
		"Test" + typ + "Repository/postgres", "Test" + typ + "Repository/sqlite", "Test" + typ + "Repository/memory",
		"Test" + typ + "API", "Test" + typ + "Isolation", "Test" + typ + "InOpenAPI", "TestArchitecture",
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
	name := freeName(t, dir, "memo", "memo2")
	p, err := newPlan(root, name, fixedNow())
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
	if _, err := os.Stat(filepath.Join(dir, "domain", name)); err == nil {
		t.Error("the directories made for the context were left behind")
	}
}
