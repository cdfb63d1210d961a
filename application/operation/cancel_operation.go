package operation

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// CancelOperation cancels an operation that has not finished.
func (s *Service) CancelOperation(ctx context.Context, access kernel.ProjectAccess, id operation.ID) (*operation.Operation, error) {
	return s.change(ctx, access, id, (*operation.Operation).Cancel)
}
