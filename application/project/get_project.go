package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// GetProject returns the live project the access is for.
func (s *Service) GetProject(ctx context.Context, access kernel.ProjectAccess) (*project.Project, error) {
	if err := requireAccess(access, kernel.ReadProject); err != nil {
		return nil, err
	}
	return s.repo.Get(ctx, access)
}
