// Package note declares ports that take a bare project id.
package note

import (
	"context"

	"example.com/fixture/domain/kernel"
	"example.com/fixture/domain/note"
)

// Repository stores notes.
type Repository interface {
	// Add is correct: ctx, then the access the gate granted.
	Add(ctx context.Context, access kernel.ProjectAccess, n *note.Note) error
	// Get takes the project id a handler parsed: nobody asked the gate.
	Get(ctx context.Context, projectID kernel.ProjectID, id note.ID) (*note.Note, error)
}

// Log is not a repository, but it reads a project's records all the same.
type Log interface {
	Recent(ctx context.Context, project kernel.ProjectID) []string
}
