// Package shared declares the ports every bounded context may need: time,
// identifiers and transactions.
package shared

import (
	"context"
	"time"

	"github.com/google/uuid"
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
