// Package operation drives the operation context's background work: the
// relay that publishes accepted events.
package operation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	ports "github.com/scoped-api/foundation/ports/operation"
)

// Publisher is what the relay drives: the operation context's publishing
// use cases.
type Publisher interface {
	PublishPending(ctx context.Context) error
	PruneHistory(ctx context.Context) error
	MeasureRelayLag(ctx context.Context) (time.Duration, error)
}

// Relay publishes accepted events in the background: at once when told
// that some were accepted, every Interval otherwise (events accepted by an
// instance that stopped, a bus that came back), backing off while the
// store or the bus fails. Every instance runs one; the use case's lock lets
// one publish at a time.
//
// Beside it a watch measures, every Interval and from the store, how long
// the oldest accepted event has waited. Past MaxLag the relay is stalled:
// Health says so with the cause it knows, and OnStall is told.
type Relay struct {
	settings RelaySettings
	wake     chan struct{}

	mu    sync.Mutex
	state relayState
}

// relayState is what the steps and the watch have seen.
type relayState struct {
	stepStarted  time.Time // zero between steps
	failure      error     // the last step's error; nil after a step succeeded
	lag          time.Duration
	measureErr   error
	measureSince time.Time // first of the measurements failing in a row
	stalledSince time.Time // zero while not stalled
	stallTold    time.Time
}

// Health is the relay's condition as the watch last saw it.
type Health struct {
	Stalled bool
	// Lag is the age of the oldest unpublished event at the last
	// measurement that succeeded.
	Lag   time.Duration
	Cause string
	Since time.Time
}

var _ ports.RelayTrigger = (*Relay)(nil)

// RelaySettings tune the relay; Interval and PruneEvery are required.
type RelaySettings struct {
	Interval time.Duration
	// Linger is how long a woken relay waits for more reports before it
	// publishes, so that a busy instance numbers and publishes them together.
	Linger     time.Duration
	PruneEvery time.Duration
	// MaxLag is how long an event may wait before the relay counts as
	// stalled; a step still running after half of it is abandoned (and
	// retried), so that a hung connection or a held lock shows as a cause.
	MaxLag time.Duration
	// OnError hears failures the relay retries.
	OnError func(error)
	// OnStall hears that the relay stalled, when it starts and again at
	// most every stallRepeat while it lasts; OnRecover hears that it ended.
	OnStall   func(Health)
	OnRecover func(stalledFor time.Duration)
}

// stallRepeat is how often a stall that lasts is told again.
const stallRepeat = time.Minute

// maxBackoff caps the wait between failed attempts.
const maxBackoff = 2 * time.Second

// NewRelay returns a relay; Run starts it.
func NewRelay(s RelaySettings) *Relay {
	if s.Interval <= 0 || s.PruneEvery <= 0 || s.MaxLag <= 0 {
		panic("worker.NewRelay: no interval or maximum lag")
	}
	if s.OnError == nil {
		s.OnError = func(error) {}
	}
	if s.OnStall == nil {
		s.OnStall = func(Health) {}
	}
	if s.OnRecover == nil {
		s.OnRecover = func(time.Duration) {}
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

// Run publishes, and watches the lag, until ctx ends.
func (r *Relay) Run(ctx context.Context, p Publisher) {
	var watching sync.WaitGroup
	watching.Add(1)
	go func() {
		defer watching.Done()
		r.watch(ctx, p)
	}()
	defer watching.Wait()
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
		prune := time.Since(lastPrune) >= r.settings.PruneEvery
		err := r.step(ctx, p, prune)
		if err == nil && prune {
			lastPrune = time.Now()
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

// step publishes (and prunes) within half of MaxLag.
func (r *Relay) step(ctx context.Context, p Publisher, prune bool) error {
	r.mu.Lock()
	r.state.stepStarted = time.Now()
	r.mu.Unlock()
	sctx, cancel := context.WithTimeoutCause(ctx, r.settings.MaxLag/2, errStepTimeout)
	defer cancel()
	err := p.PublishPending(sctx)
	if err == nil && prune {
		err = p.PruneHistory(sctx)
	}
	if err != nil && errors.Is(context.Cause(sctx), errStepTimeout) && !errors.Is(err, errStepTimeout) {
		err = fmt.Errorf("%w: %w", errStepTimeout, err)
	}
	r.mu.Lock()
	r.state.stepStarted = time.Time{}
	r.state.failure = err
	r.mu.Unlock()
	return err
}

var errStepTimeout = errors.New("a relay step ran out of time")

// watch measures the lag every Interval until ctx ends.
func (r *Relay) watch(ctx context.Context, p Publisher) {
	t := time.NewTicker(r.settings.Interval)
	defer t.Stop()
	for {
		r.measure(ctx, p)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Relay) measure(ctx context.Context, p Publisher) {
	mctx, cancel := context.WithTimeout(ctx, r.settings.MaxLag/2)
	lag, err := p.MeasureRelayLag(mctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	st := &r.state
	if err != nil {
		if st.measureErr == nil {
			st.measureSince = now
		}
		st.measureErr = err
	} else {
		st.lag, st.measureErr = lag, nil
	}
	stalled := st.lag > r.settings.MaxLag || (st.measureErr != nil && now.Sub(st.measureSince) > r.settings.MaxLag)
	var tell func()
	switch {
	case stalled && st.stalledSince.IsZero():
		st.stalledSince, st.stallTold = now, now
		h := r.healthLocked(now)
		tell = func() { r.settings.OnStall(h) }
	case stalled && now.Sub(st.stallTold) >= stallRepeat:
		st.stallTold = now
		h := r.healthLocked(now)
		tell = func() { r.settings.OnStall(h) }
	case !stalled && !st.stalledSince.IsZero():
		d := now.Sub(st.stalledSince)
		st.stalledSince = time.Time{}
		tell = func() { r.settings.OnRecover(d) }
	}
	r.mu.Unlock()
	if tell != nil {
		tell()
	}
}

// Health reports whether the relay is stalled and, if so, why.
func (r *Relay) Health() Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.healthLocked(time.Now())
}

func (r *Relay) healthLocked(now time.Time) Health {
	st := r.state
	h := Health{Lag: st.lag, Stalled: !st.stalledSince.IsZero(), Since: st.stalledSince}
	if !h.Stalled {
		return h
	}
	switch {
	case st.failure != nil:
		h.Cause = st.failure.Error()
	case !st.stepStarted.IsZero() && now.Sub(st.stepStarted) >= r.settings.Interval:
		h.Cause = "a relay step has been running for " + now.Sub(st.stepStarted).Round(time.Millisecond).String()
	case st.measureErr != nil:
		h.Cause = "the lag cannot be measured: " + st.measureErr.Error()
	default:
		h.Cause = "no relay step failed: events are accepted faster than they are published, or no instance runs a relay"
	}
	return h
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
