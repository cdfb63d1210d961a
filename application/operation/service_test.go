package operation_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	appoperation "github.com/scoped-api/foundation/application/operation"
	"github.com/scoped-api/foundation/application/operation/streaming"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/test/testkit"
)

var (
	ctx   = context.Background()
	alice = func() kernel.Subject { s, _ := kernel.ParseSubject("alice"); return s }()
	inA   = kernel.GrantProjectAccess(alice, kernel.ProjectIDFrom(uuid.MustParse("0190a000-0000-7000-8000-00000000000a")), kernel.AllPermissions)
	inB   = kernel.GrantProjectAccess(alice, kernel.ProjectIDFrom(uuid.MustParse("0190b000-0000-7000-8000-00000000000b")), kernel.AllPermissions)
)

// flakyBus fails while down and records what it published.
type flakyBus struct {
	mu   sync.Mutex
	down bool
	got  []int64
}

func (b *flakyBus) Publish(_ context.Context, evs []operation.Recorded) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errors.New("bus down")
	}
	for _, ev := range evs {
		b.got = append(b.got, ev.Seq)
	}
	return nil
}
func (b *flakyBus) Subscribe(context.Context, ports.Sink) error { return nil }

type lagMetrics struct {
	mu  sync.Mutex
	lag time.Duration
}

func (m *lagMetrics) StreamOpened()               {}
func (m *lagMetrics) StreamClosed()               {}
func (m *lagMetrics) EventsDelivered(int)         {}
func (m *lagMetrics) SlowSubscriberDisconnected() {}
func (m *lagMetrics) RelayLag(d time.Duration)    { m.mu.Lock(); m.lag = d; m.mu.Unlock() }
func (m *lagMetrics) last() time.Duration         { m.mu.Lock(); defer m.mu.Unlock(); return m.lag }

// counter counts the relay's wake-ups.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) EventsAccepted() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *counter) count() int      { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

type fixture struct {
	svc     *appoperation.Service
	log     *memoperation.EventLog
	bus     *flakyBus
	trigger *counter
	metrics *lagMetrics
	clock   *testkit.Clock
	hub     *streaming.Hub
}

func newFixture(t *testing.T, batch int) fixture {
	t.Helper()
	f := fixture{log: memoperation.NewEventLog(), bus: &flakyBus{}, trigger: &counter{}, metrics: &lagMetrics{},
		clock: testkit.NewClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))}
	f.hub = streaming.NewHub(f.log, f.metrics, streaming.HubSettings{Buffer: 16, MaxStreamsPerSubject: 4})
	f.svc = appoperation.NewService(appoperation.Deps{
		Repo: memoperation.NewRepository(f.log), Log: f.log, Relay: f.log, Bus: f.bus, Trigger: f.trigger,
		Hub: f.hub, Clock: f.clock, IDs: &testkit.IDs{}, Metrics: f.metrics,
	}, appoperation.Settings{Batch: batch, Retention: time.Hour})
	return f
}

