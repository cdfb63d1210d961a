package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// DeleteProject is the input of Service.DeleteProject.
type DeleteProject struct {
	// Expected is the version the caller's copy has; a project at another
	// version is left as it is (kernel.ErrVersionMismatch).
	Expected kernel.ExpectedVersion
}

// DeleteProject soft-deletes the live project the access is for; the gate
// of this instance stops granting access to it at once, and its streams end.
func (s *Service) DeleteProject(ctx context.Context, access kernel.ProjectAccess, cmd DeleteProject) error {
	if err := requireAccess(access, kernel.DeleteProject); err != nil {
		return err
	}
	now := s.clock.Now()
	_, err := s.repo.Update(ctx, access, func(p *project.Project) error {
		if err := cmd.Expected.Check(p.Version()); err != nil {
			return err
		}
		return p.Delete(now)
	})
	s.gate.forgetProject(access.Project())
	return err
}
