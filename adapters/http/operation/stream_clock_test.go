package operation

import (
	"testing"
	"time"
)

func TestAStreamClockWakesForWhatEndsTheStreamFirst(t *testing.T) {
	h := &Handler{settings: StreamSettings{Keepalive: 10 * time.Second, MaxDuration: time.Hour}}
	t0 := time.Now()
	c := h.newClock(t0, t0.Add(30*time.Second), true)
	if got := c.wait(t0); got != 5*time.Second {
		t.Fatalf("first wake in %v, want the departure check at 5s", got)
	}
	if w := c.due(t0.Add(5 * time.Second)); w != wakeDeparture {
		t.Fatalf("at 5s: %v, want a departure check", w)
	}
	// Keepalive and departure fall due together at 10s: one is served, the
	// other at the next wake, with no wait between.
	first, second := c.due(t0.Add(10*time.Second)), c.due(t0.Add(10*time.Second))
	if first != wakeDeparture || second != wakeKeepalive {
		t.Fatalf("at 10s: %v then %v, want departure then keepalive", first, second)
	}
	if got := c.wait(t0.Add(10 * time.Second)); got != 5*time.Second {
		t.Fatalf("after 10s the next wake is in %v, want 5s", got)
	}
	// A busy stream skips the beats it missed instead of catching up.
	if w := c.due(t0.Add(27 * time.Second)); w != wakeDeparture || !c.departure.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("at 27s: %v, next departure %v, want one check and the next at 30s", w, c.departure.Sub(t0))
	}
	if w := c.due(t0.Add(30 * time.Second)); w != wakeExpiry {
		t.Fatalf("at 30s the token expired, got %v", w)
	}
	c.drain = t0.Add(time.Second)
	if w := c.due(t0.Add(2 * time.Second)); w != wakeDrain {
		t.Fatalf("a drain moment that passed: %v", w)
	}
	if w := (&streamClock{lifetime: t0, drain: t0, keepalive: t0}).due(t0); w != wakeLifetime {
		t.Fatalf("lifetime and drain together: %v, want the lifetime", w)
	}
}

func TestAStreamClockWithoutDeparturesOrTokenWaitsForTheKeepalive(t *testing.T) {
	h := &Handler{settings: StreamSettings{Keepalive: 15 * time.Second, MaxDuration: 10 * time.Second}}
	t0 := time.Now()
	c := h.newClock(t0, time.Time{}, false)
	if got := c.wait(t0); got != 10*time.Second {
		t.Fatalf("first wake in %v, want the 10s lifetime", got)
	}
	if w := c.due(t0.Add(9 * time.Second)); w != wakeNothing {
		t.Fatalf("before anything is due: %v", w)
	}
	if got := c.wait(t0.Add(11 * time.Second)); got != 0 {
		t.Fatalf("a moment that passed waits %v, want 0", got)
	}
}
