// Package streaming is the operation context's event streams: the hub that
// fans the events an instance receives out to its subscribers, the
// snapshot and resume protocol a stream opens with, and the tickets that
// let a browser open one. Its exported surface is Streams (open a stream,
// issue and redeem tickets) and Hub (the bus's sink, Connected, Shutdown);
// subscribers, queues and locks stay inside.
package streaming

import (
	"context"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// logPage is how many events one read of the log returns when a stream or
// the hub catches up on what it missed.
const logPage = 500

// gapReadTimeout bounds one catch-up of missed events from the log.
const gapReadTimeout = 5 * time.Second

// Hub fans the events an instance receives out to its local streams. It is
// the bus's one sink: one subscription per instance, whatever the number of
// streams. It delivers each event once and in sequence order: an event
// whose predecessors it has not seen makes it read them from the log first,
// and one it has already seen is dropped.
type Hub struct {
	store      ports.RelayStore
	metrics    shared.StreamMetrics
	buffer     int
	perSubject int
	onError    func(error)

	mu        sync.Mutex
	last      int64
	closed    bool
	byOp      map[operation.ID]map[*subscriber]struct{}
	byProject map[kernel.ProjectID]map[*subscriber]struct{}
	counts    map[kernel.ProjectID]int
	subjects  map[kernel.Subject]int
}

var _ ports.Sink = (*Hub)(nil)

// HubSettings bound each subscriber; both numbers are required.
type HubSettings struct {
	// Buffer is how many events a subscriber may fall behind before it is
	// disconnected (it resumes from its last id, losing nothing).
	Buffer int
	// MaxStreamsPerSubject caps one caller's concurrent streams on this instance.
	MaxStreamsPerSubject int
	// OnError hears failures the hub recovers from (reading a gap from the log).
	OnError func(error)
}

// NewHub returns a hub that fills gaps from store.
func NewHub(store ports.RelayStore, metrics shared.StreamMetrics, s HubSettings) *Hub {
	if store == nil || metrics == nil || s.Buffer < 1 || s.MaxStreamsPerSubject < 1 {
		panic("streaming.NewHub: nil dependency or a bound below 1")
	}
	if s.OnError == nil {
		s.OnError = func(error) {}
	}
	return &Hub{
		store: store, metrics: metrics, buffer: s.Buffer, perSubject: s.MaxStreamsPerSubject, onError: s.OnError,
		byOp:      map[operation.ID]map[*subscriber]struct{}{},
		byProject: map[kernel.ProjectID]map[*subscriber]struct{}{},
		counts:    map[kernel.ProjectID]int{},
		subjects:  map[kernel.Subject]int{},
	}
}

// Prime sets the position the hub starts from (the log's head), before
// it subscribes to the bus.
func (h *Hub) Prime(ctx context.Context) error {
	head, err := h.store.Head(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.last = head
	h.mu.Unlock()
	return nil
}

// Deliver is called by the bus, from one goroutine, for every event published.
func (h *Hub) Deliver(ev operation.Recorded) {
	h.mu.Lock()
	last := h.last
	h.mu.Unlock()
	if ev.Seq <= last {
		return
	}
	if ev.Seq > last+1 && !h.catchUp(ev.Seq) {
		return
	}
	h.dispatch(ev)
}

// Resync is called by the bus when its subscription was (re)established:
// whatever was published while it was down is read from the log.
func (h *Hub) Resync() { h.catchUp(0) }

// catchUp dispatches the logged events after the last one seen, up to
// (not including) until, or all of them when until is 0. It reports
// whether the caller may go on dispatching.
func (h *Hub) catchUp(until int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), gapReadTimeout)
	defer cancel()
	for {
		h.mu.Lock()
		last := h.last
		h.mu.Unlock()
		if until > 0 && last >= until-1 {
			return true
		}
		page, err := h.store.ReadAll(ctx, last, logPage)
		if err != nil {
			// Without the missed events no stream can be served in order:
			// end them all; each resumes from its last id, reading the
			// log itself.
			h.onError(err)
			h.endAll(operation.ErrResync)
			if until > 0 {
				h.mu.Lock()
				h.last = until - 1
				h.mu.Unlock()
			}
			return true
		}
		for _, ev := range page {
			if until > 0 && ev.Seq >= until {
				return true
			}
			h.dispatch(ev)
		}
		if len(page) < logPage {
			if until > 0 {
				// The log has no more before until: the gap was a hole.
				h.mu.Lock()
				h.last = max(h.last, until-1)
				h.mu.Unlock()
			}
			return true
		}
	}
}

