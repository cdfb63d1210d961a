package operation

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// logStore is a RelayStore over a slice: enough to drive the hub's and the
// relay's logic; the real stores have their own contract suite.
type logStore struct {
	mu        sync.Mutex
	outbox    []operation.Event
	events    []operation.Recorded
	published int64
	readErr   error
	reads     int
}

func (s *logStore) Lock(context.Context) (func(), error) { s.mu.Lock(); return s.mu.Unlock, nil }
func (s *logStore) Sequence(_ context.Context, limit int) (int, error) {
	n := min(limit, len(s.outbox))
	for _, ev := range s.outbox[:n] {
		s.events = append(s.events, operation.Recorded{Seq: int64(len(s.events) + 1), Event: ev})
	}
	s.outbox = s.outbox[n:]
	return n, nil
}
func (s *logStore) Unpublished(_ context.Context, limit int) ([]operation.Recorded, error) {
	var out []operation.Recorded
	for _, ev := range s.events {
		if ev.Seq > s.published && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}
func (s *logStore) MarkPublished(_ context.Context, seq int64) error { s.published = seq; return nil }
func (s *logStore) ReadAll(_ context.Context, after int64, limit int) ([]operation.Recorded, error) {
	s.reads++
	if s.readErr != nil {
		return nil, s.readErr
	}
	var out []operation.Recorded
	for _, ev := range s.events {
		if ev.Seq > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}
func (s *logStore) Head(context.Context) (int64, error) { return int64(len(s.events)), nil }
func (s *logStore) OldestUnpublished(context.Context) (time.Time, bool, error) {
	for _, ev := range s.events {
		if ev.Seq > s.published {
			return ev.At, true, nil
		}
	}
	return time.Time{}, false, nil
}
func (s *logStore) Prune(context.Context, time.Time) (int64, error) { return 0, nil }

type countingMetrics struct {
	mu                              sync.Mutex
	opened, closed, delivered, slow int
	lag                             time.Duration
}

func (m *countingMetrics) StreamOpened()               { m.mu.Lock(); m.opened++; m.mu.Unlock() }
func (m *countingMetrics) StreamClosed()               { m.mu.Lock(); m.closed++; m.mu.Unlock() }
func (m *countingMetrics) EventsDelivered(n int)       { m.mu.Lock(); m.delivered += n; m.mu.Unlock() }
func (m *countingMetrics) SlowSubscriberDisconnected() { m.mu.Lock(); m.slow++; m.mu.Unlock() }
func (m *countingMetrics) RelayLag(d time.Duration)    { m.mu.Lock(); m.lag = d; m.mu.Unlock() }

var (
	projA = kernel.ProjectIDFrom([16]byte{1})
	projB = kernel.ProjectIDFrom([16]byte{2})
	opA   = operation.IDFrom([16]byte{10})
	opB   = operation.IDFrom([16]byte{11})
	alice = func() kernel.Subject { s, _ := kernel.ParseSubject("alice"); return s }()
)

func event(project kernel.ProjectID, op operation.ID, typ operation.EventType, percent int) operation.Event {
	return operation.Event{Type: typ, Project: project, Operation: op, State: operation.State{ID: op, Project: project, Percent: percent}}
}

// logged appends events to the store's log and returns them.
func logged(s *logStore, evs ...operation.Event) []operation.Recorded {
	var out []operation.Recorded
	for _, ev := range evs {
		r := operation.Recorded{Seq: int64(len(s.events) + 1), Event: ev}
		s.events = append(s.events, r)
		out = append(out, r)
	}
	return out
}

func drain(s *subscriber) (seqs []int64, closed bool) {
	evs, done := s.take()
	for _, ev := range evs {
		seqs = append(seqs, ev.Seq)
	}
	return seqs, done
}

func newTestHub(t *testing.T, store *logStore, buffer, perSubject int) (*Hub, *countingMetrics) {
	t.Helper()
	m := &countingMetrics{}
	h := NewHub(store, m, HubSettings{Buffer: buffer, MaxStreamsPerSubject: perSubject})
	if err := h.Prime(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, m
}

func TestHubRoutesDedupesAndFillsGaps(t *testing.T) {
	store := &logStore{}
	h, m := newTestHub(t, store, 16, 8)
	onOp, _ := h.subscribe(alice, projA, &opA)
	onProject, _ := h.subscribe(alice, projA, nil)
	onB, _ := h.subscribe(alice, projB, nil)

	evs := logged(store,
		event(projA, opA, operation.EventProgress, 1),
		event(projB, opB, operation.EventProgress, 1),
		event(projA, opB, operation.EventProgress, 1),
		event(projA, opA, operation.EventProgress, 2),
	)
	h.Deliver(evs[0])
	h.Deliver(evs[0]) // a duplicate (a retried publish) is dropped
	h.Deliver(evs[3]) // 2 and 3 were missed: read from the log first
	h.Deliver(evs[1]) // already dispatched by the gap fill

	if got, _ := drain(onOp); len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("operation subscriber got %v, want [1 4]", got)
	}
	if got, _ := drain(onProject); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 4 {
		t.Fatalf("project subscriber got %v, want [1 3 4]", got)
	}
	if got, _ := drain(onB); len(got) != 1 || got[0] != 2 {
		t.Fatalf("project B subscriber got %v, want [2]", got)
	}
	if h.Connected(projA) != 2 || h.Connected(projA)+h.Connected(projB) != 3 || m.delivered != 6 {
		t.Fatalf("connected %d streams %d delivered %d", h.Connected(projA), h.Connected(projA)+h.Connected(projB), m.delivered)
	}
}

func TestHubResyncReadsWhatWasMissed(t *testing.T) {
	store := &logStore{}
	h, _ := newTestHub(t, store, 16, 8)
	sub, _ := h.subscribe(alice, projA, nil)
	logged(store, event(projA, opA, operation.EventProgress, 1), event(projA, opA, operation.EventProgress, 2))
	h.Resync()
	if got, _ := drain(sub); len(got) != 2 {
		t.Fatalf("after resync got %v", got)
	}
	// A failing read ends every stream (they resume from their own ids).
	logged(store, event(projA, opA, operation.EventProgress, 3))
	store.readErr = errors.New("database down")
	h.Deliver(operation.Recorded{Seq: 4, Event: event(projA, opA, operation.EventProgress, 4)})
	if _, closed := drain(sub); !closed || !errors.Is(sub.err, operation.ErrResync) {
		t.Fatalf("stream not ended with ErrResync: %v", sub.err)
	}
}

func TestHubDisconnectsSlowSubscribersOnly(t *testing.T) {
	store := &logStore{}
	h, m := newTestHub(t, store, 2, 8)
	slow, _ := h.subscribe(alice, projA, &opA)
	fast, _ := h.subscribe(alice, projA, &opA)
	var fastGot []int64
	for i := range 5 {
		ev := logged(store, event(projA, opA, operation.EventProgress, i))[0]
		h.Deliver(ev)
		got, _ := drain(fast)
		fastGot = append(fastGot, got...)
	}
	if len(fastGot) != 5 {
		t.Fatalf("fast subscriber got %v", fastGot)
	}
	if got, closed := drain(slow); !closed || len(got) != 2 || !errors.Is(slow.err, operation.ErrSlowSubscriber) || m.slow != 1 {
		t.Fatalf("slow subscriber got %v closed=%v err=%v slow=%d", got, closed, slow.err, m.slow)
	}
}

func TestHubEndsOperationStreamsAfterTheTerminalEvent(t *testing.T) {
	store := &logStore{}
	h, m := newTestHub(t, store, 8, 8)
	sub, _ := h.subscribe(alice, projA, &opA)
	project, _ := h.subscribe(alice, projA, nil)
	h.Deliver(logged(store, event(projA, opA, operation.EventSucceeded, 100))[0])
	if got, closed := drain(sub); !closed || len(got) != 1 || sub.err != nil {
		t.Fatalf("operation stream got %v closed=%v err=%v", got, closed, sub.err)
	}
	if _, closed := drain(project); closed {
		t.Fatal("the project stream ended with one operation")
	}
	h.Shutdown()
	if _, closed := drain(project); !closed || !errors.Is(project.err, operation.ErrShuttingDown) {
		t.Fatalf("shutdown: %v", project.err)
	}
	if _, err := h.subscribe(alice, projA, nil); kernel.KindOf(err) != kernel.KindUnavailable {
		t.Fatalf("subscribe after shutdown: %v", err)
	}
	if m.opened != 2 || m.closed != 2 {
		t.Fatalf("opened %d closed %d", m.opened, m.closed)
	}
}

func TestHubCapsStreamsPerSubjectAndFloors(t *testing.T) {
	store := &logStore{}
	h, _ := newTestHub(t, store, 8, 2)
	a, _ := h.subscribe(alice, projA, nil)
	if _, err := h.subscribe(alice, projA, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe(alice, projB, nil); !errors.Is(err, operation.ErrTooManyStreams) {
		t.Fatalf("third stream: %v", err)
	}
	h.remove(a, nil)
	h.remove(a, nil) // twice is harmless
	b, err := h.subscribe(alice, projA, nil)
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	for i := range 3 {
		h.Deliver(logged(store, event(projA, opA, operation.EventProgress, i))[0])
	}
	h.setFloor(b, 2) // the initial messages covered up to 2
	if got, _ := drain(b); len(got) != 1 || got[0] != 3 {
		t.Fatalf("after the floor got %v, want [3]", got)
	}
}
