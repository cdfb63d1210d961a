package architecture

import (
	"strings"
	"testing"
)

// TestGroupsOfPackagesToCome maps the packages the next issues add (and
// some that must never appear) without waiting for them to exist.
func TestGroupsOfPackagesToCome(t *testing.T) {
	cases := map[string]string{
		"domain/kernel":                    "domain-kernel",
		"domain/operation":                 "domain",
		"domain/operation/progress":        "domain",
		"ports/shared":                     "ports-shared",
		"ports/operation":                  "ports",
		"application/shared":               "application-shared",
		"application/operation":            "application",
		"adapters/http":                    "driving-adapters",
		"adapters/http/operation":          "driving-adapters",
		"adapters/http/middleware":         "driving-adapters",
		"adapters/worker/operation":        "driving-adapters",
		"adapters/inproc":                  "inproc",
		"adapters/postgres/operation":      "driven-adapters",
		"adapters/memory/operation":        "driven-adapters",
		"adapters/redis":                   "driven-adapters",
		"adapters/redis/operation":         "driven-adapters",
		"adapters/observability":           "driven-adapters",
		"adapters/observability/telemetry": "driven-adapters",
		"bootstrap":                        "bootstrap",
		"cmd/api":                          "cmd",
		"cmd/newcontext":                   "cmd",
		"test/e2e":                         "test",
		"test/architecture":                "test",
		// Unmapped: each must fail the check with directions.
		"":              "",
		"internal/util": "",
		"pkg/common":    "",
		"adapters":      "",
		"adapters/grpc": "",
		"domain":        "",
		"cmd":           "",
	}
	for rel, want := range cases {
		matched := matchGroups(Groups, rel)
		switch {
		case want == "" && len(matched) != 0:
			t.Errorf("%q should be unmapped, but %s claims it", rel, matched[0].Name)
		case want == "" && whereItGoes(rel) == "":
			t.Errorf("%q is unmapped and the report must say where such code goes", rel)
		case want != "" && len(matched) != 1:
			t.Errorf("%q matches %d groups, want exactly one (%s)", rel, len(matched), want)
		case want != "" && matched[0].Name != want:
			t.Errorf("%q is in group %s, want %s", rel, matched[0].Name, want)
		}
	}
}

// TestOverlappingGroupsAreReported: "exactly one group" is checked, not assumed.
func TestOverlappingGroupsAreReported(t *testing.T) {
	everything := Group{Name: "everything", Layer: LayerTest, match: func([]string) bool { return true }}
	r, err := Check(t.Context(), fixtureModule(t, "ports-import-gin"), Config{Env: fixtureEnv, Groups: append(append([]Group{}, Groups...), everything)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Violations) != 1 || r.Violations[0].Rule != RuleMapped || !strings.Contains(r.Violations[0].Problem, "matches 2 rule groups (ports, everything)") {
		t.Fatalf("want one every-package-mapped violation for ports/note, got:\n%s", r)
	}
}

// TestScopeExceptionsAreHonoured: a method listed by name is let through,
// and only that one.
func TestScopeExceptionsAreHonoured(t *testing.T) {
	exceptions := map[string]string{"ports/note.Repository.Get": "fixture: a cross-project lookup"}
	r, err := Check(t.Context(), fixtureModule(t, "repository-without-scope"), Config{Env: fixtureEnv, ScopeExceptions: exceptions})
	if err != nil {
		t.Fatal(err)
	}
	var offenders []string
	for _, v := range r.Violations {
		offenders = append(offenders, v.Offender)
	}
	if got := strings.Join(offenders, ","); got != "Repository.Count,ArchiveRepository.Archive" && got != "ArchiveRepository.Archive,Repository.Count" {
		t.Fatalf("with Repository.Get excepted, want Count and Archive reported, got %q:\n%s", got, r)
	}
}

func TestCleanReportSaysSo(t *testing.T) {
	r := &Report{Packages: map[string]string{"domain/kernel": "domain-kernel"}}
	if got := r.String(); got != "1 packages, no violations" {
		t.Fatalf("clean report = %q", got)
	}
}
