package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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
		"status":                          "reserved",
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
		"application/NAME/list_MANY.go", "application/NAME/update_NAME.go", "application/NAME/service_test.go",
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
	if !strings.Contains(stdout, "Routes: POST, GET /api/v1/projects/{project_id}/"+many+"; GET, PATCH ") {
		t.Errorf("the summary does not list the routes:\n%s", stdout)
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
	sh("go", "vet", "./domain/"+name+"/...", "./ports/"+name+"/...", "./application/"+name+"/...", "./adapters/...", "./bootstrap/...",
		"./test/contract/", "./test/e2e/")
	out = sh("go", "test", "-count=1", "-v",
		"-run", `^(Test`+typ+`|TestArchitecture$|TestGraphIsComplete$|TestContextInternalsArePrivate$|TestContextsContributeRoutesAndMigrations$)`,
		"./domain/"+name+"/", "./application/"+name+"/", "./bootstrap/", "./test/contract/", "./test/e2e/", "./test/architecture/")
	for _, test := range []string{
		"Test" + typ + "NameRule", "Test" + typ + "Rename", "Test" + typ + "IDParses",
		"Test" + typ + "UseCasesAnswerNotFoundForSomeoneElsesProject", "Test" + typ + "UseCasesRefuseAZeroAccess",
		"Test" + typ + "UpdateLoadsChangesAndSaves",
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

// The generated code must be written in the tree's style, not merely
// compile: the acceptance test above proves it builds and passes; the
// tests below prove it uses the tree's helpers instead of re-implementing
// them. They read the rendered templates' syntax, so they run in
// milliseconds and name the template that regressed.

// treeHelpers are the helpers the generated code must use, by the
// directory that declares them: when one is renamed or moved, the
// templates and styleViolations must follow.
var treeHelpers = map[string][]string{
	"domain/kernel":         {"kernel.ID", "kernel.ParseID", "kernel.IDFrom", "kernel.ProjectAccess", "kernel.Cursor", "kernel.CheckPageLimit"},
	"adapters/postgres":     {"postgres.NewestFirst", "postgres.PageOf", "postgres.Conn", "postgres.InTx", "postgres.Failure", "postgres.IsNotFound"},
	"adapters/http/httpkit": {"httpkit.Access", "httpkit.ParseCursor", "httpkit.EncodeCursor", "httpkit.FromError", "httpkit.Protected"},
	"application/project":   {"project.NewGate", "project.GateSettings"},
}

// renderForCheck renders every template with the placeholder name, so
// that each generated path maps back to its template.
func renderForCheck(t *testing.T) (string, *plan) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := moduleRe.FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod declares no module")
	}
	p := &plan{names: names{Module: string(m[1]), Name: placeholder, Type: title(placeholder),
		Plural: plural(placeholder), PluralType: title(plural(placeholder)), Recv: placeholder[:1], Version: "1"}}
	if err := p.render(); err != nil {
		t.Fatal(err)
	}
	return string(m[1]), p
}

