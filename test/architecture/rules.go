// Package architecture checks the layer rules of STYLE.md ("Import rules")
// against every package of a module: it maps each package to exactly one
// group, checks each import against the rules below, and checks with
// go/types that every repository method takes its scope, that no port
// takes a bare project id and that only the gate mints project access.
//
// The rules are data in this file; docs/architecture.md explains them and
// testdata/ holds one planted violation per rule, which the tests prove
// are reported.
package architecture

import "strings"

// Rule names, as they appear in reports and in testdata/*/WANT.
const (
	RuleBuild              = "build"
	RuleMapped             = "every-package-mapped"
	RuleDomainPure         = "domain-is-pure"
	RulePortsImports       = "ports-import-domain-only"
	RulePortsDeclare       = "ports-declare-only"
	RuleApplicationImports = "application-imports-core-only"
	RuleDrivenAdapters     = "driven-adapters-never-import-application"
	RuleContextIsolation   = "context-isolation"
	RuleAdaptersMeet       = "adapters-meet-in-bootstrap"
	RuleLibraryPlacement   = "library-placement"
	RuleCmdImports         = "cmd-imports-bootstrap-only"
	RuleBootstrapImporters = "only-cmd-imports-bootstrap"
	RuleNoTestCode         = "no-test-code-in-production"
	RuleTestsKeepFxOut     = "unit-tests-keep-fx-out"
	RuleRepositoryScope    = "repository-scope"
	RuleScopeGranted       = "project-scope-is-granted"
	RuleAccessMinted       = "access-minted-by-gate"
)

// Rules says in one sentence what each rule protects. Every rule listed
// here must have a planted violation in testdata/.
var Rules = map[string]string{
	RuleBuild:              "`go build ./...` succeeds and every package loads; rules about code that does not compile prove nothing.",
	RuleMapped:             "every package belongs to exactly one group (domain, ports, application, an adapter technology, bootstrap, cmd, test).",
	RuleDomainPure:         "domain/** imports only the standard library, github.com/google/uuid and domain/**.",
	RulePortsImports:       "ports/** imports only the standard library, github.com/google/uuid, domain/** and ports/**.",
	RulePortsDeclare:       "ports/** declares interfaces, types and constants: no function bodies, no package variables.",
	RuleApplicationImports: "application/** imports only the standard library, domain/**, ports/** and application/**: no adapter, no third-party module.",
	RuleDrivenAdapters:     "only driving adapters (adapters/http, adapters/inproc, adapters/worker) import application/**; driven adapters implement ports.",
	RuleContextIsolation:   "a package of context A never imports a package of context B; only adapters/inproc and bootstrap touch two contexts.",
	RuleAdaptersMeet:       "an adapter never imports an adapter of another technology; bootstrap wires them together through ports.",
	RuleLibraryPlacement:   "GORM and SQL drivers only in adapters/postgres, gin and huma only in adapters/http, go-redis only in adapters/redis, fx only in bootstrap and cmd.",
	RuleCmdImports:         "cmd/** imports only the standard library, bootstrap and fx.",
	RuleBootstrapImporters: "nothing but cmd/** and test/** imports bootstrap.",
	RuleNoTestCode:         "production code never imports test/**.",
	RuleTestsKeepFxOut:     "unit tests (outside bootstrap, cmd and test/) import neither fx nor bootstrap: tests that boot the app are end-to-end tests in test/e2e.",
	RuleRepositoryScope:    "every method of a *Repository interface in ports/ takes context.Context first and the scope second: kernel.ProjectAccess (in the project context, kernel.Subject for the caller's own projects).",
	RuleScopeGranted:       "no method of an interface in ports/ takes a bare kernel.ProjectID: project-scoped methods take the kernel.ProjectAccess the gate grants; the gate's own questions are listed exceptions.",
	RuleAccessMinted:       "kernel.GrantProjectAccess is called only by the project gate (application/project); everything else receives the access it grants.",
}

// Layer is the ring of the hexagon a group belongs to.
type Layer string

