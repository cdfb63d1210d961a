// Package system adapts the real clock and a UUID source to the shared ports.
package system

import (
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/ports/shared"
)

// Clock is the wall clock.
type Clock struct{}

var _ shared.Clock = Clock{}

// Now returns the current time.
func (Clock) Now() time.Time { return time.Now() }

// UUIDv7 issues time-ordered UUIDs, which keep B-tree inserts local.
type UUIDv7 struct{}

var _ shared.IDGenerator = UUIDv7{}

// NewID returns a new version 7 UUID.
func (UUIDv7) NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
