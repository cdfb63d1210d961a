package contract

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	"github.com/scoped-api/foundation/adapters/postgres"
	pgoperation "github.com/scoped-api/foundation/adapters/postgres/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/test/testkit"
)

// operationStore is one adapter's repository, event log and relay store
// over one fresh database.
type operationStore struct {
	repo  ports.Repository
	log   ports.EventLog
	relay ports.RelayStore
	// instance builds another instance's relay store over the same
	// database, with a way to read its connection pool's statistics.
	instance func(t *testing.T) (ports.RelayStore, *postgres.DB)
}

func gormOperationStore(t *testing.T, url string) operationStore {
	db := testkit.OpenMigrated(t, url, pgoperation.Migrations())
	log := pgoperation.NewEventLog(db)
	s := operationStore{repo: pgoperation.NewRepository(db), log: log, relay: log}
	s.instance = func(t *testing.T) (ports.RelayStore, *postgres.DB) {
		if db.Dialect == postgres.DialectSQLite {
			return log, db // SQLite runs one instance: it shares this one's lock
		}
		other := testkit.OpenMigrated(t, url, pgoperation.Migrations())
		return pgoperation.NewEventLog(other), other
	}
	return s
}

func memoryOperationStore(*testing.T) operationStore {
	log := memoperation.NewEventLog()
	s := operationStore{repo: memoperation.NewRepository(log), log: log, relay: log}
	s.instance = func(*testing.T) (ports.RelayStore, *postgres.DB) { return log, nil } // one process: it shares this one's lock
	return s
}

// operationStores builds a fresh, empty store of every adapter.
var operationStores = map[string]func(t *testing.T) operationStore{
	"memory":   memoryOperationStore,
	"sqlite":   func(t *testing.T) operationStore { return gormOperationStore(t, testkit.NewSQLiteURL(t)) },
	"postgres": func(t *testing.T) operationStore { return gormOperationStore(t, testkit.NewPostgresDatabase(t)) },
}

var (
	projectA = kernel.ProjectIDFrom(uuid.MustParse("0190a000-0000-7000-8000-00000000000a"))
	projectB = kernel.ProjectIDFrom(uuid.MustParse("0190b000-0000-7000-8000-00000000000b"))
)

// in mints the access the gate would grant for p; the suite tests the
// adapters' own filters.
func in(p kernel.ProjectID) kernel.ProjectAccess {
	return kernel.GrantProjectAccess(mustSubject("alice"), p, kernel.AllPermissions)
}

func newOp(t *testing.T, p kernel.ProjectID, kind string, at time.Time) *operation.Operation {
	t.Helper()
	op, err := operation.New(operation.IDFrom(uuid.Must(uuid.NewV7())), p, kind, "queued", at)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func addOp(t *testing.T, s operationStore, op *operation.Operation) *operation.Operation {
	t.Helper()
	if err := s.repo.Add(ctx, in(op.Project()), op); err != nil {
		t.Fatalf("add %s: %v", op.Kind(), err)
	}
	return op
}

// opReport applies a progress report through the repository.
func opReport(t *testing.T, s operationStore, op *operation.Operation, r operation.Report, at time.Time) *operation.Operation {
	t.Helper()
	got, err := s.repo.Update(ctx, in(op.Project()), op.ID(), func(o *operation.Operation) error { return o.Apply(r, at) })
	if err != nil {
		t.Fatalf("report %+v: %v", r, err)
	}
	return got
}

// opSequenceAll moves the whole outbox into the log in batches of batch,
// and returns how many events it moved.
func opSequenceAll(t *testing.T, s operationStore, batch int) int {
	t.Helper()
	total := 0
	for range 1000 {
		got, err := s.relay.Sequence(ctx, batch, ports.Range{})
		if err != nil {
			t.Fatal(err)
		}
		n := len(got.Events)
		opCheckIncreasing(t, got.Events)
		if n > batch {
			t.Fatalf("sequence moved %d events with limit %d", n, batch)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the outbox never empties")
	return total
}

func opReadAll(t *testing.T, s operationStore, after int64) []operation.Recorded {
	t.Helper()
	evs, err := s.relay.ReadAll(ctx, after, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func opSeqs(evs []operation.Recorded) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func opCheckIncreasing(t *testing.T, evs []operation.Recorded) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("seqs not strictly increasing: %v", opSeqs(evs))
		}
	}
}

// opCheckSame compares two operations field by field; JSON results
// are compared as documents (PostgreSQL's jsonb does not keep the bytes).
func opCheckSame(t *testing.T, got, want *operation.Operation) {
	t.Helper()
	opCheckState(t, got.State(), want.State())
}

func opCheckState(t *testing.T, got, want operation.State) {
	t.Helper()
	if got.ID != want.ID || got.Project != want.Project || got.Kind != want.Kind || got.Status != want.Status ||
		got.Percent != want.Percent || got.Message != want.Message || got.Error != want.Error ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || !opSameJSON(got.Result, want.Result) {
		t.Fatalf("state\n got  %+v (result %s)\n want %+v (result %s)", got, got.Result, want, want.Result)
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("times must come back in UTC, got %v", got.CreatedAt.Location())
	}
}

func opSameJSON(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

func opPtr[T any](v T) *T { return &v }