// Layers, from the inside out.
const (
	LayerDomain      Layer = "domain"
	LayerPorts       Layer = "ports"
	LayerApplication Layer = "application"
	LayerDriving     Layer = "driving adapter"
	LayerDriven      Layer = "driven adapter"
	LayerBootstrap   Layer = "bootstrap"
	LayerCmd         Layer = "cmd"
	LayerTest        Layer = "test"
)

// Group is one rule group: a set of packages, described by a path pattern,
// that the same rules apply to.
type Group struct {
	Name    string
	Layer   Layer
	Pattern string // for people; match decides
	// Shared marks the shared kernel of a layer (domain/kernel,
	// ports/shared, application/shared): it belongs to no context and may
	// import none.
	Shared bool
	// AnyContext marks groups that may touch several contexts.
	AnyContext bool
	match      func(seg []string) bool
}

// drivingTechs are the adapter technologies that call the use cases.
var drivingTechs = map[string]string{
	"http":   "gin + huma: the REST API and its OpenAPI document",
	"inproc": "anti-corruption adapters: the one place one context calls another",
	"worker": "background workers that drive use cases",
}

// drivenTechs are the adapter technologies that implement ports.
var drivenTechs = map[string]string{
	"postgres":      "GORM on PostgreSQL and SQLite, with the migrations",
	"memory":        "in-memory implementations of the ports",
	"redis":         "go-redis: events",
	"auth":          "token verification",
	"system":        "clock and identifier sources",
	"observability": "OpenTelemetry: traces, metrics and the slow-statement log",
}

// Groups is the complete map of the module. Every package must match
// exactly one group.
var Groups = []Group{
	{Name: "domain-kernel", Layer: LayerDomain, Pattern: "domain/kernel", Shared: true,
		match: func(s []string) bool { return len(s) == 2 && s[0] == "domain" && s[1] == "kernel" }},
	{Name: "domain", Layer: LayerDomain, Pattern: "domain/<context>/...",
		match: func(s []string) bool { return len(s) >= 2 && s[0] == "domain" && s[1] != "kernel" }},
	{Name: "ports-shared", Layer: LayerPorts, Pattern: "ports/shared", Shared: true,
		match: func(s []string) bool { return len(s) == 2 && s[0] == "ports" && s[1] == "shared" }},
	{Name: "ports", Layer: LayerPorts, Pattern: "ports/<context>/...",
		match: func(s []string) bool { return len(s) >= 2 && s[0] == "ports" && s[1] != "shared" }},
	{Name: "application-shared", Layer: LayerApplication, Pattern: "application/shared", Shared: true,
		match: func(s []string) bool { return len(s) == 2 && s[0] == "application" && s[1] == "shared" }},
	{Name: "application", Layer: LayerApplication, Pattern: "application/<context>/...",
		match: func(s []string) bool { return len(s) >= 2 && s[0] == "application" && s[1] != "shared" }},
	{Name: "driving-adapters", Layer: LayerDriving, Pattern: "adapters/{http,worker}/...",
		match: func(s []string) bool {
			return len(s) >= 2 && s[0] == "adapters" && s[1] != "inproc" && drivingTechs[s[1]] != ""
		}},
	{Name: "inproc", Layer: LayerDriving, Pattern: "adapters/inproc/...", AnyContext: true,
		match: func(s []string) bool { return len(s) >= 2 && s[0] == "adapters" && s[1] == "inproc" }},
	{Name: "driven-adapters", Layer: LayerDriven, Pattern: "adapters/{postgres,memory,redis,auth,system,observability}/...",
		match: func(s []string) bool { return len(s) >= 2 && s[0] == "adapters" && drivenTechs[s[1]] != "" }},
	{Name: "bootstrap", Layer: LayerBootstrap, Pattern: "bootstrap/...", AnyContext: true,
		match: func(s []string) bool { return len(s) >= 1 && s[0] == "bootstrap" }},
	{Name: "cmd", Layer: LayerCmd, Pattern: "cmd/<program>/...",
		match: func(s []string) bool { return len(s) >= 2 && s[0] == "cmd" }},
	{Name: "test", Layer: LayerTest, Pattern: "test/...", AnyContext: true,
		match: func(s []string) bool { return len(s) >= 1 && s[0] == "test" }},
}

