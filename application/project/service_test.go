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

type fixture struct {
	svc   *appproject.Service
	gate  *appproject.Gate
	repo  *memproject.Repository
	clock *testkit.Clock
}

func newFixture(ttl time.Duration) fixture {
	clock := testkit.NewClock(start)
	repo := memproject.NewRepository()
	gate := appproject.NewGate(repo, clock, appproject.GateSettings{CacheTTL: ttl, CacheEntries: 2})
	return fixture{svc: appproject.NewService(repo, gate, clock, &testkit.IDs{}), gate: gate, repo: repo, clock: clock}
}

func (f fixture) access(t *testing.T, who kernel.Subject, id kernel.ProjectID) kernel.ProjectAccess {
	t.Helper()
	a, err := f.gate.Access(ctx, who, id)
	if err != nil {
		t.Fatalf("gate refused %s on %s: %v", who, id, err)
	}
	return a
}

func TestCreateThenGetUnderTheOwnerOnly(t *testing.T) {
	f := newFixture(0)
	p, err := f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: " Apollo ", Description: "moon"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "Apollo" || !p.CreatedAt().Equal(start) {
		t.Fatalf("created %q at %v", p.Name(), p.CreatedAt())
	}
	got, err := f.svc.GetProject(ctx, f.access(t, alice, p.ID()))
	if err != nil || got.ID() != p.ID() {
		t.Fatalf("owner get = %v, %v", got, err)
	}
	if _, err := f.gate.Access(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("the gate let another subject in: %v, want not found", err)
	}
}

func TestCreateRefusesInvalidInputAndDuplicates(t *testing.T) {
	f := newFixture(0)
	if _, err := f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "  "}); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("blank name = %v", err)
	}
	if _, err := f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: " x "}); !errors.Is(err, project.ErrNameTaken) {
		t.Fatalf("duplicate = %v", err)
	}
	if _, err := f.svc.CreateProject(ctx, bob, appproject.CreateProject{Name: "x"}); err != nil {
		t.Fatalf("the same name under another owner = %v", err)
	}
}

func TestUseCasesRefuseAMissingCallerOrAccess(t *testing.T) {
	f := newFixture(0)
	var nobody kernel.Subject
	var none kernel.ProjectAccess
	id := kernel.ProjectIDFrom(must(kernel.ParseProjectID("0190a5d4-8a1c-7cc3-9d5e-2b2f0f8e3c11")).UUID())
	errs := []error{
		second(f.svc.CreateProject(ctx, nobody, appproject.CreateProject{Name: "x"})),
		second(f.svc.GetProject(ctx, none)),
		second(f.svc.ListProjects(ctx, nobody, appproject.ListProjects{Limit: 1})),
		second(f.svc.UpdateProject(ctx, none, appproject.UpdateProject{})),
		f.svc.DeleteProject(ctx, none, appproject.DeleteProject{}),
		second(f.gate.Access(ctx, nobody, id)),
		second(f.gate.Access(ctx, alice, kernel.ProjectID{})),
	}
	for i, err := range errs {
		if err == nil || kernel.KindOf(err) != kernel.KindUnknown {
			t.Errorf("call %d with no caller or access = %v, want an internal error", i, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestUpdateAndDelete(t *testing.T) {
	f := newFixture(0)
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "one"}))
	f.clock.Advance(time.Minute)
	name, desc := "two", "described"
	a := f.access(t, alice, p.ID())
	got, err := f.svc.UpdateProject(ctx, a, appproject.UpdateProject{Name: &name, Description: &desc})
	if err != nil || got.Name() != "two" || got.Description() != "described" || !got.UpdatedAt().Equal(start.Add(time.Minute)) {
		t.Fatalf("update = %+v, %v", got, err)
	}
	if err := f.svc.DeleteProject(ctx, a, appproject.DeleteProject{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Access(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("access after delete = %v", err)
	}
	// An access granted before the deletion reaches nothing.
	if _, err := f.svc.GetProject(ctx, a); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("get after delete = %v", err)
	}
	if err := f.svc.DeleteProject(ctx, a, appproject.DeleteProject{}); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	if _, err := f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "two"}); err != nil {
		t.Fatalf("a deleted project's name must be free again: %v", err)
	}
}

