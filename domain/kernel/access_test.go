package kernel_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
)

func TestPermissionsAndTheAccessThatCarriesThem(t *testing.T) {
	names := kernel.PermissionNames()
	if len(names) != 14 {
		t.Fatalf("%d permissions: %v", len(names), names)
	}
	for _, n := range names {
		p, ok := kernel.ParsePermission(n)
		if !ok || p.String() != n {
			t.Errorf("%q parses to %v (%v)", n, p, ok)
		}
	}
	if _, ok := kernel.ParsePermission("operations:*"); ok {
		t.Error("a wildcard parsed")
	}
	sub, _ := kernel.ParseSubject("alice")
	a := kernel.GrantProjectAccess(sub, kernel.ProjectIDFrom(uuid.New()), kernel.ReadProject|kernel.ReportProgress)
	if !a.Allows(kernel.ReadProject) || !a.Allows(kernel.ReadProject|kernel.ReportProgress) || a.Allows(kernel.ReadProject|kernel.DeleteProject) {
		t.Fatal("Allows does not check every permission asked for")
	}
	if a.Require(kernel.ReportProgress) != nil || !errors.Is(a.Require(kernel.DeleteProject), kernel.ErrForbidden) ||
		kernel.KindOf(a.Require(kernel.DeleteProject)) != kernel.KindForbidden {
		t.Fatal("Require")
	}
	if (kernel.ProjectAccess{}).Allows(0) {
		t.Fatal("the zero access allows something")
	}
	if got := a.Permissions().Names(); len(got) != 2 || got[0] != "project:read" || got[1] != "operations:report" {
		t.Fatalf("names = %v", got)
	}
}
