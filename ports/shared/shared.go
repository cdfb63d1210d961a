// Package shared declares the ports every bounded context may need: time,
// identifiers and transactions.
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

// TxRunner runs fn in one transaction carried by the context it passes to
// fn. Every repository call made with that context joins the transaction;
// the transaction commits when fn returns nil and rolls back otherwise.
type TxRunner interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// ProjectGate is how a project-scoped context learns whether a caller may
// see a project. Visible returns nil for a live project of subject and an
// error of kind NotFound otherwise, so that a project someone else owns is
// indistinguishable from one that does not exist.
type ProjectGate interface {
	Visible(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) error
}
