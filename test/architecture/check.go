package architecture

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Config tunes a check.
type Config struct {
	// ScopeExceptions lists the port methods allowed to take no scope or a
	// bare project id, keyed "ports/<context>.<Interface>.<Method>", with
	// the reason.
	ScopeExceptions map[string]string
	// Groups replaces the group table; nil means Groups.
	Groups []Group
	// Env is added to the environment of the go commands the check runs.
	Env []string
}

// Violation is one broken rule.
type Violation struct {
	Rule     string
	Package  string // module-relative path of the package at fault
	Offender string // the import path, declaration or method at fault
	Position string // file:line relative to the module root, when known
	Problem  string // what is wrong
	Fix      string // what to do instead
}

func (v Violation) String() string {
	var b strings.Builder
	if v.Position != "" {
		b.WriteString(v.Position + ": ")
	}
	fmt.Fprintf(&b, "[%s] %s\n", v.Rule, v.Problem)
	if why := Rules[v.Rule]; why != "" {
		fmt.Fprintf(&b, "    rule: %s\n", why)
	}
	if v.Fix != "" {
		fmt.Fprintf(&b, "    fix:  %s\n", v.Fix)
	}
	return b.String()
}

// Report is the outcome of a check.
type Report struct {
	Module string
	// Packages maps every package (module-relative path) to its group.
	Packages   map[string]string
	Violations []Violation
}

func (r *Report) String() string {
	if len(r.Violations) == 0 {
		return fmt.Sprintf("%d packages, no violations", len(r.Packages))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d architecture violation(s) in %s (the rules are explained in docs/architecture.md and test/architecture/rules.go):\n\n",
		len(r.Violations), r.Module)
	for _, v := range r.Violations {
		b.WriteString(v.String())
		b.WriteString("\n")
	}
	return b.String()
}

func (r *Report) add(v Violation) { r.Violations = append(r.Violations, v) }

// pkgInfo is a package of the module as the rules see it.
type pkgInfo struct {
	rel     string
	seg     []string
	group   *Group
	context string // the bounded context the package belongs to, if any
}

// Check builds the module in dir and checks every package against the
// rules. Broken rules are violations in the report; an error means the
// check itself could not run.
func Check(ctx context.Context, dir string, cfg Config) (*Report, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	groups := cfg.Groups
	if groups == nil {
		groups = Groups
	}
	env := append(os.Environ(), cfg.Env...)
	r := &Report{Module: root, Packages: map[string]string{}}

	if out, ok := goBuild(ctx, root, env); !ok {
		r.add(Violation{
			Rule: RuleBuild, Package: ".", Offender: "go build ./...",
			Problem: "the module does not build, so no other rule was checked:\n" + indent(out),
			Fix:     "make `go build ./...` pass first",
		})
		return r, nil
	}

	fset := token.NewFileSet()
	pkgs, err := packages.Load(&packages.Config{
		Mode:    packages.NeedName | packages.NeedFiles | packages.NeedModule,
		Context: ctx, Dir: root, Env: env, Fset: fset,
	}, "./...")
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	for _, p := range pkgs {
		if p.Module != nil && p.Module.Main {
			r.Module = p.Module.Path
			break
		}
	}
	if r.Module == root {
		return nil, errors.New("no package of the main module found in " + root)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			r.add(Violation{Rule: RuleBuild, Package: p.PkgPath, Offender: e.Msg, Problem: "package " + p.PkgPath + " does not load: " + e.Msg,
				Fix: "make `go build ./...` and `go vet ./...` pass first"})
		}
	}
	if len(r.Violations) > 0 {
		return r, nil
	}

	infos := map[string]*pkgInfo{}
	contexts := map[string]bool{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.PkgPath, r.Module), "/")
		info := &pkgInfo{rel: rel, seg: strings.Split(rel, "/")}
		infos[p.PkgPath] = info
		if len(info.seg) >= 2 && isLayer(info.seg[0]) && info.seg[1] != "kernel" && info.seg[1] != "shared" {
			contexts[info.seg[1]] = true
		}
	}
	for _, p := range pkgs {
		info := infos[p.PkgPath]
		info.context = contextOf(info.seg, contexts)
		matched := matchGroups(groups, info.rel)
		switch len(matched) {
		case 0:
			r.Packages[info.rel] = ""
			r.add(Violation{
				Rule: RuleMapped, Package: info.rel, Offender: info.rel,
				Problem: fmt.Sprintf("package %s belongs to no rule group, so no rule would guard it", displayRel(info.rel)),
				Fix:     whereItGoes(info.rel),
			})
			continue
		case 1:
			info.group = matched[0]
			r.Packages[info.rel] = info.group.Name
		default:
			names := make([]string, len(matched))
			for i, g := range matched {
				names[i] = g.Name
			}
			r.Packages[info.rel] = ""
			r.add(Violation{
				Rule: RuleMapped, Package: info.rel, Offender: info.rel,
				Problem: fmt.Sprintf("package %s matches %d rule groups (%s); it must match exactly one", displayRel(info.rel), len(matched), strings.Join(names, ", ")),
				Fix:     "make the patterns of these groups in test/architecture/rules.go disjoint",
			})
			continue
		}
		if err := checkFiles(r, root, fset, p, info, infos, contexts); err != nil {
			return nil, err
		}
	}
	if err := checkScope(ctx, r, root, env, cfg.ScopeExceptions); err != nil {
		return nil, err
	}
	sort.SliceStable(r.Violations, func(i, j int) bool {
		a, b := r.Violations[i], r.Violations[j]
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		return a.Position < b.Position
	})
	return r, nil
}

