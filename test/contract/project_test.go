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
	"github.com/scoped-api/foundation/adapters/postgres"
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
	return kernel.GrantProjectAccess(who, id, kernel.AllPermissions)
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
	{"role answers for members of live projects only", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "seen", t0))
		if role, err := repo.Role(ctx, alice, p.ID()); err != nil || role != project.RoleOwner {
			t.Fatalf("owner: %q, %v", role, err)
		}
		for who, id := range map[kernel.Subject]kernel.ProjectID{bob: p.ID(), alice: kernel.ProjectIDFrom(uuid.New())} {
			if _, err := repo.Role(ctx, who, id); !errors.Is(err, project.ErrNotFound) {
				t.Fatalf("%s on %s: %v, want not found", who, id, err)
			}
		}
		if _, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error { return p.Delete(t0) }); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Role(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
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
	{"an access reaches only its own project, and a non-member lists nothing", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "secret", t0))
		q := add(t, repo, newProject(t, bob, "other", t0))
		got, err := repo.Get(ctx, grant(bob, q.ID()))
		if err != nil || got.ID() != q.ID() {
			t.Fatalf("bob's own project = %v, %v", got, err)
		}
		_, err = repo.Update(ctx, grant(bob, q.ID()), func(got *project.Project) error {
			if got.ID() != q.ID() {
				t.Errorf("fn saw %s, want %s", got.ID(), q.ID())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		page, err := repo.List(ctx, bob, ports.ListQuery{Limit: 10})
		if err != nil || len(page.Items) != 1 || page.Items[0].Project.ID() != q.ID() || page.Items[0].Role != project.RoleOwner {
			t.Fatalf("bob list = %+v, %v", page.Items, err)
		}
		members, err := repo.Members(ctx, grant(bob, q.ID()), ports.MemberQuery{Limit: 10})
		if err != nil || len(members.Items) != 1 || members.Items[0].Subject() != bob {
			t.Fatalf("members of bob's project = %v, %v", members.Items, err)
		}
		_ = p
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
			items := make([]*project.Project, len(page.Items))
			for i, m := range page.Items {
				items[i] = m.Project
			}
			return items, page.Next, err
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

func member(t *testing.T, repo ports.Repository, id kernel.ProjectID, who kernel.Subject, role project.Role) *project.Member {
	t.Helper()
	m := project.NewMember(id, who, role, t0)
	if err := repo.AddMember(ctx, grant(alice, id), m); err != nil {
		t.Fatalf("add member %s: %v", who, err)
	}
	return m
}

func TestProjectMembers(t *testing.T) {
	for name, newRepo := range projectRepositories {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, c := range memberCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, newRepo(t)) })
			}
		})
	}
}

var carol = mustSubject("carol|auth0/9 é")

