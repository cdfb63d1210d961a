// Package project declares what the project context needs: its repository.
package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// Repository stores projects. A method that creates or lists takes the
// owner right after the context; one that reads or changes a project takes
// the access the gate granted to it. There is deliberately no way to load
// a project by id alone, and a project of another owner is reported as
// project.ErrNotFound.
type Repository interface {
	// Add stores a new project; a live project of the same owner with the
	// same name is project.ErrNameTaken.
	Add(ctx context.Context, owner kernel.Subject, p *project.Project) error
	// Visible reports whether id is a live project of owner (nil) or not
	// (project.ErrNotFound): the gate's question, whose yes it turns into
	// the access the other methods take.
	Visible(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) error
	// Get returns the live project the access is for.
	Get(ctx context.Context, access kernel.ProjectAccess) (*project.Project, error)
	// List returns owner's live projects, newest first, after the cursor.
	List(ctx context.Context, owner kernel.Subject, q ListQuery) (Page, error)
	// Update loads the live project the access is for, locks it, lets fn
	// change it and saves the result in one transaction. fn sees the
	// stored project, its Version included, and nobody else can change it
	// before the save: a conditional write checks the version inside fn.
	// An error from fn aborts the save; the saved project has the version
	// fn's change gave it.
	Update(ctx context.Context, access kernel.ProjectAccess, fn func(p *project.Project) error) (*project.Project, error)
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
