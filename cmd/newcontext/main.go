// Command newcontext adds a project-scoped bounded context to the module:
// a compiling, tested skeleton across every layer (domain, ports, use
// cases, GORM and in-memory adapters with migrations, HTTP routes under
// /api/v1/projects/{project_id}/<name>s, the fx module) registered in
// bootstrap/app.go with one line. The skeleton is written in the tree's
// style: the generic kernel.ID, kernel.ProjectAccess taken by every use
// case and repository method, the shared keyset page and cursor helpers,
// and one load–change–save update; main_test.go fails when it is not.
//
//	make context NAME=note        # or: go run ./cmd/newcontext -name note
//
// See docs/adding-a-bounded-context.md for what to change by hand next.
package main

import (
	"embed"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed templates
var templates embed.FS

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, time.Now))
}

// run is main with its inputs made explicit; it returns the exit code.
func run(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	flags := flag.NewFlagSet("newcontext", flag.ContinueOnError)
	flags.SetOutput(stderr)
	name := flags.String("name", "", "the context's name: a lower-case Go package name such as note")
	root := flags.String("root", ".", "the module's root directory")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "newcontext: unexpected argument %q; usage: make context NAME=<name>\n", flags.Arg(0))
		return 2
	}
	dir, err := os.OpenRoot(*root)
	if err != nil {
		fmt.Fprintf(stderr, "newcontext: %v\n", err)
		return 2
	}
	defer func() { _ = dir.Close() }()
	plan, err := newPlan(dir, *name, now())
	if err != nil {
		fmt.Fprintf(stderr, "newcontext: %v\n", err)
		return 2
	}
	if err := plan.apply(); err != nil {
		fmt.Fprintf(stderr, "newcontext: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Added the %s context:\n", plan.Name)
	for _, f := range plan.files {
		fmt.Fprintf(stdout, "  %s\n", f.path)
	}
	fmt.Fprintf(stdout, "and registered %sModule in bootstrap/app.go.\n\n", plan.Type)
	fmt.Fprintf(stdout, "Routes: POST, GET %s; GET, PATCH %s/{%s_id}\n", plan.basePath(), plan.basePath(), plan.Name)
	fmt.Fprintf(stdout, "Next: make openapi (the new routes join api/openapi.json), make test, then docs/adding-a-bounded-context.md for what to change by hand.\n")
	return 0
}

// names are what the templates are rendered with.
type names struct {
	Module     string // the module path
	Name       string // note: the package name and path segment
	Type       string // Note: the aggregate's type
	Plural     string // notes: the URL segment and the table
	PluralType string // Notes
	Recv       string // n: the aggregate's receiver
	Version    string // the migration's goose version, a UTC timestamp
}

func (n names) basePath() string { return "/api/v1/projects/{project_id}/" + n.Plural }

type file struct {
	path string // relative to the root, slash-separated
	data []byte
}

// plan is a validated context, rendered and ready to be written.
type plan struct {
	names
	root   *os.Root // every read and write stays inside the module
	files  []file
	appGo  []byte // bootstrap/app.go with the module registered
	appOld []byte
}

var (
	lowerName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	moduleRe  = regexp.MustCompile(`(?m)^module\s+(\S+)`)
)

const maxNameLength = 30

// reserved are names a context cannot take although the generated code
// would compile: the layers and adapter technologies (adapters/http/http
// would read as nonsense) and the names of schemas already in the API
// document (huma names schemas after Go types: a context "problem" would
// clash with the error schema Problem).
var reserved = strings.Fields(`
	kernel shared domain ports application adapters bootstrap cmd test
	http inproc worker postgres memory redis auth system observability
	problem report status info streams operations
`)

// placeholder is the name the templates are rendered with to learn which
// identifiers they use.
const placeholder = "zzplaceholder"

// templateIdentifiers lists every lower-case identifier the generated code
// uses: packages it imports, variables, parameters, helpers. A context of
// one of these names could collide with it (an import or a variable
// shadowing the context's own package), so such names are refused.
func templateIdentifiers() (map[string]bool, error) {
	p := &plan{names: names{Module: "example.com/m", Name: placeholder, Type: title(placeholder),
		Plural: plural(placeholder), PluralType: title(plural(placeholder)), Recv: placeholder[:1], Version: "1"}}
	if err := p.render(); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range p.files {
		if path.Ext(f.path) != ".go" {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f.path, f.data, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		ast.Inspect(parsed, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && lowerName.MatchString(id.Name) && !strings.HasPrefix(id.Name, placeholder) {
				out[id.Name] = true
			}
			return true
		})
	}
	return out, nil
}

