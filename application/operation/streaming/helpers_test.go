package streaming

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

var (
	ctx   = context.Background()
	t0    = time.Now().UTC().Truncate(time.Millisecond) // the in-memory ticket store checks expiry against the real clock
	alice = func() kernel.Subject { s, _ := kernel.ParseSubject("alice"); return s }()
	projA = kernel.ProjectIDFrom(uuid.MustParse("0190a000-0000-7000-8000-00000000000a"))
	projB = kernel.ProjectIDFrom(uuid.MustParse("0190b000-0000-7000-8000-00000000000b"))
	inA   = kernel.GrantProjectAccess(alice, projA, kernel.AllPermissions)
	inB   = kernel.GrantProjectAccess(alice, projB, kernel.AllPermissions)
)

type countingMetrics struct {
	mu                              sync.Mutex
	opened, closed, delivered, slow int
}

func (m *countingMetrics) StreamOpened()               { m.mu.Lock(); m.opened++; m.mu.Unlock() }
func (m *countingMetrics) StreamClosed()               { m.mu.Lock(); m.closed++; m.mu.Unlock() }
func (m *countingMetrics) EventsDelivered(n int)       { m.mu.Lock(); m.delivered += n; m.mu.Unlock() }
func (m *countingMetrics) SlowSubscriberDisconnected() { m.mu.Lock(); m.slow++; m.mu.Unlock() }
func (m *countingMetrics) RelayLag(time.Duration)      {}

// clock is a settable clock (testkit's would import bootstrap, which
// imports this package).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// triggerFunc wakes the relay by calling a function.
type triggerFunc func()

func (f triggerFunc) EventsAccepted() { f() }

// world is the operation context in memory: the real in-memory
// repository and event log, a hub over them and the streams.
type world struct {
	t       *testing.T
	log     *memoperation.EventLog
	repo    *memoperation.Repository
	hub     *Hub
	streams *Streams
	metrics *countingMetrics
	clock   *clock
	gate    *testGate
	woken   int
	// onWake, when set, runs each time a stream wakes the relay.
	onWake func()
}

func newWorld(t *testing.T, buffer, perSubject int) *world {
	t.Helper()
	w := &world{t: t, log: memoperation.NewEventLog(), metrics: &countingMetrics{}, clock: &clock{now: t0}, gate: &testGate{may: kernel.AllPermissions}}
	w.repo = memoperation.NewRepository(w.log)
	w.hub = NewHub(w.log, w.metrics, HubSettings{Buffer: buffer, MaxStreamsPerSubject: perSubject})
	if err := w.hub.Prime(ctx); err != nil {
		t.Fatal(err)
	}
	w.streams = NewStreams(Deps{Hub: w.hub, Repo: w.repo, Log: w.log, Tickets: memoperation.NewTicketStore(),
		Trigger: triggerFunc(func() {
			w.woken++
			if w.onWake != nil {
				w.onWake()
			}
		}), Clock: w.clock, Gate: w.gate, Recheck: time.Second}, Lifetimes{Ticket: time.Minute, Pass: 15 * time.Minute})
	return w
}

// testGate is the project gate as streams see it: Recheck answers what
// the test last set, revoke closes what Revoked handed out.
type testGate struct {
	mu       sync.Mutex
	refusal  error
	may      kernel.Permission
	watched  []chan struct{}
	watches  int
	stopped  int
	rechecks int
}

func (g *testGate) Access(context.Context, kernel.Subject, kernel.ProjectID) (kernel.ProjectAccess, error) {
	panic("streams never ask for a new access")
}

func (g *testGate) Recheck(_ context.Context, a kernel.ProjectAccess, _ time.Duration) (kernel.ProjectAccess, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rechecks++
	if g.refusal != nil {
		return kernel.ProjectAccess{}, g.refusal
	}
	return kernel.GrantProjectAccess(a.Subject(), a.Project(), g.may), nil
}

func (g *testGate) Revoked(kernel.ProjectAccess) (<-chan struct{}, func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := make(chan struct{})
	g.watched = append(g.watched, ch)
	g.watches++
	return ch, func() { g.mu.Lock(); g.stopped++; g.mu.Unlock() }
}

func (g *testGate) answer(may kernel.Permission, refusal error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.may, g.refusal = may, refusal
}

// counts reads the gate's counters under its lock.
func (g *testGate) counts() (watches, stopped, rechecks int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.watches, g.stopped, g.rechecks
}

func (g *testGate) revoke() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, ch := range g.watched {
		close(ch)
	}
	g.watched = nil
}

// create adds an operation to the access's project; its created event
// waits in the outbox.
func (w *world) create(access kernel.ProjectAccess) *operation.Operation {
	w.t.Helper()
	op, err := operation.New(operation.IDFrom(uuid.Must(uuid.NewV7())), access.Project(), "import", "", w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.repo.Add(ctx, access, op); err != nil {
		w.t.Fatal(err)
	}
	return op
}

// report applies a progress report; its event waits in the outbox.
func (w *world) report(access kernel.ProjectAccess, op *operation.Operation, r operation.Report) {
	w.t.Helper()
	if _, err := w.repo.Update(ctx, access, op.ID(), func(o *operation.Operation) error { return o.Apply(r, w.clock.Now()) }); err != nil {
		w.t.Fatal(err)
	}
}

// sequence numbers what waits in the outbox, as the relay would, and
// returns the events numbered.
func (w *world) sequence() []operation.Recorded {
	w.t.Helper()
	got, err := w.log.Sequence(ctx, 1000, ports.Range{})
	if err != nil {
		w.t.Fatal(err)
	}
	return got.Events
}

// publish numbers what waits and delivers it to the hub, as the relay and
// the bus would.
func (w *world) publish() []operation.Recorded {
	w.t.Helper()
	evs := w.sequence()
	for _, ev := range evs {
		w.hub.Deliver(ev)
	}
	return evs
}

func seqs(evs []operation.Recorded) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func drain(s *subscriber) (got []int64, ended bool) {
	evs, done := s.take()
	return seqs(evs), done
}

func percent(n int) operation.Report { return operation.Report{Percent: n} }

func equal(a, b []int64) bool { return slices.Equal(a, b) }
