// Package shared declares the ports every bounded context may need: time,
// identifiers, and the project gate.
package shared

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Clock tells the time; tests replace it to make time-dependent rules exact.
type Clock interface {
	Now() time.Time
}

// IDGenerator issues new identifiers; tests may replace it.
type IDGenerator interface {
	NewID() uuid.UUID
}

// ProjectGate is the one place that decides whether a caller may act in a
// project. Access grants the capability every project-scoped use case
// takes, or returns an error of kind NotFound, so that a project someone
// else owns is indistinguishable from one that does not exist.
type ProjectGate interface {
	Access(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) (kernel.ProjectAccess, error)
}