// matchGroups returns the groups that claim the package at rel (a
// module-relative path); the rules need exactly one.
func matchGroups(groups []Group, rel string) []*Group {
	seg := strings.Split(rel, "/")
	var matched []*Group
	for i := range groups {
		if groups[i].match(seg) {
			matched = append(matched, &groups[i])
		}
	}
	return matched
}

// goBuild runs `go build ./...` in root and reports whether it passed,
// with its output.
func goBuild(ctx context.Context, root string, env []string) (string, bool) {
	build := exec.CommandContext(ctx, "go", "build", "./...")
	build.Dir, build.Env = root, env
	out, err := build.CombinedOutput()
	if err != nil && len(out) == 0 {
		out = []byte(err.Error())
	}
	return string(out), err == nil
}

func isLayer(s string) bool { return s == "domain" || s == "ports" || s == "application" }

// contextOf names the bounded context of a package: domain/<c>,
// ports/<c>, application/<c> and adapters/<tech>/<c> belong to c.
func contextOf(seg []string, contexts map[string]bool) string {
	switch {
	case len(seg) >= 2 && isLayer(seg[0]) && seg[1] != "kernel" && seg[1] != "shared":
		return seg[1]
	case len(seg) >= 3 && seg[0] == "adapters" && contexts[seg[2]]:
		return seg[2]
	}
	return ""
}

func displayRel(rel string) string {
	if rel == "" {
		return "(module root)"
	}
	return rel
}

// importRef is one import of a package, as the rules see it.
type importRef struct {
	path    string
	rel     string // module-relative, when in the module
	seg     []string
	std     bool
	module  bool
	context string
	pos     string
}

