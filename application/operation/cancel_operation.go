package operation

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// CancelOperation is the input of Service.CancelOperation.
type CancelOperation struct {
	// Expected is the version the caller's copy has; an operation at
	// another version is left as it is (kernel.ErrVersionMismatch).
	Expected kernel.ExpectedVersion
}

// CancelOperation cancels an operation that has not finished.
func (s *Service) CancelOperation(ctx context.Context, access kernel.ProjectAccess, id operation.ID, cmd CancelOperation) (*operation.Operation, error) {
	return s.change(ctx, access, kernel.CancelOperations, id, cmd.Expected, func(op *operation.Operation, now time.Time) error { return op.Cancel(now) })
}