func TestTheTreeDeclaresTheHelpersTheTemplatesUse(t *testing.T) {
	fsys := os.DirFS(testkit.ModuleRoot(t))
	for dir, want := range treeHelpers {
		declared, err := topLevelNames(fsys, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range want {
			if _, ok := declared[name]; !ok {
				t.Errorf("%s no longer declares %s, which the generated code uses: update the templates and styleViolations", dir, name)
			}
		}
	}
}

func TestGeneratedCodeUsesTheTreesHelpers(t *testing.T) {
	module, p := renderForCheck(t)
	for _, v := range styleViolations(module, p.names, p.files) {
		t.Error(v)
	}
}

// TestTheStyleCheckCatchesARegressedTemplate: each of these edits of the
// generated code, the kind of regression a template could suffer, must be
// reported.
func TestTheStyleCheckCatchesARegressedTemplate(t *testing.T) {
	module, p := renderForCheck(t)
	n := p.names
	dom, ports := "domain/"+n.Name+"/"+n.Name+".go", "ports/"+n.Name+"/"+n.Name+".go"
	pg, handler := "adapters/postgres/"+n.Name+"/repository.go", "adapters/http/"+n.Name+"/handler.go"
	app := "application/" + n.Name + "/"
	cases := []struct {
		file, old, new, want string
	}{
		{pg, "postgres.NewestFirst(", "newestFirst(", "postgres.NewestFirst"},
		{pg, "postgres.PageOf(", "pageOf(", "postgres.PageOf"},
		{pg, "postgres.InTx(", "inTx(", "postgres.InTx"},
		{pg, `postgres.NewestFirst(inProject(postgres.Conn(ctx, r.db), access), q.After, q.Limit)`,
			`inProject(postgres.Conn(ctx, r.db), access).Order("created_at DESC, id DESC")`, "re-implements the keyset page"},
		{pg, "Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).", "", "does not lock the row"},
		{pg, "Update(ctx context.Context, access kernel.ProjectAccess,", "Update(ctx context.Context, project kernel.ProjectID,", "kernel.ProjectAccess second"},
		{handler, "httpkit.Access(ctx)", "access(ctx)", "httpkit.Access"},
		{handler, "httpkit.ParseCursor(", "parseCursor(", "httpkit.ParseCursor"},
		{handler, "httpkit.EncodeCursor(", "encodeCursor(", "httpkit.EncodeCursor"},
		{handler, `"net/http"`, "\"encoding/base64\"\n\t\"net/http\"", "encoding/base64"},
		{handler, "func itemPath(", "var _, _ = kernel.ParseProjectID(\"\")\n\nfunc itemPath(", "kernel.ParseProjectID"},
		{ports, "Get(ctx context.Context, access kernel.ProjectAccess,", "Get(ctx context.Context, project kernel.ProjectID,", "kernel.ProjectAccess second"},
		{ports, "// ListQuery", "type Service interface{}\n\n// ListQuery", "declares a Service"},
		{app + "get_" + n.Name + ".go", "access kernel.ProjectAccess", "caller kernel.Subject, project kernel.ProjectID", "kernel.ProjectAccess second"},
		{app + "update_" + n.Name + ".go", "s.repo.Update(", "s.update(", "repository's Update"},
		{app + "update_" + n.Name + ".go", "type Update" + n.Type + " struct", "type update" + n.Type + " struct", "declares no command Update" + n.Type},
		{app + "service.go", "func NewService(", "func NewService(gate shared.ProjectGate, ", "shared.ProjectGate"},
		{app + "create_" + n.Name + ".go", "if err := requireAccess(", "access = kernel.GrantProjectAccess(access.Subject(), access.Project(), kernel.AllPermissions)\n\tif err := requireAccess(", "kernel.GrantProjectAccess"},
		{dom, "type ID = kernel.ID[idKind]", "type ID struct{ v uuid.UUID }\n\nfunc (id ID) UUID() uuid.UUID { return id.v }", "declares (ID).UUID"},
		{dom, "\tname      string\n", "\tname      string `json:\"name\"`\n", "tags"},
	}
	for _, c := range cases {
		files := make([]file, len(p.files))
		copy(files, p.files)
		applied := false
		for i, f := range files {
			if f.path == c.file && bytes.Contains(f.data, []byte(c.old)) {
				files[i].data = bytes.ReplaceAll(f.data, []byte(c.old), []byte(c.new))
				applied = true
			}
		}
		if !applied {
			t.Errorf("%s no longer contains %q: update this regression", c.file, c.old)
			continue
		}
		got := strings.Join(styleViolations(module, n, files), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("replacing %q by %q in %s was not reported as %q; the check said:\n%s", c.old, c.new, c.file, c.want, got)
		}
	}
}

// generated is one rendered Go file, parsed.
type generated struct {
	tmpl    string // the template it came from
	f       *ast.File
	imports map[string]string // local name → import path
	uses    map[string]bool   // import paths, and "import/path.Name" of every qualified identifier it mentions
}

// templateOf is the template that renders path with the placeholder name.
func templateOf(path string) string {
	return "templates/" + strings.NewReplacer(plural(placeholder), "PLURAL", placeholder, "NAME").Replace(path) + ".tmpl"
}

func parseGenerated(f file) (*generated, error) {
	tmpl := templateOf(f.path)
	parsed, err := parser.ParseFile(token.NewFileSet(), f.path, f.data, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tmpl, err)
	}
	g := &generated{tmpl: tmpl, f: parsed, imports: map[string]string{}, uses: map[string]bool{}}
	for _, spec := range parsed.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		local := path.Base(p)
		if regexp.MustCompile(`^v[0-9]+$`).MatchString(local) {
			local = path.Base(path.Dir(p))
		}
		if spec.Name != nil {
			local = spec.Name.Name
		}
		g.imports[local] = p
		g.uses[p] = true
	}
	ast.Inspect(parsed, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if ref := g.ref(sel); ref != "" {
				g.uses[ref] = true
			}
		}
		return true
	})
	return g, nil
}

