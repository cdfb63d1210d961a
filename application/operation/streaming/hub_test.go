package streaming

import (
	"context"
	"errors"
	"testing"

	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

func TestHubRoutesDedupesAndFillsGaps(t *testing.T) {
	w := newWorld(t, 16, 8)
	opA, opB := w.create(inA), w.create(inB)
	opA2 := w.create(inA)
	w.sequence() // the three created events: 1, 2, 3
	onOp, _ := w.hub.subscribe(alice, projA, ptr(opA.ID()))
	onProject, _ := w.hub.subscribe(alice, projA, nil)
	onB, _ := w.hub.subscribe(alice, projB, nil)

	w.report(inA, opA, percent(1))
	w.report(inB, opB, percent(1))
	w.report(inA, opA2, percent(1))
	w.report(inA, opA, percent(2))
	evs := w.sequence() // 4, 5, 6, 7
	w.hub.Deliver(evs[0])
	w.hub.Deliver(evs[0]) // a duplicate (a retried publish) is dropped
	w.hub.Deliver(evs[3]) // 5 and 6 were missed: read from the log first
	w.hub.Deliver(evs[1]) // already dispatched by the gap fill

	// The created events (1–3) were delivered by the gap fill too.
	if got, _ := drain(onOp); !equal(got, []int64{1, 4, 7}) {
		t.Fatalf("operation subscriber got %v, want [1 4 7]", got)
	}
	if got, _ := drain(onProject); !equal(got, []int64{1, 3, 4, 6, 7}) {
		t.Fatalf("project subscriber got %v, want [1 3 4 6 7]", got)
	}
	if got, _ := drain(onB); !equal(got, []int64{2, 5}) {
		t.Fatalf("project B subscriber got %v, want [2 5]", got)
	}
	if w.hub.Connected(projA) != 2 || w.hub.Connected(projB) != 1 || w.metrics.delivered != 10 {
		t.Fatalf("connected %d+%d, delivered %d", w.hub.Connected(projA), w.hub.Connected(projB), w.metrics.delivered)
	}
}

// failingReads is the in-memory log whose catch-up reads fail.
type failingReads struct {
	*memoperation.EventLog
	err error
}

func (f failingReads) ReadAll(ctx context.Context, after int64, limit int) ([]operation.Recorded, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.EventLog.ReadAll(ctx, after, limit)
}

func TestHubResyncReadsWhatWasMissed(t *testing.T) {
	w := newWorld(t, 16, 8)
	store := &failingReads{EventLog: w.log}
	w.hub = NewHub(store, w.metrics, HubSettings{Buffer: 16, MaxStreamsPerSubject: 8})
	sub, _ := w.hub.subscribe(alice, projA, nil)
	op := w.create(inA)
	w.report(inA, op, percent(1))
	w.sequence()
	w.hub.Resync()
	if got, _ := drain(sub); !equal(got, []int64{1, 2}) {
		t.Fatalf("after resync got %v", got)
	}
	// A failing read ends every stream (they resume from their own ids).
	w.report(inA, op, percent(2))
	w.report(inA, op, percent(3))
	evs := w.sequence()
	store.err = errors.New("database down")
	w.hub.Deliver(evs[1])
	if _, ended := drain(sub); !ended || !errors.Is(sub.reason(), operation.ErrResync) {
		t.Fatalf("stream not ended with ErrResync: %v", sub.reason())
	}
}

func TestHubDisconnectsSlowSubscribersOnly(t *testing.T) {
	w := newWorld(t, 2, 8)
	op := w.create(inA)
	w.publish()
	slow, _ := w.hub.subscribe(alice, projA, ptr(op.ID()))
	fast, _ := w.hub.subscribe(alice, projA, ptr(op.ID()))
	var fastGot []int64
	for i := range 5 {
		w.report(inA, op, percent(i))
		w.publish()
		got, _ := drain(fast)
		fastGot = append(fastGot, got...)
	}
	if len(fastGot) != 5 {
		t.Fatalf("fast subscriber got %v", fastGot)
	}
	if got, ended := drain(slow); !ended || len(got) != 2 || !errors.Is(slow.reason(), operation.ErrSlowSubscriber) || w.metrics.slow != 1 {
		t.Fatalf("slow subscriber got %v ended=%v err=%v slow=%d", got, ended, slow.reason(), w.metrics.slow)
	}
}

func TestHubEndsOperationStreamsAfterTheTerminalEvent(t *testing.T) {
	w := newWorld(t, 8, 8)
	op := w.create(inA)
	w.publish()
	sub, _ := w.hub.subscribe(alice, projA, ptr(op.ID()))
	project, _ := w.hub.subscribe(alice, projA, nil)
	w.report(inA, op, operation.Report{Percent: 100, Status: ptr(operation.StatusFailed), Error: "boom"})
	w.publish()
	if got, ended := drain(sub); !ended || len(got) != 1 || sub.reason() != nil {
		t.Fatalf("operation stream got %v ended=%v err=%v", got, ended, sub.reason())
	}
	if _, ended := drain(project); ended {
		t.Fatal("the project stream ended with one operation")
	}
	w.hub.Shutdown()
	if _, ended := drain(project); !ended || !errors.Is(project.reason(), operation.ErrShuttingDown) {
		t.Fatalf("shutdown: %v", project.reason())
	}
	if _, err := w.hub.subscribe(alice, projA, nil); kernel.KindOf(err) != kernel.KindUnavailable {
		t.Fatalf("subscribe after shutdown: %v", err)
	}
	if w.metrics.opened != 2 || w.metrics.closed != 2 {
		t.Fatalf("opened %d closed %d", w.metrics.opened, w.metrics.closed)
	}
}

func TestHubCapsStreamsPerSubjectAndFloors(t *testing.T) {
	w := newWorld(t, 8, 2)
	a, _ := w.hub.subscribe(alice, projA, nil)
	if _, err := w.hub.subscribe(alice, projA, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.hub.subscribe(alice, projB, nil); !errors.Is(err, operation.ErrTooManyStreams) {
		t.Fatalf("third stream: %v", err)
	}
	w.hub.remove(a, nil)
	w.hub.remove(a, nil) // twice is harmless
	b, err := w.hub.subscribe(alice, projA, nil)
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	op := w.create(inA)
	w.report(inA, op, percent(1))
	w.report(inA, op, percent(2))
	w.publish()
	w.hub.setFloor(b, 2) // the initial messages covered up to 2
	if got, _ := drain(b); !equal(got, []int64{3}) {
		t.Fatalf("after the floor got %v, want [3]", got)
	}
}

func TestNewHubRefusesMissingBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a hub without a buffer must panic")
		}
	}()
	NewHub(memoperation.NewEventLog(), &countingMetrics{}, HubSettings{MaxStreamsPerSubject: 1})
}

func ptr[T any](v T) *T { return &v }