// validateName explains why name cannot be a context's name, or returns nil.
func validateName(name string) error {
	switch {
	case name == "":
		return errors.New("a name is required: make context NAME=<name>, for example make context NAME=note")
	case token.IsKeyword(name):
		return fmt.Errorf("%q is a Go keyword; a context's name becomes a package name, so choose another word", name)
	case !token.IsIdentifier(name):
		return fmt.Errorf("%q is not a valid Go identifier: a context's name becomes a package name, "+
			"so it is letters and digits starting with a letter, such as note or invoice", name)
	case !lowerName.MatchString(name):
		return fmt.Errorf("%q is a Go identifier but not a package name of this project: use lower-case letters and digits only, "+
			"such as %q", name, strings.ToLower(strings.ReplaceAll(name, "_", "")))
	case len(name) > maxNameLength:
		return fmt.Errorf("%q is longer than %d characters; a context's name appears in every layer, keep it short", name, maxNameLength)
	case types.Universe.Lookup(name) != nil:
		return fmt.Errorf("%q is predeclared in Go (a built-in type or function); a package of that name would shadow it", name)
	}
	for _, r := range reserved {
		if name == r {
			return fmt.Errorf("%q is reserved: it names a layer, an adapter technology or a schema of the API document", name)
		}
	}
	return nil
}

// checkIdentifiers refuses a name the generated code already uses.
func checkIdentifiers(name string) error {
	used, err := templateIdentifiers()
	if err != nil {
		return err
	}
	if used[name] {
		return fmt.Errorf("%q is a name the generated code already uses (a package it imports, a helper or a variable), "+
			"and a context of that name could clash with it; choose another, such as %q", name, name+"item")
	}
	return nil
}

// plural makes the English plural of a lower-case word, for URLs and tables.
func plural(w string) string {
	switch {
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "x"), strings.HasSuffix(w, "z"),
		strings.HasSuffix(w, "ch"), strings.HasSuffix(w, "sh"):
		return w + "es"
	case strings.HasSuffix(w, "y") && len(w) > 1 && !strings.ContainsRune("aeiou", rune(w[len(w)-2])):
		return w[:len(w)-1] + "ies"
	}
	return w + "s"
}

func title(w string) string { return strings.ToUpper(w[:1]) + w[1:] }

// newPlan validates name against the module in root and renders the
// context, without writing anything.
func newPlan(root *os.Root, name string, now time.Time) (*plan, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	gomod, err := root.ReadFile("go.mod")
	if err != nil {
		return nil, fmt.Errorf("run me from the module's root (no go.mod in %s): %w", root.Name(), err)
	}
	m := moduleRe.FindSubmatch(gomod)
	if m == nil {
		return nil, errors.New("go.mod declares no module")
	}
	p := &plan{root: root, names: names{
		Module: string(m[1]), Name: name, Type: title(name), Plural: plural(name), PluralType: title(plural(name)),
		Recv: name[:1],
	}}
	if err := p.checkCollisions(); err != nil {
		return nil, err
	}
	if err := checkIdentifiers(name); err != nil {
		return nil, err
	}
	if p.Version, err = p.nextVersion(now); err != nil {
		return nil, err
	}
	if err := p.render(); err != nil {
		return nil, err
	}
	if err := p.checkRedeclarations(); err != nil {
		return nil, err
	}
	if p.appOld, err = root.ReadFile("bootstrap/app.go"); err != nil {
		return nil, err
	}
	if p.appGo, err = register(p.appOld, p.Type+"Module"); err != nil {
		return nil, err
	}
	return p, nil
}

