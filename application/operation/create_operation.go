package operation

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// CreateOperation is the input of Service.CreateOperation.
type CreateOperation struct {
	Kind    string
	Message string
}

// CreateOperation creates a pending operation in the access's project.
func (s *Service) CreateOperation(ctx context.Context, access kernel.ProjectAccess, cmd CreateOperation) (*operation.Operation, error) {
	if err := requireAccess(access, kernel.CreateOperations); err != nil {
		return nil, err
	}
	op, err := operation.New(operation.IDFrom(s.d.IDs.NewID()), access.Project(), cmd.Kind, cmd.Message, s.d.Clock.Now())
	if err != nil {
		return nil, err
	}
	if err := s.d.Repo.Add(ctx, access, op); err != nil {
		return nil, err
	}
	s.d.Trigger.EventsAccepted()
	return op, nil
}
