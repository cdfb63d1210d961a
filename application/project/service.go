// Package project implements the project context's use cases against its
// ports, and the gate through which every project-scoped request passes.
package project

import (
	"errors"

	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// Service holds the project use cases, one file each.
type Service struct {
	repo  ports.Repository
	gate  *Gate
	clock shared.Clock
	ids   shared.IDGenerator
}

// NewService builds the use cases; gate is told about deletions so that
// it stops granting access to a deleted project at once. Every dependency
// is required.
func NewService(repo ports.Repository, gate *Gate, clock shared.Clock, ids shared.IDGenerator) *Service {
	if repo == nil || gate == nil || clock == nil || ids == nil {
		panic("project.NewService: nil dependency")
	}
	return &Service{repo: repo, gate: gate, clock: clock, ids: ids}
}

// errNoScope is a programming error: a driving adapter called a use case
// without an authenticated caller or a granted access. It is not a domain
// kind, so it surfaces as a 500.
var errNoScope = errors.New("project: use case called without a caller or an access")

// requirePerson checks for a caller who is a person: a project key acts
// only inside its own project, so it neither creates nor lists projects.
func requirePerson(caller kernel.Subject) error {
	if caller.IsZero() {
		return errNoScope
	}
	if _, isKey := caller.Key(); isKey {
		return kernel.ErrForbidden
	}
	return nil
}

// requireAccess checks that the access was granted and allows may.
func requireAccess(access kernel.ProjectAccess, may kernel.Permission) error {
	if access.IsZero() {
		return errNoScope
	}
	return access.Require(may)
}
