// Package inproc holds the anti-corruption adapters through which one
// bounded context calls another inside the process. It is the only
// package that may touch two contexts.
package inproc

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	portsproject "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// ProjectGate answers shared.ProjectGate with the project context's use cases.
type ProjectGate struct{ projects portsproject.Service }

var _ shared.ProjectGate = (*ProjectGate)(nil)

// NewProjectGate adapts the project use cases.
func NewProjectGate(projects portsproject.Service) *ProjectGate {
	return &ProjectGate{projects: projects}
}

// Visible returns nil when subject owns the live project id; the project
// context's not-found error otherwise.
func (g *ProjectGate) Visible(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) error {
	_, err := g.projects.GetProject(ctx, subject, id)
	return err
}