func checkFiles(r *Report, root string, fset *token.FileSet, p *packages.Package, info *pkgInfo, infos map[string]*pkgInfo, contexts map[string]bool) error {
	touched := map[string]bool{}
	for _, file := range p.GoFiles {
		mode := parser.ImportsOnly
		if info.group.Layer == LayerPorts {
			mode = parser.SkipObjectResolution
		}
		f, err := parser.ParseFile(fset, file, nil, mode)
		if err != nil {
			return err
		}
		for _, spec := range f.Imports {
			imp := newImportRef(r.Module, spec, fset, root, contexts)
			if v, ok := checkImport(info, imp, touched); ok {
				v.Position = imp.pos
				r.add(v)
			}
		}
		if info.group.Layer == LayerPorts {
			checkDeclarations(r, root, fset, info, f)
		}
	}
	if g := info.group.Layer; g == LayerBootstrap || g == LayerCmd || g == LayerTest || p.Dir == "" {
		return nil
	}
	tests, err := filepath.Glob(filepath.Join(p.Dir, "*_test.go"))
	if err != nil {
		return err
	}
	for _, file := range tests {
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, spec := range f.Imports {
			imp := newImportRef(r.Module, spec, fset, root, contexts)
			if imp.path == "go.uber.org/fx" || strings.HasPrefix(imp.path, "go.uber.org/fx/") || (imp.module && imp.seg[0] == "bootstrap") {
				r.add(Violation{
					Rule: RuleTestsKeepFxOut, Package: info.rel, Offender: imp.path, Position: imp.pos,
					Problem: fmt.Sprintf("a test of %s imports %s", info.rel, imp.path),
					Fix: "a unit test builds what it tests with plain constructors; a test that boots the fx graph is an " +
						"end-to-end test and belongs in test/e2e (graph checks belong in bootstrap)",
				})
			}
		}
	}
	return nil
}

func newImportRef(module string, spec *ast.ImportSpec, fset *token.FileSet, root string, contexts map[string]bool) importRef {
	path, _ := strconv.Unquote(spec.Path.Value)
	imp := importRef{path: path, pos: position(fset, root, spec.Pos())}
	switch {
	case path == module || strings.HasPrefix(path, module+"/"):
		imp.module = true
		imp.rel = strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
		imp.seg = strings.Split(imp.rel, "/")
		imp.context = contextOf(imp.seg, contexts)
	case isStandard(path):
		imp.std = true
	}
	return imp
}

func position(fset *token.FileSet, root string, pos token.Pos) string {
	p := fset.Position(pos)
	name := p.Filename
	if rel, err := filepath.Rel(root, name); err == nil {
		name = filepath.ToSlash(rel)
	}
	return fmt.Sprintf("%s:%d", name, p.Line)
}