func (h *Hub) dispatch(ev operation.Recorded) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.Seq <= h.last {
		return
	}
	h.last = ev.Seq
	delivered := 0
	send := func(s *subscriber) {
		if s.project != ev.Project || ev.Seq <= s.floor {
			return
		}
		if !s.push(ev, h.buffer) {
			h.metrics.SlowSubscriberDisconnected()
			h.removeLocked(s, operation.ErrSlowSubscriber)
			return
		}
		delivered++
		if s.op != nil && ev.Type.Terminal() {
			h.removeLocked(s, nil)
		}
	}
	for s := range h.byOp[ev.Operation] {
		send(s)
	}
	for s := range h.byProject[ev.Project] {
		send(s)
	}
	if delivered > 0 {
		h.metrics.EventsDelivered(delivered)
	}
}

// subscribe registers a stream, refusing one over the caller's cap.
func (h *Hub) subscribe(subject kernel.Subject, project kernel.ProjectID, op *operation.ID) (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, kernel.Unavailable("stream.shutting_down", "the server is shutting down; retry", operation.ErrShuttingDown)
	}
	if h.subjects[subject] >= h.perSubject {
		return nil, operation.ErrTooManyStreams
	}
	s := &subscriber{hub: h, subject: subject, project: project, op: op, ready: make(chan struct{}, 1)}
	if op != nil {
		set := h.byOp[*op]
		if set == nil {
			set = map[*subscriber]struct{}{}
			h.byOp[*op] = set
		}
		set[s] = struct{}{}
	} else {
		set := h.byProject[project]
		if set == nil {
			set = map[*subscriber]struct{}{}
			h.byProject[project] = set
		}
		set[s] = struct{}{}
	}
	h.subjects[subject]++
	h.counts[project]++
	h.metrics.StreamOpened()
	return s, nil
}

// setFloor records what a stream's initial messages already cover.
func (h *Hub) setFloor(s *subscriber, floor int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.floor = floor
	s.dropThrough(floor)
}

func (h *Hub) remove(s *subscriber, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s, err)
}

func (h *Hub) removeLocked(s *subscriber, err error) {
	if s.removed {
		return
	}
	s.removed = true
	s.end(err)
	if s.op != nil {
		set := h.byOp[*s.op]
		delete(set, s)
		if len(set) == 0 {
			delete(h.byOp, *s.op)
		}
	} else {
		set := h.byProject[s.project]
		delete(set, s)
		if len(set) == 0 {
			delete(h.byProject, s.project)
		}
	}
	if h.subjects[s.subject]--; h.subjects[s.subject] <= 0 {
		delete(h.subjects, s.subject)
	}
	if h.counts[s.project]--; h.counts[s.project] <= 0 {
		delete(h.counts, s.project)
	}
	h.metrics.StreamClosed()
}

func (h *Hub) endAll(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.byOp {
		for s := range set {
			h.removeLocked(s, err)
		}
	}
	for _, set := range h.byProject {
		for s := range set {
			h.removeLocked(s, err)
		}
	}
}

// Shutdown ends every stream with ErrShuttingDown and refuses new ones.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.endAll(operation.ErrShuttingDown)
}

// Connected counts the project's streams on this instance.
func (h *Hub) Connected(project kernel.ProjectID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[project]
}
