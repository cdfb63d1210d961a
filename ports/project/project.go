// Package project declares what the project context needs (its repository)
// and what it offers (its use cases).
package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// Repository stores projects. Every method takes the owner right after the
// context: there is deliberately no way to load a project by id alone, and
// a project of another owner is reported as project.ErrNotFound.
type Repository interface {
	// Add stores a new project; a live project of the same owner with the
	// same name is project.ErrNameTaken.
	Add(ctx context.Context, owner kernel.Subject, p *project.Project) error
	// Get returns a live project of owner.
	Get(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) (*project.Project, error)
	// List returns owner's live projects, newest first, after the cursor.
	List(ctx context.Context, owner kernel.Subject, q ListQuery) (Page, error)
	// Update loads a live project of owner, locks it, lets fn change it and
	// saves the result in one transaction. An error from fn aborts the save.
	Update(ctx context.Context, owner kernel.Subject, id kernel.ProjectID, fn func(p *project.Project) error) (*project.Project, error)
}

// ListQuery selects one page. Limit is already within 1..kernel.MaxPageLimit.
type ListQuery struct {
	Limit int
	After *kernel.Cursor
}

// Page is one page of projects; Next is nil on the last page.
type Page struct {
	Items []*project.Project
	Next  *kernel.Cursor
}

// Service is the project context's use cases, as driving adapters see them.
type Service interface {
	CreateProject(ctx context.Context, owner kernel.Subject, cmd CreateProject) (*project.Project, error)
	GetProject(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) (*project.Project, error)
	ListProjects(ctx context.Context, owner kernel.Subject, q ListProjects) (Page, error)
	UpdateProject(ctx context.Context, owner kernel.Subject, id kernel.ProjectID, cmd UpdateProject) (*project.Project, error)
	DeleteProject(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) error
}

// CreateProject is the input of Service.CreateProject.
type CreateProject struct {
	Name        string
	Description string
}

// ListProjects is the input of Service.ListProjects; Limit must be 1..kernel.MaxPageLimit.
type ListProjects struct {
	Limit  int
	Cursor *kernel.Cursor
}

// UpdateProject is the input of Service.UpdateProject; nil fields are left unchanged.
type UpdateProject struct {
	Name        *string
	Description *string
}
