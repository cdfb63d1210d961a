package operation

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// publisher counts the relay's calls and fails while told to.
type publisher struct {
	mu                sync.Mutex
	published, pruned int
	fail              int   // calls left to fail
	failWith          error // what they fail with; "bus down" when nil
	hang              bool  // PublishPending waits for its context to end
	lag               time.Duration
	lagErr            error
}

func (p *publisher) PublishPending(ctx context.Context) error {
	p.mu.Lock()
	if p.hang {
		p.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		if p.failWith != nil {
			return p.failWith
		}
		return errors.New("bus down")
	}
	p.published++
	return nil
}

func (p *publisher) MeasureRelayLag(context.Context) (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lag, p.lagErr
}

func (p *publisher) set(f func(p *publisher)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *publisher) PruneHistory(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pruned++
	return nil
}

func (p *publisher) counts() (published, pruned int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published, p.pruned
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRelayPublishesWhenWokenRetriesAndStops(t *testing.T) {
	p := &publisher{fail: 2}
	var errsMu sync.Mutex
	errs := 0
	r := NewRelay(RelaySettings{Interval: time.Hour, PruneEvery: time.Hour, MaxLag: 3 * time.Hour, OnError: func(error) { errsMu.Lock(); errs++; errsMu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// Both before the relay runs, so that the second is merged with the
	// first for certain (once running, the relay may take the first wake
	// before the second arrives, and then publish twice).
	r.EventsAccepted()
	r.EventsAccepted()
	go func() { r.Run(ctx, p); close(done) }()
	// Two failures, each reported, then the backoff's retry succeeds with
	// nobody waking it; pruning runs after the first success.
	eventually(t, "a publish after two failures", func() bool { n, pruned := p.counts(); return n == 1 && pruned == 1 })
	errsMu.Lock()
	if errs != 2 {
		t.Errorf("reported %d errors, want 2", errs)
	}
	errsMu.Unlock()
	r.EventsAccepted()
	eventually(t, "a publish when woken", func() bool { n, _ := p.counts(); return n == 2 })
	if _, pruned := p.counts(); pruned != 1 {
		t.Errorf("pruned %d times within PruneEvery", pruned)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

func TestRelayPollsEveryIntervalAndLingers(t *testing.T) {
	p := &publisher{}
	r := NewRelay(RelaySettings{Interval: 20 * time.Millisecond, Linger: 5 * time.Millisecond, PruneEvery: time.Hour, MaxLag: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, p)
	eventually(t, "three polls without a wake-up", func() bool { n, _ := p.counts(); return n >= 3 })
	r.EventsAccepted()
	before, _ := p.counts()
	eventually(t, "a lingering publish", func() bool { n, _ := p.counts(); return n > before })
}

func TestNewRelayRefusesNoInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a relay without an interval must panic")
		}
	}()
	NewRelay(RelaySettings{})
}

// stallLog records what the relay tells about stalls.
type stallLog struct {
	mu        sync.Mutex
	stalls    []Health
	recovered int
}

func (l *stallLog) settings(s RelaySettings) RelaySettings {
	s.OnStall = func(h Health) { l.mu.Lock(); l.stalls = append(l.stalls, h); l.mu.Unlock() }
	s.OnRecover = func(time.Duration) { l.mu.Lock(); l.recovered++; l.mu.Unlock() }
	return s
}

func (l *stallLog) counts() (stalls, recovered int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.stalls), l.recovered
}

func runRelay(t *testing.T, s RelaySettings, p Publisher) *Relay {
	t.Helper()
	r := NewRelay(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, p); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func TestRelayStallsPastMaxLagNamingTheFailureOnceAndRecovers(t *testing.T) {
	held := errors.New("numbering lock held by another session")
	p := &publisher{fail: 1 << 30, failWith: held}
	var told stallLog
	r := runRelay(t, told.settings(RelaySettings{Interval: 10 * time.Millisecond, PruneEvery: time.Hour, MaxLag: 200 * time.Millisecond}), p)

	// Failing steps alone are no stall: nothing has waited long yet.
	eventually(t, "failed steps", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.fail < 1<<30-3 })
	if h := r.Health(); h.Stalled {
		t.Fatalf("stalled with no lag: %+v", h)
	}
	p.set(func(p *publisher) { p.lag = time.Second })
	eventually(t, "a stall", func() bool { return r.Health().Stalled })
	h := r.Health()
	if h.Cause != held.Error() || h.Lag != time.Second || h.Since.IsZero() {
		t.Fatalf("health %+v, want the step's failure as cause and the measured lag", h)
	}
	// Many measurements later it has been told once (then once a minute).
	time.Sleep(100 * time.Millisecond)
	if stalls, _ := told.counts(); stalls != 1 {
		t.Fatalf("told of the stall %d times, want once", stalls)
	}
	p.set(func(p *publisher) { p.fail, p.lag = 0, 0 })
	eventually(t, "recovery", func() bool { _, rec := told.counts(); return rec == 1 && !r.Health().Stalled })
}

func TestRelayAbandonsAHangingStepAndSaysSo(t *testing.T) {
	p := &publisher{hang: true, lag: time.Minute}
	var errsMu sync.Mutex
	var errs []error
	var told stallLog
	s := told.settings(RelaySettings{Interval: 10 * time.Millisecond, PruneEvery: time.Hour, MaxLag: 100 * time.Millisecond,
		OnError: func(err error) { errsMu.Lock(); errs = append(errs, err); errsMu.Unlock() }})
	r := runRelay(t, s, p)
	// The hanging step is cut after MaxLag/2 and reported as such.
	eventually(t, "an abandoned step", func() bool { errsMu.Lock(); defer errsMu.Unlock(); return len(errs) > 0 })
	errsMu.Lock()
	first := errs[0]
	errsMu.Unlock()
	if !errors.Is(first, errStepTimeout) || !errors.Is(first, context.DeadlineExceeded) {
		t.Fatalf("step error %v, want the step timeout wrapping the deadline", first)
	}
	eventually(t, "a stall naming the step", func() bool {
		h := r.Health()
		return h.Stalled && (strings.Contains(h.Cause, "ran out of time") || strings.Contains(h.Cause, "has been running for"))
	})
}

func TestRelayStallsWhenTheLagCannotBeMeasured(t *testing.T) {
	p := &publisher{lagErr: errors.New("database unavailable")}
	var told stallLog
	r := runRelay(t, told.settings(RelaySettings{Interval: 10 * time.Millisecond, PruneEvery: time.Hour, MaxLag: 100 * time.Millisecond}), p)
	eventually(t, "a stall", func() bool { return r.Health().Stalled })
	if h := r.Health(); !strings.Contains(h.Cause, "cannot be measured: database unavailable") {
		t.Fatalf("cause %q", h.Cause)
	}
	p.set(func(p *publisher) { p.lagErr = nil })
	eventually(t, "recovery", func() bool { _, rec := told.counts(); return rec == 1 })
}