// ref is "import/path.Name" for a qualified identifier (generic or not), "" otherwise.
func (g *generated) ref(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok && g.imports[id.Name] != "" {
			return g.imports[id.Name] + "." + x.Sel.Name
		}
	case *ast.IndexExpr:
		return g.ref(x.X)
	case *ast.IndexListExpr:
		return g.ref(x.X)
	case *ast.StarExpr:
		return g.ref(x.X)
	}
	return ""
}

// params lists a function type's parameter types, one per parameter.
func params(ft *ast.FuncType) []ast.Expr {
	var out []ast.Expr
	for _, field := range ft.Params.List {
		for range max(1, len(field.Names)) {
			out = append(out, field.Type)
		}
	}
	return out
}

func receiver(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// styleViolations says, template by template, where the generated code
// stops using the tree's helpers or the scope capability.
func styleViolations(module string, n names, files []file) []string {
	var out []string
	kernel, httpkit, postgres := module+"/domain/kernel", module+"/adapters/http/httpkit", module+"/adapters/postgres"
	report := func(g *generated, format string, args ...any) {
		out = append(out, g.tmpl+": "+fmt.Sprintf(format, args...))
	}
	gen := map[string]*generated{}
	var paths []string
	for _, f := range files {
		if path.Ext(f.path) != ".go" {
			continue
		}
		g, err := parseGenerated(f)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		gen[f.path] = g
		paths = append(paths, f.path)
	}
	sort.Strings(paths)
	need := func(p string) *generated {
		if gen[p] == nil {
			out = append(out, "no template renders "+p)
		}
		return gen[p]
	}
	// scoped checks that a function takes (ctx context.Context, access kernel.ProjectAccess, ...).
	scoped := func(g *generated, what string, ft *ast.FuncType) {
		ps := params(ft)
		if len(ps) < 2 || g.ref(ps[0]) != "context.Context" || g.ref(ps[1]) != kernel+".ProjectAccess" {
			report(g, "%s does not take context.Context first and kernel.ProjectAccess second: the access the gate granted is the scope", what)
		}
	}

	banned := []struct{ ref, why string }{
		{"encoding/base64", "imports encoding/base64: a cursor's wire form is httpkit.EncodeCursor and httpkit.ParseCursor"},
		{kernel + ".ParseProjectID", "calls kernel.ParseProjectID: the project access middleware parsed the project id and the gate decided; take httpkit.Access(ctx)"},
		{kernel + ".GrantProjectAccess", "calls kernel.GrantProjectAccess: only the project gate mints an access"},
		{module + "/ports/shared.ProjectGate", "uses shared.ProjectGate: the middleware already asked the gate; take the access it granted"},
		{httpkit + ".Caller", "calls httpkit.Caller: a project-scoped route takes httpkit.Access(ctx), which carries the caller"},
	}
	for _, p := range paths {
		g := gen[p]
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		for _, b := range banned {
			if g.uses[b.ref] {
				report(g, "%s", b.why)
			}
		}
		for _, decl := range g.f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && receiver(fd) == "ID" {
				report(g, "declares (ID).%s: the generic kernel.ID already has UUID, IsZero and String", fd.Name.Name)
			}
		}
	}

	if g := need("domain/" + n.Name + "/" + n.Name + ".go"); g != nil {
		alias := false
		ast.Inspect(g.f, func(node ast.Node) bool {
			switch x := node.(type) {
			case *ast.TypeSpec:
				if x.Name.Name == "ID" {
					alias = x.Assign.IsValid() && g.ref(x.Type) == kernel+".ID"
				}
			case *ast.Field:
				if x.Tag != nil {
					report(g, "tags a domain field (%s): transport and storage tags belong to the adapters", x.Tag.Value)
				}
			}
			return true
		})
		if !alias {
			report(g, "declares its own ID type: declare type ID = kernel.ID[idKind]")
		}
		for _, h := range []string{"ParseID", "IDFrom"} {
			if !g.uses[kernel+"."+h] {
				report(g, "does not call kernel.%s: ParseID and IDFrom are one-line wrappers of the generic ones", h)
			}
		}
	}

	if g := need("ports/" + n.Name + "/" + n.Name + ".go"); g != nil {
		methods := map[string]bool{}
		for _, decl := range g.f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok {
					continue
				}
				if ts.Name.Name == "Service" {
					report(g, "declares a Service interface: handlers depend on the application's concrete *Service")
				}
				iface, ok := ts.Type.(*ast.InterfaceType)
				if !ok || ts.Name.Name != "Repository" {
					continue
				}
				for _, m := range iface.Methods.List {
					if ft, ok := m.Type.(*ast.FuncType); ok && len(m.Names) == 1 {
						methods[m.Names[0].Name] = true
						scoped(g, "Repository."+m.Names[0].Name, ft)
					}
				}
			}
		}
		for _, m := range []string{"Add", "Get", "List", "Update"} {
			if !methods[m] {
				report(g, "the Repository has no %s", m)
			}
		}
	}

	for _, p := range []string{"adapters/postgres/" + n.Name + "/repository.go", "adapters/memory/" + n.Name + "/repository.go"} {
		g := need(p)
		if g == nil {
			continue
		}
		for _, decl := range g.f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && receiver(fd) == "Repository" && fd.Name.IsExported() {
				scoped(g, "(*Repository)."+fd.Name.Name, fd.Type)
			}
		}
	}

	if g := need("adapters/postgres/" + n.Name + "/repository.go"); g != nil {
		for _, h := range []string{"NewestFirst", "PageOf", "Conn", "InTx", "Failure"} {
			if !g.uses[postgres+"."+h] {
				report(g, "does not call postgres.%s, the shared helper", h)
			}
		}
		ast.Inspect(g.f, func(node ast.Node) bool {
			if lit, ok := node.(*ast.BasicLit); ok && lit.Kind == token.STRING &&
				regexp.MustCompile(`(?i)created_at\s*(<|desc)`).MatchString(lit.Value) {
				report(g, "re-implements the keyset page (%s): use postgres.NewestFirst and postgres.PageOf", lit.Value)
			}
			return true
		})
		locks := false
		for _, decl := range g.f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || receiver(fd) != "Repository" || fd.Name.Name != "Update" {
				continue
			}
			ast.Inspect(fd, func(node ast.Node) bool {
				switch x := node.(type) {
				case *ast.CompositeLit:
					locks = locks || g.ref(x.Type) == "gorm.io/gorm/clause.Locking"
				case *ast.BasicLit:
					locks = locks || strings.Contains(strings.ToUpper(x.Value), "FOR UPDATE")
				}
				return true
			})
		}
		if !locks {
			report(g, "Update does not lock the row it loads (clause.Locking, SELECT … FOR UPDATE): concurrent changes would be lost")
		}
	}

	if g := need("adapters/http/" + n.Name + "/handler.go"); g != nil {
		for _, h := range []string{"Access", "ParseCursor", "EncodeCursor"} {
			if !g.uses[httpkit+"."+h] {
				report(g, "does not call httpkit.%s, the shared helper", h)
			}
		}
	}

	useCases := map[string]bool{}
	commands := map[string]string{}
	for _, p := range paths {
		g := gen[p]
		if !strings.HasPrefix(p, "application/"+n.Name+"/") || strings.HasSuffix(p, "_test.go") {
			continue
		}
		for _, decl := range g.f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok {
						commands[ts.Name.Name] = path.Base(p)
					}
				}
			case *ast.FuncDecl:
				if receiver(d) != "Service" || !d.Name.IsExported() {
					continue
				}
				useCases[d.Name.Name] = true
				scoped(g, "(*Service)."+d.Name.Name, d.Type)
				if d.Name.Name != "Update"+n.Type {
					continue
				}
				callsUpdate := false
				ast.Inspect(d, func(node ast.Node) bool {
					if sel, ok := node.(*ast.SelectorExpr); ok && sel.Sel.Name == "Update" {
						if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "repo" {
							callsUpdate = true
						}
					}
					return true
				})
				if !callsUpdate {
					report(g, "Update%s does not go through the repository's Update (load–change–save in one transaction)", n.Type)
				}
			}
		}
	}
	for useCase, file := range map[string]string{
		"Create" + n.Type:     "create_" + n.Name + ".go",
		"Get" + n.Type:        "get_" + n.Name + ".go",
		"List" + n.PluralType: "list_" + n.Plural + ".go",
		"Update" + n.Type:     "update_" + n.Name + ".go",
	} {
		tmpl := templateOf("application/" + n.Name + "/" + file)
		if !useCases[useCase] {
			out = append(out, tmpl+": no use case "+useCase)
		}
		if useCase != "Get"+n.Type && commands[useCase] != file {
			out = append(out, tmpl+": declares no command "+useCase+" next to its use case")
		}
	}
	sort.Strings(out)
	return out
}
