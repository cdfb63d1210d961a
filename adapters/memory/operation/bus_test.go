package operation

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/domain/operation"
)

// gatedSink records calls; with a gate, Deliver waits until it is closed.
type gatedSink struct {
	mu      sync.Mutex
	calls   []string
	gate    chan struct{}
	entered chan struct{}
}

func (s *gatedSink) Resync() { s.add("resync") }

func (s *gatedSink) Deliver(ev operation.Recorded) {
	if s.gate != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-s.gate
	}
	s.add(fmt.Sprint(ev.Seq))
}

func (s *gatedSink) add(c string) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

func (s *gatedSink) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := append([]string(nil), s.calls...)
		s.mu.Unlock()
		if reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls = %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func seqs(from, to int64) []operation.Recorded {
	var out []operation.Recorded
	for s := from; s <= to; s++ {
		out = append(out, operation.Recorded{Seq: s})
	}
	return out
}

func TestBusASlowSinkHoldsUpNeitherPublishNorOtherSinks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bus := NewBus()
	slow := &gatedSink{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	fast := &gatedSink{}
	for _, s := range []*gatedSink{slow, fast} {
		if err := bus.Subscribe(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for i := int64(1); i <= 1000; i++ {
		if err := bus.Publish(ctx, seqs(i, i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("publishing to a stuck sink took %v", d)
	}
	want := []string{"resync"}
	for i := 1; i <= 1000; i++ {
		want = append(want, fmt.Sprint(i))
	}
	fast.waitFor(t, want...)
	<-slow.entered
	close(slow.gate)
	slow.waitFor(t, want...)
}

func TestBusASinkTooFarBehindIsResynced(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bus := NewBus()
	bus.maxPending = 3
	gate := make(chan struct{})
	sink := &gatedSink{gate: gate, entered: make(chan struct{}, 1)}
	if err := bus.Subscribe(ctx, sink); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "resync")
	_ = bus.Publish(ctx, seqs(1, 1))
	<-sink.entered // event 1 is being delivered; the queue is empty
	_ = bus.Publish(ctx, seqs(2, 4))
	_ = bus.Publish(ctx, seqs(5, 5)) // a fourth waiting event: over the limit
	close(gate)
	sink.waitFor(t, "resync", "1", "resync")
	_ = bus.Publish(ctx, seqs(6, 6))
	sink.waitFor(t, "resync", "1", "resync", "6")
}

func TestBusSubscribeOnAnEndedContextFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewBus().Subscribe(ctx, &gatedSink{}); err == nil {
		t.Fatal("subscribed with an ended context")
	}
}

func TestBusForgetsAnEndedSubscription(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	bus := NewBus()
	if err := bus.Subscribe(ctx, &gatedSink{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		bus.mu.Lock()
		n := len(bus.subs)
		bus.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions left after their context ended", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