var memberCases = []struct {
	name string
	run  func(t *testing.T, repo ports.Repository)
}{
	{"a member sees the project in their list with their role, filtered by role", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "shared", t0))
		q := add(t, repo, newProject(t, alice, "private", t0.Add(time.Second)))
		member(t, repo, p.ID(), bob, project.RoleViewer)
		if role, err := repo.Role(ctx, bob, p.ID()); err != nil || role != project.RoleViewer {
			t.Fatalf("bob's role = %q, %v", role, err)
		}
		if _, err := repo.Role(ctx, bob, q.ID()); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("bob on the private project = %v", err)
		}
		page, err := repo.List(ctx, bob, ports.ListQuery{Limit: 10})
		if err != nil || len(page.Items) != 1 || page.Items[0].Project.ID() != p.ID() || page.Items[0].Role != project.RoleViewer ||
			page.Items[0].Project.Owner() != alice {
			t.Fatalf("bob's list = %+v, %v", page.Items, err)
		}
		for role, want := range map[project.Role]int{project.RoleOwner: 2, project.RoleViewer: 0, "": 2} {
			page, err := repo.List(ctx, alice, ports.ListQuery{Limit: 10, Role: role})
			if err != nil || len(page.Items) != want {
				t.Fatalf("alice's list of role %q = %d items, %v; want %d", role, len(page.Items), err, want)
			}
		}
	}},
	{"adding a member twice is refused and members page by subject", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "team", t0))
		member(t, repo, p.ID(), bob, project.RoleMember)
		member(t, repo, p.ID(), carol, project.RoleAdmin)
		if err := repo.AddMember(ctx, grant(alice, p.ID()), project.NewMember(p.ID(), bob, project.RoleViewer, t0)); !errors.Is(err, project.ErrMemberExists) {
			t.Fatalf("second add = %v", err)
		}
		var seen []string
		var after *kernel.Subject
		for range 5 {
			page, err := repo.Members(ctx, grant(alice, p.ID()), ports.MemberQuery{Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Items {
				seen = append(seen, m.Subject().String()+"="+string(m.Role()))
			}
			if after = page.Next; after == nil {
				break
			}
		}
		if fmt.Sprint(seen) != fmt.Sprint([]string{"alice=owner", "bob=member", carol.String() + "=admin"}) {
			t.Fatalf("members = %v", seen)
		}
	}},
	{"a member of a deleted project is refused and sees nothing", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "gone", t0))
		member(t, repo, p.ID(), bob, project.RoleMember)
		if _, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error { return p.Delete(t0) }); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Role(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("role = %v", err)
		}
		if page, err := repo.List(ctx, bob, ports.ListQuery{Limit: 10}); err != nil || len(page.Items) != 0 {
			t.Fatalf("list = %v, %v", page.Items, err)
		}
		if err := repo.AddMember(ctx, grant(alice, p.ID()), project.NewMember(p.ID(), carol, project.RoleMember, t0)); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("add to a deleted project = %v", err)
		}
	}},
	{"update and remove a member; a failing fn changes nothing", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "roles", t0))
		member(t, repo, p.ID(), bob, project.RoleViewer)
		boom := errors.New("boom")
		if _, err := repo.UpdateMember(ctx, grant(alice, p.ID()), bob, func(*project.Member) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("failing update = %v", err)
		}
		m, err := repo.UpdateMember(ctx, grant(alice, p.ID()), bob, func(m *project.Member) error {
			return m.ChangeRole(grant(alice, p.ID()), project.RoleMember, t0.Add(time.Minute))
		})
		if err != nil || m.Role() != project.RoleMember {
			t.Fatalf("update = %v, %v", m, err)
		}
		if role, _ := repo.Role(ctx, bob, p.ID()); role != project.RoleMember {
			t.Fatalf("stored role = %q", role)
		}
		if _, err := repo.UpdateMember(ctx, grant(alice, p.ID()), carol, func(*project.Member) error { return nil }); !errors.Is(err, project.ErrMemberNotFound) {
			t.Fatalf("update of a non-member = %v", err)
		}
		if err := repo.RemoveMember(ctx, grant(alice, p.ID()), bob, func(*project.Member) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("failing remove = %v", err)
		}
		if err := repo.RemoveMember(ctx, grant(alice, p.ID()), bob, func(*project.Member) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Role(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
			t.Fatalf("removed member's role = %v", err)
		}
	}},
	{"a transfer swaps owner and heir, and refuses a name the heir already owns", func(t *testing.T, repo ports.Repository) {
		p := add(t, repo, newProject(t, alice, "handover", t0))
		add(t, repo, newProject(t, bob, "taken", t0))
		clash := add(t, repo, newProject(t, alice, "taken", t0))
		member(t, repo, p.ID(), bob, project.RoleMember)
		member(t, repo, clash.ID(), bob, project.RoleMember)
		transfer := func(p *project.Project, owner, next *project.Member) error {
			if err := project.Transfer(grant(alice, p.ID()), owner, next, t0.Add(time.Hour)); err != nil {
				return err
			}
			return p.TransferTo(next.Subject(), t0.Add(time.Hour))
		}
		if _, err := repo.Transfer(ctx, grant(alice, clash.ID()), bob, transfer); !errors.Is(err, project.ErrNameTaken) {
			t.Fatalf("transfer onto a taken name = %v", err)
		}
		if role, _ := repo.Role(ctx, alice, clash.ID()); role != project.RoleOwner {
			t.Fatalf("a failed transfer changed alice's role to %q", role)
		}
		if _, err := repo.Transfer(ctx, grant(alice, p.ID()), carol, transfer); !errors.Is(err, project.ErrMemberNotFound) {
			t.Fatalf("transfer to a non-member = %v", err)
		}
		got, err := repo.Transfer(ctx, grant(alice, p.ID()), bob, transfer)
		if err != nil || got.Owner() != bob {
			t.Fatalf("transfer = %v, %v", got, err)
		}
		if stored, _ := repo.Get(ctx, grant(bob, p.ID())); stored.Owner() != bob || stored.Version() != got.Version() {
			t.Fatalf("stored owner %s version %d", stored.Owner(), stored.Version())
		}
		for who, want := range map[kernel.Subject]project.Role{alice: project.RoleAdmin, bob: project.RoleOwner} {
			if role, err := repo.Role(ctx, who, p.ID()); err != nil || role != want {
				t.Fatalf("%s is %q (%v), want %q", who, role, err, want)
			}
		}
	}},
}

