// Package contract runs one suite per port against every adapter of it.
package contract

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	memproject "github.com/scoped-api/foundation/adapters/memory/project"
	pgproject "github.com/scoped-api/foundation/adapters/postgres/project"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/test/testkit"
)

// projectRepositories builds a fresh, empty repository of every adapter.
var projectRepositories = map[string]func(t *testing.T) ports.Repository{
	"memory": func(*testing.T) ports.Repository { return memproject.NewRepository() },
	"sqlite": func(t *testing.T) ports.Repository {
		return pgproject.NewRepository(testkit.OpenMigrated(t, testkit.NewSQLiteURL(t), pgproject.Migrations()))
	},
	"postgres": func(t *testing.T) ports.Repository {
		return pgproject.NewRepository(testkit.OpenMigrated(t, testkit.NewPostgresDatabase(t), pgproject.Migrations()))
	},
}

var (
	ctx   = context.Background()
	alice = mustSubject("alice")
	bob   = mustSubject("bob")
	t0    = time.Date(2026, 11, 25, 9, 0, 0, 123456000, time.UTC)
)

func mustSubject(s string) kernel.Subject {
	sub, err := kernel.ParseSubject(s)
	if err != nil {
		panic(err)
	}
	return sub
}

func newProject(t *testing.T, owner kernel.Subject, name string, at time.Time) *project.Project {
	t.Helper()
	p, err := project.New(kernel.ProjectIDFrom(uuid.Must(uuid.NewV7())), owner, name, "about "+name, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func add(t *testing.T, repo ports.Repository, p *project.Project) *project.Project {
	t.Helper()
	if err := repo.Add(ctx, p.Owner(), p); err != nil {
		t.Fatalf("add %q: %v", p.Name(), err)
	}
	return p
}

// grant mints the access the gate would: the suite tests the repository's
// own filters, so it holds accesses the gate would refuse too.
func grant(who kernel.Subject, id kernel.ProjectID) kernel.ProjectAccess {
	return kernel.GrantProjectAccess(who, id)
}

func TestProjectRepository(t *testing.T) {
	for name, newRepo := range projectRepositories {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, c := range projectCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, newRepo(t)) })
			}
		})
	}
}

