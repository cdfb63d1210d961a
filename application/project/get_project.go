package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// GetProject returns one of owner's live projects.
func (s *Service) GetProject(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) (*project.Project, error) {
	if err := requireOwner(owner); err != nil {
		return nil, err
	}
	return s.repo.Get(ctx, owner, id)
}
