package inproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/scoped-api/foundation/adapters/inproc"
	memproject "github.com/scoped-api/foundation/adapters/memory/project"
	appproject "github.com/scoped-api/foundation/application/project"
	"github.com/scoped-api/foundation/domain/kernel"
	portsproject "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/test/testkit"
)

func TestProjectGateSeesOnlyTheOwnersLiveProjects(t *testing.T) {
	ctx := context.Background()
	svc := appproject.NewService(memproject.NewRepository(), testkit.NewClock(time.Now()), &testkit.IDs{})
	gate := inproc.NewProjectGate(svc)
	alice, _ := kernel.ParseSubject("alice")
	bob, _ := kernel.ParseSubject("bob")
	p, err := svc.CreateProject(ctx, alice, portsproject.CreateProject{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := gate.Visible(ctx, alice, p.ID()); err != nil {
		t.Fatalf("owner: %v", err)
	}
	if err := gate.Visible(ctx, bob, p.ID()); kernel.KindOf(err) != kernel.KindNotFound {
		t.Fatalf("other subject: %v", err)
	}
	if err := svc.DeleteProject(ctx, alice, p.ID()); err != nil {
		t.Fatal(err)
	}
	if err := gate.Visible(ctx, alice, p.ID()); kernel.KindOf(err) != kernel.KindNotFound {
		t.Fatalf("deleted project: %v", err)
	}
}
