package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/project"
)

// ListProjects is the input of Service.ListProjects; Limit must be 1..kernel.MaxPageLimit.
type ListProjects struct {
	Limit  int
	Cursor *kernel.Cursor
}

// ListProjects returns one page of owner's live projects, newest first.
func (s *Service) ListProjects(ctx context.Context, owner kernel.Subject, q ListProjects) (ports.Page, error) {
	if err := requireOwner(owner); err != nil {
		return ports.Page{}, err
	}
	if err := kernel.CheckPageLimit(q.Limit); err != nil {
		return ports.Page{}, err
	}
	return s.repo.List(ctx, owner, ports.ListQuery{Limit: q.Limit, After: q.Cursor})
}
