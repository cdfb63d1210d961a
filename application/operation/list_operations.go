package operation

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// ListOperations is the input of Service.ListOperations; Limit must be 1..kernel.MaxPageLimit.
type ListOperations struct {
	Status *operation.Status
	Limit  int
	Cursor *kernel.Cursor
}

// ListOperations returns one page of the access's project's operations, newest first.
func (s *Service) ListOperations(ctx context.Context, access kernel.ProjectAccess, q ListOperations) (ports.Page, error) {
	if err := requireAccess(access, kernel.ReadOperations); err != nil {
		return ports.Page{}, err
	}
	if err := kernel.CheckPageLimit(q.Limit); err != nil {
		return ports.Page{}, err
	}
	return s.d.Repo.List(ctx, access, ports.ListQuery{Status: q.Status, Limit: q.Limit, After: q.Cursor})
}