// whereItGoes explains, for a package no group claims, where code of
// that kind belongs.
func whereItGoes(rel string) string {
	seg := strings.Split(rel, "/")
	switch {
	case rel == "":
		return "the module root holds no Go code; put programs in cmd/<name> and everything else in a layer"
	case seg[0] == "adapters" && len(seg) == 1:
		return "adapters/ holds one directory per technology, adapters/<tech>/<context>; it has no code of its own"
	case seg[0] == "adapters":
		return "\"" + seg[1] + "\" is not a known adapter technology. Driving adapters (they call use cases) live in " +
			"adapters/http, adapters/inproc or adapters/worker; driven adapters (they implement ports) in adapters/postgres, " +
			"adapters/memory, adapters/redis, adapters/auth, adapters/system or adapters/observability. " +
			"If this is a new technology, add it to drivingTechs or drivenTechs in test/architecture/rules.go"
	case seg[0] == "domain" || seg[0] == "ports" || seg[0] == "application":
		return seg[0] + "/ holds one package per bounded context (" + seg[0] + "/<context>) and its shared kernel; it has no code of its own"
	case seg[0] == "cmd":
		return "each program gets its own directory, cmd/<name>, whose main only calls bootstrap"
	default:
		return "the module's top level is domain/, ports/, application/, adapters/, bootstrap/, cmd/ and test/ only. " +
			"Business rules go to domain/<context>, interfaces to ports/<context>, use cases to application/<context>, " +
			"technology to adapters/<tech>/<context>, wiring to bootstrap/, programs to cmd/<name>, test helpers to test/. " +
			"A shared \"common\" or \"util\" package is what STYLE.md asks us to avoid"
	}
}

// library is a family of third-party modules that lives in one place only.
type library struct {
	what     string
	prefixes []string
	home     string
	allowed  func(seg []string) bool
}

// libraries says where each framework may be imported (STYLE.md import
// rule 6). Domain, ports and application may import no third-party module
// at all but uuid, and cmd only fx; their own rules report that. zap and
// OpenTelemetry are allowed in every adapter and in bootstrap, which is
// everything the layer rules leave, so they need no entry here.
var libraries = []library{
	{
		what:     "GORM and the SQL drivers",
		prefixes: []string{"gorm.io/", "github.com/glebarez/", "github.com/jackc/pgx", "github.com/pressly/goose", "modernc.org/sqlite", "github.com/lib/pq"},
		home:     "adapters/postgres",
		allowed:  func(s []string) bool { return under(s, "adapters", "postgres") },
	},
	{
		what:     "gin and huma",
		prefixes: []string{"github.com/gin-gonic/", "github.com/gin-contrib/", "github.com/danielgtaylor/huma/"},
		home:     "adapters/http",
		allowed:  func(s []string) bool { return under(s, "adapters", "http") },
	},
	{
		what:     "go-redis",
		prefixes: []string{"github.com/redis/go-redis/"},
		home:     "adapters/redis",
		allowed:  func(s []string) bool { return under(s, "adapters", "redis") },
	},
	{
		what:     "fx",
		prefixes: []string{"go.uber.org/fx", "go.uber.org/dig"},
		home:     "bootstrap (and cmd)",
		allowed:  func(s []string) bool { return under(s, "bootstrap") || under(s, "cmd") },
	},
}

// callerScoped lists the contexts whose repositories may also be scoped by
// the caller (kernel.Subject): only the project context itself, which
// creates and lists the caller's projects.
var callerScoped = map[string]bool{"project": true}

// accessMinter is the one package that may call kernel.GrantProjectAccess:
// the project context's gate.
const accessMinter = "application/project"

// under reports whether seg starts with prefix.
func under(seg []string, prefix ...string) bool {
	if len(seg) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		if seg[i] != p {
			return false
		}
	}
	return true
}

// isStandard reports whether an import path belongs to the standard
// library: its first element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

const uuidModule = "github.com/google/uuid"
