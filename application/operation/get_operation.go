package operation

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// GetOperation returns one operation of the access's project.
func (s *Service) GetOperation(ctx context.Context, access kernel.ProjectAccess, id operation.ID) (*operation.Operation, error) {
	if err := requireAccess(access, kernel.ReadOperations); err != nil {
		return nil, err
	}
	return s.d.Repo.Get(ctx, access, id)
}
