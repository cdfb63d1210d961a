package contract

import (
	"testing"
	"time"

	pgoperation "github.com/scoped-api/foundation/adapters/postgres/operation"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/test/testkit"
)

// TestOperationUpdatesFromTwoInstancesLoseNothing: two repositories over
// one PostgreSQL database (two API instances, each remembering the rows it
// last wrote) take turns reporting on one operation. Each write starts
// from a row the other instance has since changed; none may be lost, and
// every event is stored once, in order.
func TestOperationUpdatesFromTwoInstancesLoseNothing(t *testing.T) {
	url := testkit.NewPostgresDatabase(t)
	one := pgoperation.NewRepository(testkit.OpenMigrated(t, url, pgoperation.Migrations()))
	otherDB := testkit.OpenMigrated(t, url, pgoperation.Migrations())
	two := pgoperation.NewRepository(otherDB)
	log := pgoperation.NewEventLog(otherDB)
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	op := newOp(t, projectA, "import", at)
	if err := one.Add(ctx, in(projectA), op); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		repo := one
		if i%2 == 0 {
			repo = two
		}
		msg := "step"
		got, err := repo.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
			return o.Apply(operation.Report{Percent: i, Message: &msg}, at.Add(time.Duration(i)*time.Second))
		})
		if err != nil {
			t.Fatalf("report %d on instance %d: %v", i, 2-i%2, err)
		}
		if got.Percent() != i {
			t.Fatalf("report %d stored percent %d", i, got.Percent())
		}
	}
	// Instance one's remembered row is stale: fn may first see it, but the
	// run that is saved (the last) started from the stored 20.
	var seen []int
	_, err := one.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
		seen = append(seen, o.Percent())
		return o.Apply(operation.Report{Percent: 21}, at.Add(time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != 20 {
		t.Fatalf("the saved run started from percent %v, not the stored 20", seen)
	}
	for {
		got, err := log.Sequence(ctx, 100, ports.Range{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Events) == 0 {
			break
		}
	}
	events, err := log.Read(ctx, in(projectA), opPtr(op.ID()), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 22 || events[0].Type != operation.EventCreated {
		t.Fatalf("%d events stored, want the created one and 21 reports", len(events))
	}
	for i, ev := range events[1:] {
		if ev.State.Percent != i+1 {
			t.Fatalf("event %d has percent %d, want %d", i+1, ev.State.Percent, i+1)
		}
	}
}

// TestOperationRefusalIsJudgedOnTheStoredState: an instance that
// remembers an operation as pending must not refuse "succeeded" when
// another instance has since started it.
func TestOperationRefusalIsJudgedOnTheStoredState(t *testing.T) {
	url := testkit.NewPostgresDatabase(t)
	one := pgoperation.NewRepository(testkit.OpenMigrated(t, url, pgoperation.Migrations()))
	two := pgoperation.NewRepository(testkit.OpenMigrated(t, url, pgoperation.Migrations()))
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	op := newOp(t, projectA, "import", at)
	if err := one.Add(ctx, in(projectA), op); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
		return o.Apply(operation.Report{Percent: 50}, at.Add(time.Second))
	}); err != nil {
		t.Fatal(err)
	}
	done := operation.StatusSucceeded
	got, err := one.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
		return o.Apply(operation.Report{Percent: 100, Status: &done}, at.Add(2*time.Second))
	})
	if err != nil || got.Status() != operation.StatusSucceeded {
		t.Fatalf("succeeding a running operation from a stale instance: %v", err)
	}
	// And a refusal that holds on the stored state is still a refusal.
	if _, err := two.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
		return o.Apply(operation.Report{Percent: 100}, at.Add(3*time.Second))
	}); err == nil {
		t.Fatal("a report on a succeeded operation was accepted")
	}
}
