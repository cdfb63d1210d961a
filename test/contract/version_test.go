package contract

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	pgoperation "github.com/scoped-api/foundation/adapters/postgres/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/test/testkit"
)

// The version contract: a new aggregate is stored at version 0, reads
// return the stored version, a saved change stores the version the
// aggregate's change gave it, and the fn of an update sees the stored
// version — so a conditional write checked inside fn has exactly one
// winner among writers that read the same version.

func TestProjectRepositoryVersions(t *testing.T) {
	for name, newRepo := range projectRepositories {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("reads return the stored version and changes move it", func(t *testing.T) {
				repo := newRepo(t)
				p := add(t, repo, newProject(t, alice, "versioned", t0))
				expectProjectVersion(t, repo, p.ID(), 0)
				renamed := "renamed"
				got, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error {
					return p.Apply(project.Change{Name: &renamed}, t0)
				})
				if err != nil || got.Version() != 1 {
					t.Fatalf("update returned version %v, %v; want 1", versionOf(got), err)
				}
				expectProjectVersion(t, repo, p.ID(), 1)
				// A refused fn saves nothing, the version included.
				if _, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error {
					if err := kernel.ExpectVersion(0).Check(p.Version()); err != nil {
						return err
					}
					return p.Apply(project.Change{Name: &renamed}, t0)
				}); !errors.Is(err, kernel.ErrVersionMismatch) {
					t.Fatalf("a stale conditional update = %v, want a version mismatch", err)
				}
				expectProjectVersion(t, repo, p.ID(), 1)
				page, err := repo.List(ctx, alice, ports.ListQuery{Limit: 10})
				if err != nil || len(page.Items) != 1 || page.Items[0].Project.Version() != 1 {
					t.Fatalf("list: %v, %v", page.Items, err)
				}
			})
			t.Run("concurrent conditional updates at one version have one winner", func(t *testing.T) {
				repo := newRepo(t)
				p := add(t, repo, newProject(t, alice, "contested", t0))
				winner := oneWinner(t, func(i int) error {
					name := fmt.Sprintf("writer %d", i)
					_, err := repo.Update(ctx, grant(alice, p.ID()), func(p *project.Project) error {
						if err := kernel.ExpectVersion(0).Check(p.Version()); err != nil {
							return err
						}
						return p.Apply(project.Change{Name: &name}, t0)
					})
					return err
				})
				got, err := repo.Get(ctx, grant(alice, p.ID()))
				if err != nil || got.Name() != fmt.Sprintf("writer %d", winner) || got.Version() != 1 {
					t.Fatalf("stored %v at version %v (%v), want writer %d's name at 1", nameOf(got), versionOf(got), err, winner)
				}
			})
		})
	}
}

func TestOperationRepositoryVersions(t *testing.T) {
	for name, newStore := range operationStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("reads return the stored version and changes move it", func(t *testing.T) {
				s := newStore(t)
				op := addOp(t, s, newOp(t, projectA, "import", t0))
				expectOperationVersion(t, s, op.ID(), 0)
				if got := opReport(t, s, op, operation.Report{Percent: 10}, t0.Add(time.Second)); got.Version() != 1 {
					t.Fatalf("report returned version %d, want 1", got.Version())
				}
				expectOperationVersion(t, s, op.ID(), 1)
				if _, err := s.repo.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
					if err := kernel.ExpectVersion(0).Check(o.Version()); err != nil {
						return err
					}
					return o.Cancel(t0)
				}); !errors.Is(err, kernel.ErrVersionMismatch) {
					t.Fatalf("a stale conditional cancel = %v, want a version mismatch", err)
				}
				expectOperationVersion(t, s, op.ID(), 1)
				if n := opSequenceAll(t, s, 100); n != 2 {
					t.Fatalf("%d events stored, want the created one and one report", n)
				}
			})
			t.Run("concurrent conditional reports at one version have one winner", func(t *testing.T) {
				s := newStore(t)
				op := addOp(t, s, newOp(t, projectA, "import", t0))
				winner := oneWinner(t, func(i int) error {
					_, err := s.repo.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
						if err := kernel.ExpectVersion(0).Check(o.Version()); err != nil {
							return err
						}
						return o.Apply(operation.Report{Percent: 10 + i}, t0.Add(time.Second))
					})
					return err
				})
				got, err := s.repo.Get(ctx, in(projectA), op.ID())
				if err != nil || got.Percent() != 10+winner || got.Version() != 1 {
					t.Fatalf("stored percent %d at version %d (%v), want %d at 1", got.Percent(), got.Version(), err, 10+winner)
				}
				if n := opSequenceAll(t, s, 100); n != 2 {
					t.Fatalf("%d events stored, want the created one and the winner's", n)
				}
			})
		})
	}
}

// TestOperationVersionIsJudgedOnTheStoredVersion: an instance that
// remembers an operation at an old version judges a conditional write on
// the stored one: the old version is refused, the current one applies.
func TestOperationVersionIsJudgedOnTheStoredVersion(t *testing.T) {
	url := testkit.NewPostgresDatabase(t)
	one := pgoperation.NewRepository(testkit.OpenMigrated(t, url, pgoperation.Migrations()))
	two := pgoperation.NewRepository(testkit.OpenMigrated(t, url, pgoperation.Migrations()))
	op := newOp(t, projectA, "import", t0)
	if err := one.Add(ctx, in(projectA), op); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
		return o.Apply(operation.Report{Percent: 50}, t0.Add(time.Second))
	}); err != nil {
		t.Fatal(err)
	}
	report := func(expected kernel.ExpectedVersion, percent int) (*operation.Operation, error) {
		return one.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
			if err := expected.Check(o.Version()); err != nil {
				return err
			}
			return o.Apply(operation.Report{Percent: percent}, t0.Add(2*time.Second))
		})
	}
	if _, err := report(kernel.ExpectVersion(0), 60); !errors.Is(err, kernel.ErrVersionMismatch) {
		t.Fatalf("the version instance one remembers (0) = %v, want a version mismatch", err)
	}
	got, err := report(kernel.ExpectVersion(1), 70)
	if err != nil || got.Version() != 2 || got.Percent() != 70 {
		t.Fatalf("the stored version (1) = %v, %v", versionOf(got), err)
	}
}

type versioned interface{ Version() kernel.Version }

func versionOf[T versioned](v T) any {
	var zero T
	if any(v) == any(zero) {
		return "none"
	}
	return v.Version()
}

func nameOf(p *project.Project) string {
	if p == nil {
		return "nothing"
	}
	return p.Name()
}

func expectProjectVersion(t *testing.T, repo ports.Repository, id kernel.ProjectID, want kernel.Version) {
	t.Helper()
	got, err := repo.Get(ctx, grant(alice, id))
	if err != nil || got.Version() != want {
		t.Fatalf("get: version %v, %v; want %d", versionOf(got), err, want)
	}
}

func expectOperationVersion(t *testing.T, s operationStore, id operation.ID, want kernel.Version) {
	t.Helper()
	got, err := s.repo.Get(ctx, in(projectA), id)
	if err != nil || got.Version() != want {
		t.Fatalf("get: version %v, %v; want %d", versionOf(got), err, want)
	}
}

// oneWinner races eight writers, each a conditional write at version 0,
// and checks that exactly one succeeded and every other one got a version
// mismatch. It returns the winner.
func oneWinner(t *testing.T, write func(i int) error) int {
	t.Helper()
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = write(i)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won at version 0", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, kernel.ErrVersionMismatch):
			t.Fatalf("writer %d: %v, want a version mismatch", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	return winner
}
