package operation

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// flakyBus fails while down and records what it published.
type flakyBus struct {
	mu   sync.Mutex
	down bool
	got  []int64
}

func (b *flakyBus) Publish(_ context.Context, evs []operation.Recorded) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errors.New("bus down")
	}
	for _, ev := range evs {
		b.got = append(b.got, ev.Seq)
	}
	return nil
}
func (b *flakyBus) Subscribe(context.Context, ports.Sink) error { return nil }

func TestRelayNumbersPublishesAndRetriesInOrder(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	store := &logStore{}
	bus := &flakyBus{}
	m := &countingMetrics{}
	r := NewRelay(store, bus, fixedClock{at.Add(time.Minute)}, m, RelaySettings{Batch: 2})
	for i := range 5 {
		ev := event(projA, opA, operation.EventProgress, i)
		ev.At = at
		store.outbox = append(store.outbox, ev)
	}
	bus.down = true
	// Numbering alone needs no bus: a stream's snapshot asks for it.
	if err := r.Sequence(context.Background()); err != nil || len(store.events) != 5 || len(store.outbox) != 0 || len(bus.got) != 0 {
		t.Fatalf("sequence with the bus down: %v, %d logged", err, len(store.events))
	}
	if err := r.Step(context.Background()); err == nil {
		t.Fatal("a step with the bus down succeeded")
	}
	if len(store.events) != 5 || store.published != 0 || m.lag != time.Minute {
		t.Fatalf("while down: %d logged, published %d, lag %v", len(store.events), store.published, m.lag)
	}
	bus.down = false
	if err := r.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(bus.got) != 5 || store.published != 5 || m.lag != 0 {
		t.Fatalf("published %v watermark %d lag %v", bus.got, store.published, m.lag)
	}
	for i, seq := range bus.got {
		if seq != int64(i+1) {
			t.Fatalf("published out of order: %v", bus.got)
		}
	}
	// Run steps when nudged and stops with its context.
	store.outbox = append(store.outbox, event(projA, opA, operation.EventProgress, 9))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.Nudge()
	deadline := time.Now().Add(5 * time.Second)
	for {
		bus.mu.Lock()
		n := len(bus.got)
		bus.mu.Unlock()
		if n == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a nudge did not publish")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
