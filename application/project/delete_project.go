package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// DeleteProject soft-deletes the live project the access is for; the gate
// of this instance stops granting access to it at once.
func (s *Service) DeleteProject(ctx context.Context, access kernel.ProjectAccess) error {
	if err := requireAccess(access); err != nil {
		return err
	}
	now := s.clock.Now()
	_, err := s.repo.Update(ctx, access, func(p *project.Project) error {
		return p.Delete(now)
	})
	s.gate.forget(access)
	return err
}