// checkImport applies the import rules, most specific first, and reports
// the first one the import breaks.
func checkImport(pkg *pkgInfo, imp importRef, touched map[string]bool) (Violation, bool) {
	v := Violation{Package: pkg.rel, Offender: imp.path, Problem: fmt.Sprintf("%s imports %s", displayRel(pkg.rel), imp.path)}
	third := !imp.std && !imp.module
	layer := pkg.group.Layer
	home := pkg.context
	if home == "" {
		home = "<context>"
	}
	switch layer {
	case LayerDomain:
		if imp.std || imp.path == uuidModule || (imp.module && imp.seg[0] == "domain") {
			break
		}
		v.Rule = RuleDomainPure
		if third {
			v.Fix = fmt.Sprintf("the domain is plain Go, readable and testable without any framework: do the work that needs %s in an adapter "+
				"(adapters/<tech>/%s) behind an interface declared in ports/%s", imp.path, home, home)
		} else {
			v.Fix = fmt.Sprintf("dependencies point inward: the domain knows nothing of %s. Move the code that needs it outward, "+
				"or move what the domain needs into domain/%s or domain/kernel", imp.rel, home)
		}
		return v, true
	case LayerPorts:
		if imp.std || imp.path == uuidModule || (imp.module && (imp.seg[0] == "domain" || imp.seg[0] == "ports")) {
			break
		}
		v.Rule = RulePortsImports
		v.Fix = fmt.Sprintf("a port speaks in domain types only, so that any adapter can implement it: replace the %s type in the "+
			"signature with a domain type (domain/%s) and convert in the adapter", imp.path, home)
		return v, true
	case LayerApplication:
		if imp.std || (imp.module && (imp.seg[0] == "domain" || imp.seg[0] == "ports" || imp.seg[0] == "application")) {
			break
		}
		v.Rule = RuleApplicationImports
		if third {
			v.Fix = fmt.Sprintf("use cases depend on ports only: declare what you need from %s as an interface in ports/%s and implement it "+
				"in an adapter; logs, spans and metrics are the adapters' business (the HTTP middleware, the database and Redis instrumentation)", imp.path, home)
		} else {
			v.Fix = fmt.Sprintf("use cases never reach outward to %s: depend on the port it implements (ports/%s) and let bootstrap pass it in", imp.rel, home)
		}
		return v, true
	case LayerCmd:
		if imp.std || imp.path == "go.uber.org/fx" || (imp.module && imp.seg[0] == "bootstrap") {
			break
		}
		v.Rule = RuleCmdImports
		v.Fix = "a main only runs bootstrap (for example os.Exit(bootstrap.Main(os.Args[1:]))); wiring adapters is bootstrap's job"
		return v, true
	}

	if layer != LayerTest && imp.module && imp.seg[0] == "test" {
		v.Rule = RuleNoTestCode
		v.Fix = "test/ holds test infrastructure that production code must not depend on; move what both need into the layer it belongs to"
		return v, true
	}
	adapter := layer == LayerDriving || layer == LayerDriven
	if adapter && imp.module && imp.seg[0] == "bootstrap" {
		v.Rule = RuleBootstrapImporters
		v.Fix = "bootstrap depends on the adapters, never the reverse: take what you need from bootstrap as a constructor parameter"
		return v, true
	}
	if layer == LayerDriven && imp.module && imp.seg[0] == "application" {
		v.Rule = RuleDrivenAdapters
		v.Fix = fmt.Sprintf("a driven adapter implements a port and is called by the use cases, not the other way round: implement the "+
			"interface in ports/%s and let bootstrap hand the adapter to the application", home)
		return v, true
	}
	if adapter && imp.module && imp.seg[0] == "adapters" && len(imp.seg) >= 2 && len(pkg.seg) >= 2 && imp.seg[1] != pkg.seg[1] {
		v.Rule = RuleAdaptersMeet
		v.Fix = fmt.Sprintf("adapters of different technologies meet only through ports: depend on the interface in ports/ that "+
			"adapters/%s implements, and let bootstrap wire it in", imp.seg[1])
		return v, true
	}
	if !pkg.group.AnyContext && imp.context != "" {
		switch {
		case pkg.context != "" && imp.context != pkg.context:
			v.Rule = RuleContextIsolation
			v.Problem = fmt.Sprintf("%s (context %q) imports %s (context %q)", pkg.rel, pkg.context, imp.path, imp.context)
			v.Fix = "contexts never import each other: declare what you need from the other context as a port in ports/shared " +
				"(like shared.ProjectGate), implement it in adapters/inproc, and wire it in bootstrap"
			return v, true
		case pkg.group.Shared:
			v.Rule = RuleContextIsolation
			v.Problem = fmt.Sprintf("%s, a shared kernel, imports %s of the %q context", pkg.rel, imp.path, imp.context)
			v.Fix = "the shared kernel is shared by every context and depends on none: move the code that needs this context into the context"
			return v, true
		case pkg.context == "":
			touched[imp.context] = true
			if len(touched) > 1 {
				v.Rule = RuleContextIsolation
				v.Problem = fmt.Sprintf("%s imports %s and so touches %d contexts (%s)", pkg.rel, imp.path, len(touched), strings.Join(sortedKeys(touched), ", "))
				v.Fix = fmt.Sprintf("only adapters/inproc touches two contexts: split this code into one package per context "+
					"(%s/<context>)", strings.Join(pkg.seg[:min(2, len(pkg.seg))], "/"))
				return v, true
			}
		}
	}
	if adapter && third {
		for _, lib := range libraries {
			if lib.matches(imp.path) && !lib.allowed(pkg.seg) {
				v.Rule = RuleLibraryPlacement
				v.Fix = fmt.Sprintf("%s is used in %s only; here, depend on a port and let the %s adapter implement it", lib.what, lib.home, lib.home)
				return v, true
			}
		}
	}
	return Violation{}, false
}

