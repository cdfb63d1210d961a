package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
)

// ListProjects is the input of Service.ListProjects; Limit must be 1..kernel.MaxPageLimit.
type ListProjects struct {
	Limit  int
	Cursor *kernel.Cursor
	// Role, when set, keeps the projects where the caller has that role.
	Role project.Role
}

// ListProjects returns one page of the live projects the caller is a
// member of, newest first, with the caller's role in each.
func (s *Service) ListProjects(ctx context.Context, caller kernel.Subject, q ListProjects) (ports.Page, error) {
	if err := requirePerson(caller); err != nil {
		return ports.Page{}, err
	}
	if err := kernel.CheckPageLimit(q.Limit); err != nil {
		return ports.Page{}, err
	}
	return s.repo.List(ctx, caller, ports.ListQuery{Limit: q.Limit, After: q.Cursor, Role: q.Role})
}
