package operation

import (
	"context"
	"sync"
	"time"

	"github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// Relay moves accepted events from the outbox into the log, numbering them,
// and publishes them on the bus. Every instance runs one; a store lock lets
// one work at a time, so events are numbered and published in one order.
// An event is marked published only after the bus took it: when the bus is
// down, events wait in the log and leave, in order, once it is back.
type Relay struct {
	store    operation.RelayStore
	bus      operation.Bus
	clock    shared.Clock
	metrics  shared.StreamMetrics
	settings RelaySettings
	nudge    chan struct{}
	// mu serialises steps of this instance: Run's and those a stream
	// asks for; the store lock serialises them across instances.
	mu        sync.Mutex
	lastPrune time.Time
}

// RelaySettings tune the relay.
type RelaySettings struct {
	// Interval is how often the relay looks for work nobody nudged it
	// about (events accepted by an instance that stopped, a bus that came back).
	Interval time.Duration
	// Linger is how long a nudged relay waits for more reports before its
	// step, so that a busy instance numbers and publishes them together.
	Linger time.Duration
	// Batch is the most events one step moves or publishes.
	Batch int
	// Retention is how long published events stay in the log for resumes.
	Retention time.Duration
	// PruneEvery is how often old events are pruned.
	PruneEvery time.Duration
	// OnError hears failures the relay retries.
	OnError func(error)
}

// NewRelay returns a relay; Run starts it.
func NewRelay(store operation.RelayStore, bus operation.Bus, clock shared.Clock, metrics shared.StreamMetrics, s RelaySettings) *Relay {
	if s.Interval <= 0 {
		s.Interval = time.Second
	}
	if s.Batch <= 0 {
		s.Batch = 500
	}
	if s.PruneEvery <= 0 {
		s.PruneEvery = time.Minute
	}
	if s.OnError == nil {
		s.OnError = func(error) {}
	}
	return &Relay{store: store, bus: bus, clock: clock, metrics: metrics, settings: s, nudge: make(chan struct{}, 1)}
}

// Nudge asks for a step soon; nudges while one is pending merge.
func (r *Relay) Nudge() {
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// Run steps whenever nudged or every Interval until ctx ends, backing off
// while the store or the bus fails.
func (r *Relay) Run(ctx context.Context) {
	const maxBackoff = 2 * time.Second
	backoff := time.Duration(0)
	ticker := time.NewTicker(r.settings.Interval)
	defer ticker.Stop()
	for {
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-r.nudge:
				if r.settings.Linger > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(r.settings.Linger):
					}
					select { // this step covers the nudges that came meanwhile
					case <-r.nudge:
					default:
					}
				}
			case <-ticker.C:
			}
		}
		if err := r.Step(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.settings.OnError(err)
			backoff = min(max(2*backoff, 50*time.Millisecond), maxBackoff)
			continue
		}
		backoff = 0
	}
}

// Sequence numbers every accepted event still in the outbox, without
// publishing: after it, every event committed before the call is in the log.
func (r *Relay) Sequence(ctx context.Context) error {
	return r.locked(ctx, r.sequence)
}

// locked runs fn holding this instance's step mutex and the store's
// relay lock.
func (r *Relay) locked(ctx context.Context, fn func(ctx context.Context) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	unlock, err := r.store.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(ctx)
}

func (r *Relay) sequence(ctx context.Context) error {
	for {
		n, err := r.store.Sequence(ctx, r.settings.Batch)
		if err != nil {
			return err
		}
		if n < r.settings.Batch {
			return nil
		}
	}
}

// Step numbers and publishes everything waiting, and prunes when due.
func (r *Relay) Step(ctx context.Context) error {
	return r.locked(ctx, r.step)
}

func (r *Relay) step(ctx context.Context) error {
	if err := r.sequence(ctx); err != nil {
		return err
	}
	for {
		events, err := r.store.Unpublished(ctx, r.settings.Batch)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			break
		}
		if err := r.bus.Publish(ctx, events); err != nil {
			r.reportLag(ctx)
			return err
		}
		if err := r.store.MarkPublished(ctx, events[len(events)-1].Seq); err != nil {
			return err
		}
		if len(events) < r.settings.Batch {
			break
		}
	}
	r.metrics.RelayLag(0)
	if r.settings.Retention > 0 && r.clock.Now().Sub(r.lastPrune) >= r.settings.PruneEvery {
		if _, err := r.store.Prune(ctx, r.clock.Now().Add(-r.settings.Retention)); err != nil {
			return err
		}
		r.lastPrune = r.clock.Now()
	}
	return nil
}

func (r *Relay) reportLag(ctx context.Context) {
	at, ok, err := r.store.OldestUnpublished(ctx)
	if err != nil || !ok {
		return
	}
	r.metrics.RelayLag(r.clock.Now().Sub(at))
}