func (l library) matches(path string) bool {
	for _, p := range l.prefixes {
		if strings.HasPrefix(path, p) || path == strings.TrimSuffix(p, "/") {
			return true
		}
	}
	return false
}

// checkDeclarations keeps ports to declarations: interfaces, types and
// constants.
func checkDeclarations(r *Report, root string, fset *token.FileSet, info *pkgInfo, f *ast.File) {
	fix := "ports only declare what the core needs and offers; a rule belongs in domain/%s, an implementation in an adapter"
	home := info.context
	if home == "" {
		home = "kernel"
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Body == nil {
				continue
			}
			name := "func " + d.Name.Name
			if d.Recv != nil && len(d.Recv.List) == 1 {
				name = fmt.Sprintf("method %s.%s", exprString(d.Recv.List[0].Type), d.Name.Name)
			}
			r.add(Violation{
				Rule: RulePortsDeclare, Package: info.rel, Offender: name, Position: position(fset, root, d.Pos()),
				Problem: fmt.Sprintf("%s declares %s with a body", info.rel, name),
				Fix:     fmt.Sprintf(fix, home),
			})
		case *ast.GenDecl:
			if d.Tok != token.VAR {
				continue
			}
			for _, spec := range d.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					r.add(Violation{
						Rule: RulePortsDeclare, Package: info.rel, Offender: "var " + n.Name, Position: position(fset, root, n.Pos()),
						Problem: fmt.Sprintf("%s declares a package variable: var %s", info.rel, n.Name),
						Fix:     fmt.Sprintf("ports hold no state or values; sentinel errors and defaults belong in domain/%s", home),
					})
				}
			}
		}
	}
}

func exprString(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "(*" + exprString(t.X) + ")"
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return exprString(t.X)
	case *ast.IndexListExpr:
		return exprString(t.X)
	}
	return "?"
}

// checkScope checks with go/types the three rules that make a project's
// scope a capability: every method of a *Repository interface in ports/
// takes context.Context first and the scope second; no method of any
// interface in ports/ takes a bare kernel.ProjectID; and only the gate
// calls kernel.GrantProjectAccess.
func checkScope(ctx context.Context, r *Report, root string, env []string, exceptions map[string]string) error {
	fset := token.NewFileSet()
	pkgs, err := packages.Load(&packages.Config{
		Mode:    packages.NeedName | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax | packages.NeedFiles,
		Context: ctx, Dir: root, Env: env, Fset: fset,
	}, "./...")
	if err != nil {
		return fmt.Errorf("load packages with types: %w", err)
	}
	kernelPath := r.Module + "/domain/kernel"
	for _, p := range pkgs {
		if p.Types == nil {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.PkgPath, r.Module), "/")
		if strings.HasPrefix(rel, "ports/") {
			checkPortScopes(r, root, fset, p, rel, kernelPath, exceptions)
		}
		if rel != accessMinter && rel != "domain/kernel" && !strings.HasPrefix(rel, "test/") {
			checkMinting(r, root, fset, p, rel, kernelPath)
		}
	}
	return nil
}

