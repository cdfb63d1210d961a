package operation

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// publisher counts the relay's calls and fails while told to.
type publisher struct {
	mu                sync.Mutex
	published, pruned int
	fail              int // calls left to fail
}

func (p *publisher) PublishPending(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		return errors.New("bus down")
	}
	p.published++
	return nil
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
	r := NewRelay(RelaySettings{Interval: time.Hour, PruneEvery: time.Hour, OnError: func(error) { errsMu.Lock(); errs++; errsMu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, p); close(done) }()

	r.EventsAccepted()
	r.EventsAccepted() // merged with the first
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
	r := NewRelay(RelaySettings{Interval: 20 * time.Millisecond, Linger: 5 * time.Millisecond, PruneEvery: time.Hour})
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