// checkCollisions refuses a name that an existing context already uses.
func (p *plan) checkCollisions() error {
	var taken []string
	candidates := []string{"domain/" + p.Name, "ports/" + p.Name, "application/" + p.Name, "bootstrap/" + p.Name + ".go"}
	adapters, _ := fs.ReadDir(p.root.FS(), "adapters")
	for _, tech := range adapters {
		if tech.IsDir() {
			candidates = append(candidates, "adapters/"+tech.Name()+"/"+p.Name)
		}
	}
	for _, c := range candidates {
		if _, err := p.root.Stat(c); err == nil {
			taken = append(taken, c)
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("a context named %q already exists (%s); choose another name", p.Name, strings.Join(taken, ", "))
	}
	table := regexp.MustCompile(`(?i)CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?"?` + p.Plural + `"?[\s(]`)
	var clash string
	err := fs.WalkDir(p.root.FS(), "adapters", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".sql" || clash != "" {
			return err
		}
		data, err := fs.ReadFile(p.root.FS(), name)
		if err == nil && table.Match(data) {
			clash = name
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if clash != "" {
		return fmt.Errorf("the table %q already exists (created in %s); choose another name", p.Plural, clash)
	}
	return nil
}

var versionRe = regexp.MustCompile(`^(\d+)_`)

// nextVersion is now as a goose timestamp version, or one more than the
// newest existing migration when the clock is behind it.
func (p *plan) nextVersion(now time.Time) (string, error) {
	v, err := strconv.ParseInt(now.UTC().Format("20060102150405"), 10, 64)
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(p.root.FS(), "adapters", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".sql" {
			return err
		}
		if m := versionRe.FindStringSubmatch(d.Name()); m != nil {
			if existing, err := strconv.ParseInt(m[1], 10, 64); err == nil && existing >= v {
				v = existing + 1
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

// render executes every template, gofmt-ing the Go files.
func (p *plan) render() error {
	return fs.WalkDir(templates, "templates", func(src string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		text, err := fs.ReadFile(templates, src)
		if err != nil {
			return err
		}
		tmpl, err := template.New(src).Option("missingkey=error").Parse(string(text))
		if err != nil {
			return err
		}
		var out strings.Builder
		if err := tmpl.Execute(&out, p.names); err != nil {
			return err
		}
		dst := strings.TrimSuffix(strings.TrimPrefix(src, "templates/"), ".tmpl")
		dst = strings.NewReplacer("PLURAL", p.Plural, "NAME", p.Name, "VERSION", p.Version).Replace(dst)
		data := []byte(out.String())
		if path.Ext(dst) == ".go" {
			if data, err = format.Source(data); err != nil {
				return fmt.Errorf("template %s does not render valid Go: %w", src, err)
			}
		}
		p.files = append(p.files, file{path: dst, data: data})
		return nil
	})
}

// checkRedeclarations refuses a name whose generated files would declare
// something a package they join (bootstrap, test/contract, test/e2e)
// already declares.
func (p *plan) checkRedeclarations() error {
	for _, f := range p.files {
		if path.Ext(f.path) != ".go" {
			continue
		}
		existing, err := topLevelNames(p.root.FS(), path.Dir(f.path))
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		gen, err := parser.ParseFile(fset, f.path, f.data, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, n := range declared(gen) {
			if where, ok := existing[gen.Name.Name+"."+n]; ok {
				return fmt.Errorf("the name %q would make %s declare %s, which %s already declares; choose another name",
					p.Name, f.path, n, where)
			}
		}
	}
	return nil
}

// topLevelNames maps "package.Name" to the file declaring it, for every Go
// file in dir (none when dir does not exist).
func topLevelNames(fsys fs.FS, dir string) (map[string]string, error) {
	out := map[string]string{}
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".go" {
			continue
		}
		name := path.Join(dir, e.Name())
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, n := range declared(f) {
			out[f.Name.Name+"."+n] = name
		}
	}
	return out, nil
}

// declared lists a file's package-level names (functions, types,
// variables, constants; not methods).
func declared(f *ast.File) []string {
	var out []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name != "init" && d.Name.Name != "_" {
				out = append(out, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					out = append(out, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.Name != "_" {
							out = append(out, n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

// register adds module to the contexts listed in bootstrap/app.go: one line.
func register(src []byte, module string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "bootstrap/app.go", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("bootstrap/app.go does not parse: %w", err)
	}
	var call *ast.CallExpr
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "contexts" && len(vs.Values) == 1 {
			call, _ = vs.Values[0].(*ast.CallExpr)
		}
		return call == nil
	})
	if call == nil {
		return nil, errors.New("bootstrap/app.go has no `var contexts = fx.Options(...)` listing the contexts; " +
			"add the module to the app's options by hand")
	}
	for _, arg := range call.Args {
		if id, ok := arg.(*ast.Ident); ok && id.Name == module {
			return nil, fmt.Errorf("bootstrap/app.go already lists %s", module)
		}
	}
	// Insert a line of its own before the closing parenthesis.
	rparen := fset.Position(call.Rparen).Offset
	lineStart := strings.LastIndexByte(string(src[:rparen]), '\n') + 1
	var out []byte
	if strings.TrimSpace(string(src[lineStart:rparen])) == "" {
		out = append(out, src[:lineStart]...)
		out = append(out, "\t"+module+",\n"...)
		out = append(out, src[lineStart:]...)
	} else {
		sep := ", "
		if len(call.Args) == 0 {
			sep = ""
		}
		out = append(out, src[:rparen]...)
		out = append(out, sep+module...)
		out = append(out, src[rparen:]...)
	}
	return format.Source(out)
}

// apply writes the plan. It refuses to overwrite anything and removes what
// it wrote when a write fails.
func (p *plan) apply() error {
	var written []string // files, then the directories made for them
	undo := func() {
		for i := len(written) - 1; i >= 0; i-- {
			_ = p.root.Remove(written[i]) // a directory goes only once empty
		}
	}
	for _, f := range p.files {
		for _, dir := range p.missingDirs(path.Dir(f.path)) {
			if err := p.root.Mkdir(dir, 0o750); err != nil {
				undo()
				return err
			}
			written = append(written, dir)
		}
		out, err := p.root.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			undo()
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		written = append(written, f.path)
		_, err = out.Write(f.data)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			undo()
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	if err := p.root.WriteFile("bootstrap/app.go", p.appGo, 0o644); err != nil {
		undo()
		return err
	}
	sort.Slice(p.files, func(i, j int) bool { return p.files[i].path < p.files[j].path })
	return nil
}

// missingDirs lists the directories to make, outermost first, for dir to exist.
func (p *plan) missingDirs(dir string) []string {
	var out []string
	for d := dir; d != "." && d != "/"; d = path.Dir(d) {
		if _, err := p.root.Stat(d); err == nil {
			break
		}
		out = append([]string{d}, out...)
	}
	return out
}