var projectCases = []struct {
	name string
	run  func(t *testing.T, repo ports.Repository)
}{
	{"visible answers for the owner's live projects only", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "seen", t0))
		if err := repo.Visible(ctx, alice, p.ID()); err != nil {
			t.Fatalf("owner: %v", err)
		}
		for who, id := range map[kernel.Subject]kernel.ProjectID{bob: p.ID(), alice: kernel.ProjectIDFrom(uuid.New())} {
			if err := repo.Visible(ctx, who, id); !errors.Is(err, project.ErrNotFound) {
				t.Fatalf("%s on %s: %v, want not found", who, id, err)
			}
		}
		if _, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error { return p.Delete(t0) }); err != nil {
			t.Fatal(err)
		}
		if err := repo.Visible(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
	}},
	{"get returns exactly what was added", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "Apollo", t0))
		got, err := repo.Get(ctx, grant(alice, p.ID()))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID() != p.ID() || got.Owner() != alice || got.Name() != "Apollo" || got.Description() != "about Apollo" ||
			!got.CreatedAt().Equal(p.CreatedAt()) || !got.UpdatedAt().Equal(p.UpdatedAt()) || got.DeletedAt() != nil {
			t.Fatalf("got %+v, want %+v", got, p)
		}
		if got.CreatedAt().Location() != time.UTC {
			t.Fatalf("times must come back in UTC, got %v", got.CreatedAt().Location())
		}
	}},
	{"another owner's project is not found", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "secret", t0))
		if _, err := repo.Get(ctx, grant(bob, p.ID())); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("bob get = %v", err)
		}
		_, err := repo.Update(ctx, grant(bob, p.ID()), func(*project.Project) error {
			t.Error("fn must not run for another owner's project")
			return nil
		})
		if !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("bob update = %v", err)
		}
		page, err := repo.List(ctx, bob, ports.ListQuery{Limit: 10})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("bob list = %d items, %v", len(page.Items), err)
		}
	}},
	{"a missing project is not found", func(t *testing.T, repo ports.Repository) {
		if _, err := repo.Get(ctx, grant(alice, kernel.ProjectIDFrom(uuid.New()))); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("get = %v", err)
		}
	}},
	{"add refuses a project of another owner than the scope", func(t *testing.T, repo ports.Repository) {
		p := newProject(t, alice, "x", t0)
		if err := repo.Add(ctx, bob, p); err == nil {
			t.Fatal("add under the wrong scope succeeded")
		}
		if _, err := repo.Get(ctx, grant(alice, p.ID())); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("the refused project was stored: %v", err)
		}
	}},
	{"names are unique per owner among live projects", func(t *testing.T, repo ports.Repository) {
		first := add(t, repo, newProject(t, alice, "dup", t0))
		if err := repo.Add(ctx, alice, newProject(t, alice, "dup", t0)); !errors.Is(err, project.ErrNameTaken) {
			t.Fatalf("duplicate add = %v", err)
		}
		add(t, repo, newProject(t, bob, "dup", t0))
		if _, err := repo.Update(ctx, grant(alice, first.ID()), func(p *project.Project) error { return p.Delete(t0) }); err != nil {
			t.Fatal(err)
		}
		add(t, repo, newProject(t, alice, "dup", t0))
	}},
	{"update saves the change and a failing fn saves nothing", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "one", t0))
		later := t0.Add(time.Minute)
		name := "two"
		got, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error {
			return p.Apply(project.Change{Name: &name}, later)
		})
		if err != nil || got.Name() != "two" {
			t.Fatalf("update = %v, %v", got, err)
		}
		boom := errors.New("boom")
		_, err = repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error {
			other := "three"
			_ = p.Apply(project.Change{Name: &other}, later)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("update with failing fn = %v", err)
		}
		stored, err := repo.Get(ctx, grant(alice, p.ID()))
		if err != nil || stored.Name() != "two" || !stored.UpdatedAt().Equal(later) {
			t.Fatalf("stored = %+v, %v", stored, err)
		}
	}},
	{"a rename onto a taken name fails and changes nothing", func(t *testing.T, repo ports.Repository) {
		add(t, repo, newProject(t, alice, "taken", t0))
		p := add(t, repo, newProject(t, alice, "mine", t0))
		name := "taken"
		_, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error {
			return p.Apply(project.Change{Name: &name}, t0.Add(time.Second))
		})
		if !errors.Is(err, project.ErrNameTaken) {
			t.Fatalf("rename = %v", err)
		}
		if got, _ := repo.Get(ctx, grant(alice, p.ID())); got == nil || got.Name() != "mine" {
			t.Fatalf("after a failed rename: %+v", got)
		}
	}},
	{"a deleted project is gone from get, list and update", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "doomed", t0))
		deleted, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error { return p.Delete(t0.Add(time.Hour)) })
		if err != nil || !deleted.IsDeleted() {
			t.Fatalf("delete = %v, %v", deleted, err)
		}
		if _, err := repo.Get(ctx, grant(alice, p.ID())); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("get after delete = %v", err)
		}
		if _, err := repo.Update(ctx, grant(alice, p.ID()), func(*project.Project) error { return nil }); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("update after delete = %v", err)
		}
		page, _ := repo.List(ctx, alice, ports.ListQuery{Limit: 10})
		if len(page.Items) != 0 {
			t.Fatalf("list after delete has %d items", len(page.Items))
		}
	}},
	{"list pages newest first with no gaps or duplicates, ties broken by id", func(t *testing.T, repo ports.Repository) {
		want := map[kernel.ProjectID]bool{}
		// Pairs share a timestamp so that the id must break the tie.
		for i := range 11 {
			p := add(t, repo, newProject(t, alice, fmt.Sprintf("p%02d", i), t0.Add(time.Duration(i/2)*time.Second)))
			want[p.ID()] = true
		}
		add(t, repo, newProject(t, bob, "bob's", t0.Add(time.Hour)))
		seen := allPages(t, 3, func(after *kernel.Cursor) ([]*project.Project, *kernel.Cursor, error) {
			page, err := repo.List(ctx, alice, ports.ListQuery{Limit: 3, After: after})
			return page.Items, page.Next, err
		})
		assertNewestFirstOnce(t, seen, want)
	}},
	{"a full last page has no next cursor", func(t *testing.T, repo ports.Repository) {
		for i := range 2 {
			add(t, repo, newProject(t, alice, fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Second)))
		}
		page, err := repo.List(ctx, alice, ports.ListQuery{Limit: 2})
		if err != nil || len(page.Items) != 2 || page.Next != nil {
			t.Fatalf("page = %d items, next %v, err %v", len(page.Items), page.Next, err)
		}
	}},
	{"concurrent updates of one project all apply", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "counter", t0))
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error {
					d := p.Description() + fmt.Sprint(i%10)
					return p.Apply(project.Change{Description: &d}, t0)
				})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := repo.Get(ctx, grant(alice, p.ID()))
		if err != nil {
			t.Fatal(err)
		}
		if added := len(got.Description()) - len("about counter"); added != n {
			t.Fatalf("%d of %d concurrent updates survived (lost updates)", added, n)
		}
	}},
}
