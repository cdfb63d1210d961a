// Package operation keeps the operation context in memory: operations,
// their outbox and event log, the in-process event bus and the ticket
// store. The bus and the tickets serve the single-instance embedded mode;
// the repository and the log serve fast tests of the use cases, and all
// of them pass the same contract suites as the database and Redis adapters.
package operation

import (
	"context"
	"sync"

	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// DefaultMaxPending bounds how many events wait for one slow sink before
// they are replaced by a single Resync.
const DefaultMaxPending = 1 << 16

// Bus carries events within one process. Publish only appends to
// each subscriber's ordered queue; one goroutine per subscriber drains it
// into its sink. So a slow sink never holds up Publish or the other sinks,
// and every sink still sees events in publish order.
//
// A queue is bounded: when a sink falls DefaultMaxPending events behind,
// its backlog is dropped and replaced by one Resync, the same signal a
// Redis subscriber gets when Redis disconnects it for falling behind.
type Bus struct {
	mu         sync.Mutex
	subs       map[*subscription]struct{}
	maxPending int
}

var _ ports.Bus = (*Bus)(nil)

// NewBus returns a bus without subscribers.
func NewBus() *Bus {
	return &Bus{subs: map[*subscription]struct{}{}, maxPending: DefaultMaxPending}
}

// Publish queues events, in order, for every current subscriber. It never
// waits for a sink.
func (b *Bus) Publish(_ context.Context, events []operation.Recorded) error {
	if len(events) == 0 {
		return nil
	}
	// Holding b.mu across the queues gives every subscriber the same order
	// when several goroutines publish.
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(events, b.maxPending)
	}
	return nil
}

// Subscribe registers sink and returns at once; its goroutine calls
// sink.Resync first, then delivers every event published from now on,
// until ctx ends.
func (b *Bus) Subscribe(ctx context.Context, sink ports.Sink) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &subscription{sink: sink, resync: true, wake: make(chan struct{}, 1)}
	s.wake <- struct{}{}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go func() {
		defer func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
		}()
		s.run(ctx)
	}()
	return nil
}

// subscription is one sink's queue: a pending Resync, which always comes
// before the queued events, and the events.
type subscription struct {
	sink ports.Sink
	wake chan struct{}

	mu     sync.Mutex
	resync bool
	queue  []operation.Recorded
}

func (s *subscription) push(events []operation.Recorded, maxPending int) {
	s.mu.Lock()
	if len(s.queue)+len(events) > maxPending {
		s.queue = nil
		s.resync = true
	} else {
		s.queue = append(s.queue, events...)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscription) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			resync, batch := s.resync, s.queue
			s.resync, s.queue = false, nil
			s.mu.Unlock()
			if !resync && len(batch) == 0 {
				break
			}
			if ctx.Err() != nil {
				return
			}
			if resync {
				s.sink.Resync()
			}
			for _, ev := range batch {
				if ctx.Err() != nil {
					return
				}
				s.sink.Deliver(ev)
			}
		}
	}
}