func TestOperationLifecycleWithinItsProject(t *testing.T) {
	f := newFixture(t, 500)
	op, err := f.svc.CreateOperation(ctx, inA, appoperation.CreateOperation{Kind: "import", Message: "queued"})
	if err != nil || op.Status() != operation.StatusPending || f.trigger.count() != 1 {
		t.Fatalf("create: %v %v, relay woken %d times", op, err, f.trigger.count())
	}
	if _, err := f.svc.CreateOperation(ctx, inA, appoperation.CreateOperation{Kind: "Bad Kind"}); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("a bad kind: %v", err)
	}
	got, err := f.svc.ReportProgress(ctx, inA, op.ID(), appoperation.ReportProgress{Report: operation.Report{Percent: 40}})
	if err != nil || got.Status() != operation.StatusRunning || got.Percent() != 40 || f.trigger.count() != 2 {
		t.Fatalf("report: %+v %v", got, err)
	}
	if _, err := f.svc.ReportProgress(ctx, inA, op.ID(), appoperation.ReportProgress{Report: operation.Report{Percent: 10}}); !errors.Is(err, operation.ErrProgressBackwards) {
		t.Fatalf("backwards: %v", err)
	}
	if _, err := f.svc.GetOperation(ctx, inB, op.ID()); !errors.Is(err, operation.ErrNotFound) {
		t.Fatalf("through another project: %v", err)
	}
	if _, err := f.svc.CancelOperation(ctx, inB, op.ID(), appoperation.CancelOperation{}); !errors.Is(err, operation.ErrNotFound) {
		t.Fatalf("cancel through another project: %v", err)
	}
	if got, err := f.svc.CancelOperation(ctx, inA, op.ID(), appoperation.CancelOperation{}); err != nil || got.Status() != operation.StatusCancelled {
		t.Fatalf("cancel: %v %v", got, err)
	}
	page, err := f.svc.ListOperations(ctx, inA, appoperation.ListOperations{Limit: 10})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("list: %v %v", page, err)
	}
	if _, err := f.svc.ListOperations(ctx, inA, appoperation.ListOperations{Limit: 0}); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("limit 0: %v", err)
	}
	if err := f.svc.PublishPending(ctx); err != nil {
		t.Fatal(err)
	}
	fig, err := f.svc.Figures(ctx, inA)
	if err != nil || fig.ByStatus[operation.StatusCancelled] != 1 || fig.ByStatus[operation.StatusPending] != 0 || len(fig.ByStatus) != len(operation.Statuses) || fig.LastEventID != 3 {
		t.Fatalf("figures %+v %v", fig, err)
	}
	if fig, _ := f.svc.Figures(ctx, inB); fig.LastEventID != 0 || fig.ByStatus[operation.StatusCancelled] != 0 {
		t.Fatalf("another project's figures %+v", fig)
	}
}

