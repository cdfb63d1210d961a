package shared

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// IdempotentRequest names one write a client may retry: the caller's
// key (keys are per caller, so another caller's identical key is another
// key) and a fingerprint of the request it stands for.
type IdempotentRequest struct {
	Subject     kernel.Subject
	Key         string
	Fingerprint [32]byte
}

// Answer is what a write answered, kept so that a retry gets it again.
type Answer struct {
	Status int
	// Header holds the response headers a replay repeats (name, value).
	Header [][2]string
	Body   []byte
}

// IdempotencyStore runs writes under their idempotency keys.
//
// Run runs write in one unit of work with everything write stores through
// ctx, and, when write answers keep, stores its answer in that same unit:
// a write that committed is always found by a retry, even when its answer
// never reached the client, and one that did not commit leaves no key
// behind. A key seen before (and younger than the retention) is not run
// again: Run returns its stored answer with replayed true, or
// kernel.ErrIdempotencyKeyReused when the fingerprint differs. A key whose first
// request is still running gives kernel.ErrIdempotencyInProgress at once.
type IdempotencyStore interface {
	Run(ctx context.Context, req IdempotentRequest, write func(ctx context.Context) (answer Answer, keep bool)) (answer Answer, replayed bool, err error)
	// Prune forgets the keys stored before cutoff.
	Prune(ctx context.Context, cutoff time.Time) (int64, error)
}
