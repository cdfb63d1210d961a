package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// DeleteProject soft-deletes one of owner's live projects.
func (s *Service) DeleteProject(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) error {
	if err := requireOwner(owner); err != nil {
		return err
	}
	now := s.clock.Now()
	_, err := s.repo.Update(ctx, owner, id, func(p *project.Project) error {
		return p.Delete(now)
	})
	return err
}
