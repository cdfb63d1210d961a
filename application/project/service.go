// Package project implements the project context's use cases against its ports.
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
	clock shared.Clock
	ids   shared.IDGenerator
}

var _ ports.Service = (*Service)(nil)

// NewService builds the use cases; every dependency is required.
func NewService(repo ports.Repository, clock shared.Clock, ids shared.IDGenerator) *Service {
	if repo == nil || clock == nil || ids == nil {
		panic("project.NewService: nil dependency")
	}
	return &Service{repo: repo, clock: clock, ids: ids}
}

// errNoScope is a programming error: a driving adapter forgot to
// authenticate. It is not a domain kind, so it surfaces as a 500.
var errNoScope = errors.New("project: use case called without an owner")

func requireOwner(owner kernel.Subject) error {
	if owner.IsZero() {
		return errNoScope
	}
	return nil
}
