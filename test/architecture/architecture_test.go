package architecture

import (
	"testing"

	"github.com/scoped-api/foundation/test/testkit"
)

// scopeExceptions lists, by name, the port methods that may take no scope
// or a bare project id, each with its reason:
// "ports/<context>.<Interface>.<Method>". Keep it short: every entry is a
// question asked before any access exists.
var scopeExceptions = map[string]string{
	"ports/shared.ProjectGate.Access": "the gate itself: it turns a caller and a bare id into the access every other method takes",
	"ports/project.Repository.Role":   "the gate's question to the project context: the role it turns into an access",
	"ports/project.Repository.Key":    "the key authenticator's question: which key a presented token names, before any access exists",
}

// moduleRoot is the repository this test belongs to.
func moduleRoot(t *testing.T) string { return testkit.ModuleRoot(t) }

// TestArchitecture checks the module itself: it builds, every package is
// in exactly one group, and no rule is broken.
func TestArchitecture(t *testing.T) {
	t.Parallel()
	r, err := Check(t.Context(), moduleRoot(t), Config{ScopeExceptions: scopeExceptions})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Violations) > 0 {
		t.Fatal(r.String())
	}
	// The check must have seen the module: a checker that looks at nothing
	// passes everything.
	for _, pkg := range []string{"domain/kernel", "domain/project", "ports/project", "application/project",
		"adapters/postgres/project", "adapters/http/project", "bootstrap", "cmd/api"} {
		if g, ok := r.Packages[pkg]; !ok || g == "" {
			t.Errorf("package %s was not checked (group %q)", pkg, g)
		}
	}
	t.Log(r.String())
}
