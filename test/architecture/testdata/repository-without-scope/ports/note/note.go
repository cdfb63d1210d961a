// Package note declares repositories whose methods forget their scope.
package note

import (
	"context"

	"example.com/fixture/domain/kernel"
	"example.com/fixture/domain/note"
)

// Repository stores notes.
type Repository interface {
	// Add is correct: ctx, then the access.
	Add(ctx context.Context, access kernel.ProjectAccess, n *note.Note) error
	// Get loads a note by id alone: any project's note.
	Get(ctx context.Context, id note.ID) (*note.Note, error)
	// Count has no context at all.
	Count(access kernel.ProjectAccess) int
}

// ArchiveRepository is scoped by the caller, which only the project context may be.
type ArchiveRepository interface {
	Archive(ctx context.Context, owner kernel.Subject, id note.ID) error
}

// Finder is not a repository: the scope rule does not apply.
type Finder interface {
	Find(id note.ID) *note.Note
}