func TestListValidatesLimitAndPages(t *testing.T) {
	f := newFixture(0)
	for _, n := range []string{"a", "b", "c"} {
		must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: n}))
		f.clock.Advance(time.Second)
	}
	for _, limit := range []int{0, -1, kernel.MaxPageLimit + 1} {
		if _, err := f.svc.ListProjects(ctx, alice, appproject.ListProjects{Limit: limit}); kernel.KindOf(err) != kernel.KindInvalid {
			t.Errorf("limit %d = %v", limit, err)
		}
	}
	page := must(f.svc.ListProjects(ctx, alice, appproject.ListProjects{Limit: 2}))
	if len(page.Items) != 2 || page.Items[0].Project.Name() != "c" || page.Items[1].Project.Name() != "b" || page.Next == nil {
		t.Fatalf("first page = %v", names(page))
	}
	page = must(f.svc.ListProjects(ctx, alice, appproject.ListProjects{Limit: 2, Cursor: page.Next}))
	if len(page.Items) != 1 || page.Items[0].Project.Name() != "a" || page.Next != nil {
		t.Fatalf("second page = %v", names(page))
	}
	if page := must(f.svc.ListProjects(ctx, bob, appproject.ListProjects{Limit: 10})); len(page.Items) != 0 {
		t.Fatalf("bob sees %v", names(page))
	}
}

func names(p ports.Page) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it.Project.Name())
	}
	return out
}

// TestGateRemembersOnlyYesAndForgetsDeletions: a remembered yes is per
// caller, expires with the TTL, and a deletion on this instance is
// forgotten at once.
func TestGateRemembersOnlyYesAndForgetsDeletions(t *testing.T) {
	f := newFixture(time.Minute)
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "x"}))
	a := f.access(t, alice, p.ID())
	if _, err := f.gate.Access(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("a remembered yes for alice let bob in: %v", err)
	}
	// Deleted behind the gate's back (another instance): remembered until the TTL.
	other := appproject.NewService(f.repo, appproject.NewGate(f.repo, f.clock, appproject.GateSettings{}), f.clock, &testkit.IDs{})
	if err := other.DeleteProject(ctx, a, appproject.DeleteProject{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Access(ctx, alice, p.ID()); err != nil {
		t.Fatalf("within the TTL the remembered yes stands: %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.gate.Access(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("after the TTL the gate asks again: %v", err)
	}
	// Deleted through this instance's service: forgotten at once.
	q := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "y"}))
	if err := f.svc.DeleteProject(ctx, f.access(t, alice, q.ID()), appproject.DeleteProject{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Access(ctx, alice, q.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("a project deleted on this instance is still granted: %v", err)
	}
	// Full of live answers (capacity 2), the cache starts over instead of growing.
	for i := range 5 {
		r := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "p" + string(rune('a'+i))}))
		f.access(t, alice, r.ID())
	}
}

func TestGateWithoutTTLAsksEveryTime(t *testing.T) {
	f := newFixture(0)
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "x"}))
	a := f.access(t, alice, p.ID())
	other := appproject.NewService(f.repo, appproject.NewGate(f.repo, f.clock, appproject.GateSettings{}), f.clock, &testkit.IDs{})
	if err := other.DeleteProject(ctx, a, appproject.DeleteProject{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Access(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("a zero TTL remembered: %v", err)
	}
}

func TestConstructorsPanicOnMissingDependency(t *testing.T) {
	for name, build := range map[string]func(){
		"service": func() { appproject.NewService(nil, nil, testkit.NewClock(start), &testkit.IDs{}) },
		"gate":    func() { appproject.NewGate(nil, testkit.NewClock(start), appproject.GateSettings{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with a nil dependency must panic", name)
				}
			}()
			build()
		}()
	}
}

// TestUpdateAndDeleteHonourTheExpectedVersion: a write that names a
// version other than the stored one changes nothing; one that names the
// stored version applies and moves it.
func TestUpdateAndDeleteHonourTheExpectedVersion(t *testing.T) {
	f := newFixture(0)
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "one"}))
	a := f.access(t, alice, p.ID())
	two, three := "two", "three"
	got, err := f.svc.UpdateProject(ctx, a, appproject.UpdateProject{Name: &two, Expected: kernel.ExpectVersion(p.Version())})
	if err != nil || got.Version() != p.Version()+1 || got.Name() != "two" {
		t.Fatalf("update at the stored version: %+v, %v", got, err)
	}
	stale := kernel.ExpectVersion(p.Version())
	if _, err := f.svc.UpdateProject(ctx, a, appproject.UpdateProject{Name: &three, Expected: stale}); !errors.Is(err, kernel.ErrVersionMismatch) {
		t.Fatalf("update at a stale version: %v", err)
	}
	if err := f.svc.DeleteProject(ctx, a, appproject.DeleteProject{Expected: stale}); !errors.Is(err, kernel.ErrVersionMismatch) {
		t.Fatalf("delete at a stale version: %v", err)
	}
	now, err := f.svc.GetProject(ctx, a)
	if err != nil || now.Name() != "two" || now.Version() != got.Version() {
		t.Fatalf("after refused writes: %+v, %v", now, err)
	}
	if err := f.svc.DeleteProject(ctx, a, appproject.DeleteProject{Expected: kernel.ExpectVersion(got.Version())}); err != nil {
		t.Fatalf("delete at the stored version: %v", err)
	}
}
