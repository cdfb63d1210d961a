package testkit

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// Clock is a settable clock: the only piece of time tests replace.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// IDs issues version 7 UUIDs, like production, but records them.
type IDs struct {
	mu     sync.Mutex
	issued []uuid.UUID
}

// NewID returns a fresh UUIDv7.
func (g *IDs) NewID() uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	g.mu.Lock()
	g.issued = append(g.issued, id)
	g.mu.Unlock()
	return id
}

// Issued returns the ids handed out so far.
func (g *IDs) Issued() []uuid.UUID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]uuid.UUID(nil), g.issued...)
}
