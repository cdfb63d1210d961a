package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// UpdateProject is the input of Service.UpdateProject; nil fields are left unchanged.
type UpdateProject struct {
	Name        *string
	Description *string
	// Expected is the version the caller's copy has; a project at another
	// version is left as it is (kernel.ErrVersionMismatch).
	Expected kernel.ExpectedVersion
}

// UpdateProject renames and/or redescribes the live project the access is for.
func (s *Service) UpdateProject(ctx context.Context, access kernel.ProjectAccess, cmd UpdateProject) (*project.Project, error) {
	if err := requireAccess(access, kernel.UpdateProject); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return s.repo.Update(ctx, access, func(p *project.Project) error {
		if err := cmd.Expected.Check(p.Version()); err != nil {
			return err
		}
		return p.Apply(project.Change{Name: cmd.Name, Description: cmd.Description}, now)
	})
}
