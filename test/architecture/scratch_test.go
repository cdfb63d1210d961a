package architecture

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestBreakingTheRealTreeIsReported breaks the rules in a scratch copy of
// this repository, not in a fixture: each planted file must be reported,
// under its rule, and nothing else.
func TestBreakingTheRealTreeIsReported(t *testing.T) {
	t.Parallel()
	dir := testkit.CopyModule(t)
	const mod = "github.com/scoped-api/foundation"
	plant := map[string]string{
		"domain/project/planted.go":            "package project\n\nimport _ \"gorm.io/gorm\"\n",
		"adapters/postgres/project/planted.go": "package project\n\nimport _ \"" + mod + "/application/project\"\n",
		"adapters/http/project/planted.go":     "package project\n\nimport _ \"" + mod + "/adapters/postgres/project\"\n",
		"cmd/api/planted.go":                   "package main\n\nimport _ \"" + mod + "/adapters/postgres\"\n",
		"internal/util/util.go":                "// Package util is a package without a home.\npackage util\n",
		"ports/project/planted.go": "package project\n\nimport (\n\t\"context\"\n\n\t\"" + mod + "/domain/kernel\"\n)\n\n" +
			"// AuditRepository takes the project id a handler parsed, not the access the gate granted.\n" +
			"type AuditRepository interface {\n\tRecord(ctx context.Context, id kernel.ProjectID) error\n}\n",
		"application/operation/planted.go": "package operation\n\nimport \"" + mod + "/domain/kernel\"\n\n" +
			"// trusted lets anyone into any project without asking the gate.\n" +
			"func trusted(s kernel.Subject, p kernel.ProjectID) kernel.ProjectAccess { return kernel.GrantProjectAccess(s, p, kernel.AllPermissions) }\n\n" +
			"var _ = trusted\n",
	}
	for rel, src := range plant {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Check(t.Context(), dir, Config{ScopeExceptions: scopeExceptions})
	if err != nil {
		t.Fatal(err)
	}
	wants := []want{
		{RuleDomainPure, "domain/project", "gorm.io/gorm"},
		{RuleDrivenAdapters, "adapters/postgres/project", mod + "/application/project"},
		{RuleAdaptersMeet, "adapters/http/project", mod + "/adapters/postgres/project"},
		{RuleCmdImports, "cmd/api", mod + "/adapters/postgres"},
		{RuleMapped, "internal/util", "internal/util"},
		{RuleRepositoryScope, "ports/project", "AuditRepository.Record"},
		{RuleScopeGranted, "ports/project", "AuditRepository.Record"},
		{RuleAccessMinted, "application/operation", "kernel.GrantProjectAccess"},
	}
	found := map[int]bool{}
	for _, w := range wants {
		hit := false
		for i, v := range r.Violations {
			if v.Rule == w.rule && v.Package == w.pkg && v.Offender == w.offender {
				hit, found[i] = true, true
			}
		}
		if !hit {
			t.Errorf("breaking the tree did not report %s", w)
		}
	}
	for i, v := range r.Violations {
		if !found[i] {
			t.Errorf("unexpected violation:\n%s", v)
		}
	}
	t.Logf("%s", r)
}
