package project_test

import (
	"context"
	"errors"
	"testing"
	"time"

	memproject "github.com/scoped-api/foundation/adapters/memory/project"
	appproject "github.com/scoped-api/foundation/application/project"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/test/testkit"
)

var (
	ctx   = context.Background()
	alice = must(kernel.ParseSubject("alice"))
	bob   = must(kernel.ParseSubject("bob"))
	start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newService() (*appproject.Service, *testkit.Clock) {
	clock := testkit.NewClock(start)
	return appproject.NewService(memproject.NewRepository(), clock, &testkit.IDs{}), clock
}

func TestCreateThenGetUnderTheOwnerOnly(t *testing.T) {
	svc, _ := newService()
	p, err := svc.CreateProject(ctx, alice, ports.CreateProject{Name: " Apollo ", Description: "moon"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "Apollo" || !p.CreatedAt().Equal(start) {
		t.Fatalf("created %q at %v", p.Name(), p.CreatedAt())
	}
	got, err := svc.GetProject(ctx, alice, p.ID())
	if err != nil || got.ID() != p.ID() {
		t.Fatalf("owner get = %v, %v", got, err)
	}
	if _, err := svc.GetProject(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("another subject's get = %v, want not found", err)
	}
}

func TestCreateRefusesInvalidInputAndDuplicates(t *testing.T) {
	svc, _ := newService()
	if _, err := svc.CreateProject(ctx, alice, ports.CreateProject{Name: "  "}); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("blank name = %v", err)
	}
	if _, err := svc.CreateProject(ctx, alice, ports.CreateProject{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProject(ctx, alice, ports.CreateProject{Name: " x "}); !errors.Is(err, project.ErrNameTaken) {
		t.Fatalf("duplicate = %v", err)
	}
	if _, err := svc.CreateProject(ctx, bob, ports.CreateProject{Name: "x"}); err != nil {
		t.Fatalf("the same name under another owner = %v", err)
	}
}

func TestUseCasesRefuseAMissingOwner(t *testing.T) {
	svc, _ := newService()
	var nobody kernel.Subject
	id := kernel.ProjectIDFrom(must(kernel.ParseUUID("id", "0190a5d4-8a1c-7cc3-9d5e-2b2f0f8e3c11")))
	errs := []error{
		second(svc.CreateProject(ctx, nobody, ports.CreateProject{Name: "x"})),
		second(svc.GetProject(ctx, nobody, id)),
		second(svc.ListProjects(ctx, nobody, ports.ListProjects{Limit: 1})),
		second(svc.UpdateProject(ctx, nobody, id, ports.UpdateProject{})),
		svc.DeleteProject(ctx, nobody, id),
	}
	for i, err := range errs {
		if err == nil || kernel.KindOf(err) != kernel.KindUnknown {
			t.Errorf("use case %d with no owner = %v, want an internal error", i, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestUpdateAndDelete(t *testing.T) {
	svc, clock := newService()
	p := must(svc.CreateProject(ctx, alice, ports.CreateProject{Name: "one"}))
	clock.Advance(time.Minute)
	name, desc := "two", "described"
	got, err := svc.UpdateProject(ctx, alice, p.ID(), ports.UpdateProject{Name: &name, Description: &desc})
	if err != nil || got.Name() != "two" || got.Description() != "described" || !got.UpdatedAt().Equal(start.Add(time.Minute)) {
		t.Fatalf("update = %+v, %v", got, err)
	}
	if _, err := svc.UpdateProject(ctx, bob, p.ID(), ports.UpdateProject{Name: &name}); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("update by another subject = %v", err)
	}
	if err := svc.DeleteProject(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("delete by another subject = %v", err)
	}
	if err := svc.DeleteProject(ctx, alice, p.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetProject(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("get after delete = %v", err)
	}
	if err := svc.DeleteProject(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	if _, err := svc.CreateProject(ctx, alice, ports.CreateProject{Name: "two"}); err != nil {
		t.Fatalf("a deleted project's name must be free again: %v", err)
	}
}

func TestListValidatesLimitAndPages(t *testing.T) {
	svc, clock := newService()
	for _, n := range []string{"a", "b", "c"} {
		must(svc.CreateProject(ctx, alice, ports.CreateProject{Name: n}))
		clock.Advance(time.Second)
	}
	for _, limit := range []int{0, -1, kernel.MaxPageLimit + 1} {
		if _, err := svc.ListProjects(ctx, alice, ports.ListProjects{Limit: limit}); kernel.KindOf(err) != kernel.KindInvalid {
			t.Errorf("limit %d = %v", limit, err)
		}
	}
	page := must(svc.ListProjects(ctx, alice, ports.ListProjects{Limit: 2}))
	if len(page.Items) != 2 || page.Items[0].Name() != "c" || page.Items[1].Name() != "b" || page.Next == nil {
		t.Fatalf("first page = %v", names(page))
	}
	page = must(svc.ListProjects(ctx, alice, ports.ListProjects{Limit: 2, Cursor: page.Next}))
	if len(page.Items) != 1 || page.Items[0].Name() != "a" || page.Next != nil {
		t.Fatalf("second page = %v", names(page))
	}
	if page := must(svc.ListProjects(ctx, bob, ports.ListProjects{Limit: 10})); len(page.Items) != 0 {
		t.Fatalf("bob sees %v", names(page))
	}
}

func names(p ports.Page) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it.Name())
	}
	return out
}

func TestNewServicePanicsOnMissingDependency(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewService with a nil repository must panic")
		}
	}()
	appproject.NewService(nil, testkit.NewClock(start), &testkit.IDs{})
}