func TestProjectKeys(t *testing.T) {
	for name, newRepo := range projectRepositories {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			repo := newRepo(t)
			p := add(t, repo, newProject(t, alice, "keys", t0))
			q := add(t, repo, newProject(t, alice, "other", t0))
			exp := t0.Add(time.Hour)
			var ids []kernel.KeyID
			for i := range 3 {
				id := kernel.IDFrom[kernel.KeyKind](uuid.Must(uuid.NewV7()))
				var at *time.Time
				if i == 0 {
					at = &exp
				}
				k, err := project.NewKey(id, p.ID(), fmt.Sprintf("k%d", i), kernel.ReadOperations|kernel.ReportProgress, []byte{1, 2, byte(i)}, alice, t0.Add(time.Duration(i)*time.Second), at)
				if err != nil {
					t.Fatal(err)
				}
				if err := repo.AddKey(ctx, grant(alice, p.ID()), k); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			got, err := repo.Key(ctx, ids[0])
			if err != nil || got.Project() != p.ID() || got.Name() != "k0" || got.Permissions() != kernel.ReadOperations|kernel.ReportProgress ||
				string(got.Digest()) != string([]byte{1, 2, 0}) || got.CreatedBy() != alice || got.ExpiresAt() == nil || !got.ExpiresAt().Equal(exp) || got.RevokedAt() != nil {
				t.Fatalf("key = %+v, %v", got, err)
			}
			var names []string
			var after *kernel.Cursor
			for range 5 {
				page, err := repo.Keys(ctx, grant(alice, p.ID()), ports.KeyQuery{Limit: 2, After: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range page.Items {
					names = append(names, k.Name())
				}
				if after = page.Next; after == nil {
					break
				}
			}
			if fmt.Sprint(names) != "[k2 k1 k0]" {
				t.Fatalf("keys newest first = %v", names)
			}
			if page, _ := repo.Keys(ctx, grant(alice, q.ID()), ports.KeyQuery{Limit: 10}); len(page.Items) != 0 {
				t.Fatalf("another project lists %d keys", len(page.Items))
			}
			if _, err := repo.UpdateKey(ctx, grant(alice, q.ID()), ids[1], func(k *project.Key) error { return k.Revoke(t0) }); !errors.Is(err, project.ErrKeyNotFound) {
				t.Fatalf("revoke through another project = %v", err)
			}
			if _, err := repo.UpdateKey(ctx, grant(alice, p.ID()), ids[1], func(k *project.Key) error { return k.Revoke(t0) }); err != nil {
				t.Fatal(err)
			}
			if k, _ := repo.Key(ctx, ids[1]); k.RevokedAt() == nil || k.Usable(t0) {
				t.Fatalf("revoked key = %+v", k)
			}
			if _, err := repo.Key(ctx, kernel.IDFrom[kernel.KeyKind](uuid.New())); !errors.Is(err, project.ErrKeyNotFound) {
				t.Fatalf("missing key = %v", err)
			}
			if _, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error { return p.Delete(t0) }); err != nil {
				t.Fatal(err)
			}
			if _, err := repo.Key(ctx, ids[2]); !errors.Is(err, project.ErrKeyNotFound) {
				t.Fatalf("a key of a deleted project = %v", err)
			}
		})
	}
}

// TestTheMembersMigrationMakesEveryOwnerAMember: projects created before
// members existed get their owner as their owner member.
func TestTheMembersMigrationMakesEveryOwnerAMember(t *testing.T) {
	dbURL := testkit.NewPostgresDatabase(t)
	db := testkit.OpenMigrated(t, dbURL, pgproject.Migrations())
	m, err := postgres.NewMigrator(db, []postgres.MigrationSet{pgproject.Migrations()})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"20261204100000_create_project_keys.sql", "20261204090000_create_project_members.sql"} {
		if name, err := m.Down(ctx); err != nil || name != want {
			t.Fatalf("down = %q, %v; want %s", name, err, want)
		}
	}
	id := uuid.Must(uuid.NewV7())
	if err := db.Gorm.Exec(`INSERT INTO projects (id, owner, name, description, created_at, updated_at) VALUES (?, 'olga', 'old', '', now(), now())`, id).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	repo := pgproject.NewRepository(db)
	if role, err := repo.Role(ctx, mustSubject("olga"), kernel.ProjectIDFrom(id)); err != nil || role != project.RoleOwner {
		t.Fatalf("olga's role in her old project = %q, %v", role, err)
	}
	if page, err := repo.List(ctx, mustSubject("olga"), ports.ListQuery{Limit: 10}); err != nil || len(page.Items) != 1 {
		t.Fatalf("olga's list = %v, %v", page.Items, err)
	}
}
