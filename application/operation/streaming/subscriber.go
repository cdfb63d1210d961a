package streaming

import (
	"sync"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// subscriber is one stream's place in the hub. Its queue holds the events
// not yet taken by the stream's writer; it is empty (and costs nothing)
// while the stream is idle, and bounded by the hub's buffer.
type subscriber struct {
	hub     *Hub
	subject kernel.Subject
	project kernel.ProjectID
	op      *operation.ID
	// floor: events at or below it were already sent (in the initial
	// messages). It and removed are guarded by hub.mu; the rest by mu.
	floor   int64
	removed bool
	ready   chan struct{}
	mu      sync.Mutex
	queue   []operation.Recorded
	ended   bool
	err     error
}

// push queues ev, reporting false when the queue is full.
func (s *subscriber) push(ev operation.Recorded, limit int) bool {
	s.mu.Lock()
	if len(s.queue) >= limit {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.signal()
	return true
}

func (s *subscriber) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// take hands the queued events to the writer; done reports that the
// stream ended after them.
func (s *subscriber) take() (events []operation.Recorded, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, s.queue = s.queue, nil
	return events, s.ended
}

// dropThrough forgets queued events at or below seq, and signals the
// writer when some remain (the opening may have consumed a signal).
func (s *subscriber) dropThrough(seq int64) {
	s.mu.Lock()
	kept := s.queue[:0]
	for _, ev := range s.queue {
		if ev.Seq > seq {
			kept = append(kept, ev)
		}
	}
	s.queue = kept
	pending := len(kept) > 0 || s.ended
	s.mu.Unlock()
	if pending {
		s.signal()
	}
}

func (s *subscriber) end(err error) {
	s.mu.Lock()
	s.ended, s.err = true, err
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) reason() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