func TestUseCasesRefuseAMissingAccess(t *testing.T) {
	f := newFixture(t, 500)
	var none kernel.ProjectAccess
	id := operation.IDFrom(uuid.New())
	for i, err := range []error{
		second(f.svc.CreateOperation(ctx, none, appoperation.CreateOperation{Kind: "x"})),
		second(f.svc.GetOperation(ctx, none, id)),
		second(f.svc.ListOperations(ctx, none, appoperation.ListOperations{Limit: 1})),
		second(f.svc.ReportProgress(ctx, none, id, appoperation.ReportProgress{Report: operation.Report{}})),
		second(f.svc.CancelOperation(ctx, none, id, appoperation.CancelOperation{})),
		second(f.svc.Figures(ctx, none)),
	} {
		if err == nil || kernel.KindOf(err) != kernel.KindUnknown {
			t.Errorf("use case %d without an access = %v, want an internal error", i, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestPublishPendingNumbersPublishesAndRetriesInOrder(t *testing.T) {
	f := newFixture(t, 2)
	op, _ := f.svc.CreateOperation(ctx, inA, appoperation.CreateOperation{Kind: "import"})
	for i := 1; i <= 4; i++ {
		if _, err := f.svc.ReportProgress(ctx, inA, op.ID(), appoperation.ReportProgress{Report: operation.Report{Percent: i}}); err != nil {
			t.Fatal(err)
		}
	}
	f.bus.down = true
	f.clock.Advance(time.Minute)
	if err := f.svc.PublishPending(ctx); err == nil {
		t.Fatal("publishing with the bus down succeeded")
	}
	head, _ := f.log.Head(ctx)
	lag, err := f.svc.MeasureRelayLag(ctx)
	if head != 5 || err != nil || lag != time.Minute || f.metrics.last() != time.Minute {
		t.Fatalf("with the bus down: head %d (numbering needs no bus), lag %v (%v), reported %v", head, lag, err, f.metrics.last())
	}
	f.bus.down = false
	if err := f.svc.PublishPending(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.bus.got) != 5 {
		t.Fatalf("published %v", f.bus.got)
	}
	for i, seq := range f.bus.got {
		if seq != int64(i+1) {
			t.Fatalf("published out of order: %v", f.bus.got)
		}
	}
	// The last batch published is marked by the next step, with its numbering.
	if evs, _ := f.log.Unpublished(ctx, 10); len(evs) != 1 {
		t.Fatalf("unpublished after the step: %d, want the last batch's one", len(evs))
	}
	if err := f.svc.PublishPending(ctx); err != nil {
		t.Fatal(err)
	}
	if evs, _ := f.log.Unpublished(ctx, 10); len(evs) != 0 || len(f.bus.got) != 5 {
		t.Fatalf("after the next step: %d unpublished, %v published (nothing twice)", len(evs), f.bus.got)
	}
	if lag, err := f.svc.MeasureRelayLag(ctx); err != nil || lag != 0 || f.metrics.last() != 0 {
		t.Fatalf("with everything published: lag %v (%v), reported %v", lag, err, f.metrics.last())
	}
	// Pruning keeps what is younger than the retention.
	if err := f.svc.PruneHistory(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := f.log.Horizon(ctx); h != 0 {
		t.Fatalf("pruned young events: horizon %d", h)
	}
	f.clock.Advance(2 * time.Hour)
	if err := f.svc.PruneHistory(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := f.log.Horizon(ctx); h != 5 {
		t.Fatalf("old events kept: horizon %d", h)
	}
}

func TestNewServicePanicsOnMissingDependency(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewService without a repository must panic")
		}
	}()
	appoperation.NewService(appoperation.Deps{}, appoperation.Settings{Batch: 1})
}

// TestReportAndCancelHonourTheExpectedVersion: a report or cancel that
// names a version other than the stored one changes nothing, records no
// event and does not wake the relay; one that names the stored version
// (or any) applies and moves the version.
func TestReportAndCancelHonourTheExpectedVersion(t *testing.T) {
	f := newFixture(t, 500)
	op, err := f.svc.CreateOperation(ctx, inA, appoperation.CreateOperation{Kind: "import"})
	if err != nil || op.Version() != 0 {
		t.Fatalf("create: version %d, %v", op.Version(), err)
	}
	got, err := f.svc.ReportProgress(ctx, inA, op.ID(), appoperation.ReportProgress{
		Report: operation.Report{Percent: 10}, Expected: kernel.ExpectVersion(0)})
	if err != nil || got.Version() != 1 || got.Percent() != 10 {
		t.Fatalf("report at the stored version: %+v, %v", got, err)
	}
	woken := f.trigger.count()
	stale := kernel.ExpectVersion(0)
	if _, err := f.svc.ReportProgress(ctx, inA, op.ID(), appoperation.ReportProgress{Report: operation.Report{Percent: 20}, Expected: stale}); !errors.Is(err, kernel.ErrVersionMismatch) {
		t.Fatalf("report at a stale version: %v", err)
	}
	if _, err := f.svc.CancelOperation(ctx, inA, op.ID(), appoperation.CancelOperation{Expected: stale}); !errors.Is(err, kernel.ErrVersionMismatch) {
		t.Fatalf("cancel at a stale version: %v", err)
	}
	now, err := f.svc.GetOperation(ctx, inA, op.ID())
	if err != nil || now.Version() != 1 || now.Percent() != 10 || now.Status() != operation.StatusRunning || f.trigger.count() != woken {
		t.Fatalf("after refused writes: %+v, %v; relay woken %d more times", now.State(), err, f.trigger.count()-woken)
	}
	got, err = f.svc.CancelOperation(ctx, inA, op.ID(), appoperation.CancelOperation{Expected: kernel.ExpectVersion(1)})
	if err != nil || got.Version() != 2 || got.Status() != operation.StatusCancelled {
		t.Fatalf("cancel at the stored version: %+v, %v", got, err)
	}
}