func checkPortScopes(r *Report, root string, fset *token.FileSet, p *packages.Package, rel, kernelPath string, exceptions map[string]string) {
	context := strings.Split(rel, "/")[1]
	qual := func(pkg *types.Package) string { return pkg.Name() }
	scope := p.Types.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		iface, ok := tn.Type().Underlying().(*types.Interface)
		if !ok {
			continue
		}
		for i := range iface.NumMethods() {
			m := iface.Method(i)
			key := rel + "." + name + "." + m.Name()
			if _, ok := exceptions[key]; ok {
				continue
			}
			sig := m.Type().(*types.Signature)
			shown := rel + "." + name + "." + m.Name() + types.TypeString(sig, qual)[len("func"):]
			pos := position(fset, root, m.Pos())
			if strings.HasSuffix(name, "Repository") {
				if problem := repositoryScopeProblem(sig.Params(), kernelPath, callerScoped[context]); problem != "" {
					r.add(Violation{
						Rule: RuleRepositoryScope, Package: rel, Offender: name + "." + m.Name(), Position: pos,
						Problem: shown + " " + problem,
						Fix: "start the signature with (ctx context.Context, access kernel.ProjectAccess, ...) and put access.Project() in the " +
							"adapter's SQL WHERE, so that no query can run outside a project the gate granted. If this method truly must work " +
							"across scopes (a background sweeper, say), list " + strconv.Quote(key) + " with the reason in scopeExceptions in " +
							"test/architecture/architecture_test.go",
					})
				}
			}
			for j := range sig.Params().Len() {
				prm := sig.Params().At(j)
				if !isProjectID(prm.Type(), kernelPath) {
					continue
				}
				r.add(Violation{
					Rule: RuleScopeGranted, Package: rel, Offender: name + "." + m.Name(), Position: pos,
					Problem: shown + " takes a bare kernel.ProjectID (" + prm.Name() + "): any caller that can parse an id could call it",
					Fix: "take the kernel.ProjectAccess the project gate grants instead (access.Project() is the id), so that a path " +
						"that forgot to ask the gate does not compile. Only the gate's own questions take a bare id; they are listed " +
						"in scopeExceptions in test/architecture/architecture_test.go",
				})
				break
			}
		}
	}
}

// repositoryScopeProblem says what is wrong with a repository method's
// leading parameters, or "".
func repositoryScopeProblem(params *types.Tuple, kernelPath string, callerScoped bool) string {
	switch {
	case params.Len() == 0 || !isNamed(params.At(0).Type(), "context", "Context"):
		return "does not take context.Context as its first parameter"
	case params.Len() >= 2 && isNamed(params.At(1).Type(), kernelPath, "ProjectAccess"):
		return ""
	case params.Len() >= 2 && callerScoped && isNamed(params.At(1).Type(), kernelPath, "Subject"):
		return ""
	case callerScoped:
		return "does not take the scope as its second parameter: kernel.ProjectAccess, or kernel.Subject for the caller's own projects"
	}
	return "does not take the scope, kernel.ProjectAccess (the project the gate granted), as its second parameter"
}

// checkMinting reports every use of kernel.GrantProjectAccess outside the
// gate's package.
func checkMinting(r *Report, root string, fset *token.FileSet, p *packages.Package, rel, kernelPath string) {
	if p.TypesInfo == nil {
		return
	}
	for id, obj := range p.TypesInfo.Uses {
		fn, ok := obj.(*types.Func)
		if !ok || fn.Pkg() == nil || fn.Pkg().Path() != kernelPath || fn.Name() != "GrantProjectAccess" {
			continue
		}
		r.add(Violation{
			Rule: RuleAccessMinted, Package: rel, Offender: "kernel.GrantProjectAccess", Position: position(fset, root, id.Pos()),
			Problem: displayRel(rel) + " mints a kernel.ProjectAccess itself instead of asking the project gate",
			Fix: "take the access from where it was granted: the HTTP adapter's httpkit.Access(ctx), or shared.ProjectGate.Access " +
				"for other driving adapters. Only the gate (" + accessMinter + ") decides who may act in a project",
		})
	}
}

// isProjectID reports kernel.ProjectID, however it is declared (a named
// type, or an alias of the generic kernel.ID).
func isProjectID(t types.Type, kernelPath string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != kernelPath {
		return false
	}
	switch n.Obj().Name() {
	case "ProjectID":
		return true
	case "ID":
		args := n.TypeArgs()
		return args.Len() == 1 && isNamed(args.At(0), kernelPath, "ProjectKind")
	}
	return false
}

func isNamed(t types.Type, pkgPath, name string) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkgPath && n.Obj().Name() == name
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "        " + l
	}
	return strings.Join(lines, "\n")
}
