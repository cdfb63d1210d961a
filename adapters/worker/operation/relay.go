// Package operation drives the operation context's background work: the
// relay that publishes accepted events.
package operation

import (
	"context"
	"time"

	ports "github.com/scoped-api/foundation/ports/operation"
)

// Publisher is what the relay drives: the operation context's publishing
// use cases.
type Publisher interface {
	PublishPending(ctx context.Context) error
	PruneHistory(ctx context.Context) error
}

// Relay publishes accepted events in the background: at once when told
// that some were accepted, every Interval otherwise (events accepted by an
// instance that stopped, a bus that came back), backing off while the
// store or the bus fails. Every instance runs one; the use case's lock lets
// one publish at a time.
type Relay struct {
	settings RelaySettings
	wake     chan struct{}
}

var _ ports.RelayTrigger = (*Relay)(nil)

// RelaySettings tune the relay; Interval and PruneEvery are required.
type RelaySettings struct {
	Interval time.Duration
	// Linger is how long a woken relay waits for more reports before it
	// publishes, so that a busy instance numbers and publishes them together.
	Linger     time.Duration
	PruneEvery time.Duration
	// OnError hears failures the relay retries.
	OnError func(error)
}

// maxBackoff caps the wait between failed attempts.
const maxBackoff = 2 * time.Second

// NewRelay returns a relay; Run starts it.
func NewRelay(s RelaySettings) *Relay {
	if s.Interval <= 0 || s.PruneEvery <= 0 {
		panic("worker.NewRelay: no interval")
	}
	if s.OnError == nil {
		s.OnError = func(error) {}
	}
	return &Relay{settings: s, wake: make(chan struct{}, 1)}
}

// EventsAccepted asks for a step soon; calls while one is pending merge.
func (r *Relay) EventsAccepted() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends.
func (r *Relay) Run(ctx context.Context, p Publisher) {
	backoff := time.Duration(0)
	ticker := time.NewTicker(r.settings.Interval)
	defer ticker.Stop()
	var lastPrune time.Time
	for {
		if backoff > 0 {
			if !sleep(ctx, backoff) {
				return
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
				if r.settings.Linger > 0 {
					if !sleep(ctx, r.settings.Linger) {
						return
					}
					select { // this step covers the wake-ups that came meanwhile
					case <-r.wake:
					default:
					}
				}
			case <-ticker.C:
			}
		}
		err := p.PublishPending(ctx)
		if err == nil && time.Since(lastPrune) >= r.settings.PruneEvery {
			if err = p.PruneHistory(ctx); err == nil {
				lastPrune = time.Now()
			}
		}
		if err != nil {
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

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
