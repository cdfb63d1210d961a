package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
)

// UpdateProject renames and/or redescribes one of owner's live projects.
func (s *Service) UpdateProject(ctx context.Context, owner kernel.Subject, id kernel.ProjectID, cmd ports.UpdateProject) (*project.Project, error) {
	if err := requireOwner(owner); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return s.repo.Update(ctx, owner, id, func(p *project.Project) error {
		return p.Apply(project.Change{Name: cmd.Name, Description: cmd.Description}, now)
	})
}
