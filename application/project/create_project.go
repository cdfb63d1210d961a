package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// CreateProject is the input of Service.CreateProject.
type CreateProject struct {
	Name        string
	Description string
}

// CreateProject creates a project owned by owner.
func (s *Service) CreateProject(ctx context.Context, owner kernel.Subject, cmd CreateProject) (*project.Project, error) {
	if err := requirePerson(owner); err != nil {
		return nil, err
	}
	p, err := project.New(kernel.ProjectIDFrom(s.ids.NewID()), owner, cmd.Name, cmd.Description, s.clock.Now())
	if err != nil {
		return nil, err
	}
	if err := s.repo.Add(ctx, owner, p); err != nil {
		return nil, err
	}
	return p, nil
}
