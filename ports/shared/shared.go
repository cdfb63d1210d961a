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
// project, and what they may do there. Access grants the capability every
// project-scoped use case takes, or returns an error of kind NotFound, so
// that a project someone else owns is indistinguishable from one that
// does not exist.
type ProjectGate interface {
	Access(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) (kernel.ProjectAccess, error)
	// Recheck asks again for an access granted earlier, with an answer at
	// most maxAge old, for work that outlives a request (a stream).
	Recheck(ctx context.Context, access kernel.ProjectAccess, maxAge time.Duration) (kernel.ProjectAccess, error)
	// Revoked is closed when this instance takes the access's subject out
	// of its project (removed, or the project deleted); stop releases it.
	Revoked(access kernel.ProjectAccess) (revoked <-chan struct{}, stop func())
}
