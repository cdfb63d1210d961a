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

func TestCachedProjectGateRemembersOnlyYesAndForgetsDeletions(t *testing.T) {
	ctx := context.Background()
	cache := inproc.NewVisibilityCache(time.Hour, 2)
	svc := inproc.NewForgetDeleted(appproject.NewService(memproject.NewRepository(), testkit.NewClock(time.Now()), &testkit.IDs{}), cache)
	gate := inproc.NewCachedProjectGate(svc, cache)
	alice, _ := kernel.ParseSubject("alice")
	bob, _ := kernel.ParseSubject("bob")
	p, err := svc.CreateProject(ctx, alice, portsproject.CreateProject{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := gate.Visible(ctx, alice, p.ID()); err != nil {
		t.Fatalf("owner: %v", err)
	}
	// A cached yes for alice is not a yes for bob.
	if err := gate.Visible(ctx, bob, p.ID()); kernel.KindOf(err) != kernel.KindNotFound {
		t.Fatalf("other subject: %v", err)
	}
	if err := svc.DeleteProject(ctx, alice, p.ID()); err != nil {
		t.Fatal(err)
	}
	if err := gate.Visible(ctx, alice, p.ID()); kernel.KindOf(err) != kernel.KindNotFound {
		t.Fatalf("deleted project still visible through the cache: %v", err)
	}
	// Full of live answers, the cache starts over instead of growing.
	for i := range 5 {
		q, err := svc.CreateProject(ctx, alice, portsproject.CreateProject{Name: "p" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		if err := gate.Visible(ctx, alice, q.ID()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUncachedGateAsksEveryTime(t *testing.T) {
	ctx := context.Background()
	inner := appproject.NewService(memproject.NewRepository(), testkit.NewClock(time.Now()), &testkit.IDs{})
	gate := inproc.NewCachedProjectGate(inner, inproc.NewVisibilityCache(0, 10))
	alice, _ := kernel.ParseSubject("alice")
	p, _ := inner.CreateProject(ctx, alice, portsproject.CreateProject{Name: "x"})
	if err := gate.Visible(ctx, alice, p.ID()); err != nil {
		t.Fatal(err)
	}
	// Deleted behind the gate's back: with a zero TTL nothing was remembered.
	if err := inner.DeleteProject(ctx, alice, p.ID()); err != nil {
		t.Fatal(err)
	}
	if err := gate.Visible(ctx, alice, p.ID()); kernel.KindOf(err) != kernel.KindNotFound {
		t.Fatalf("a zero TTL remembered: %v", err)
	}
}
