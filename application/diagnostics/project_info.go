// Package diagnostics answers what is going on in one project: its slow
// statements, its operations and its event streams.
package diagnostics

import (
	"context"
	"errors"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/diagnostics"
	"github.com/scoped-api/foundation/ports/shared"
)

// Settings are the figures the info endpoint reports alongside the records.
type Settings struct {
	SlowStatementWindow    time.Duration
	SlowStatementThreshold time.Duration
}

// Service holds the diagnostics use case.
type Service struct {
	clock      shared.Clock
	slow       ports.SlowStatementLog
	operations ports.Operations
	settings   Settings
}

// NewService returns the diagnostics use case; every dependency is required.
func NewService(clock shared.Clock, slow ports.SlowStatementLog, operations ports.Operations, settings Settings) *Service {
	if clock == nil || slow == nil || operations == nil {
		panic("diagnostics.NewService: nil dependency")
	}
	return &Service{clock: clock, slow: slow, operations: operations, settings: settings}
}

var errNoScope = errors.New("diagnostics: use case called without an access")

// ProjectInfo gathers the diagnostics of the project the access is for.
func (s *Service) ProjectInfo(ctx context.Context, access kernel.ProjectAccess) (ports.ProjectInfo, error) {
	if access.IsZero() {
		return ports.ProjectInfo{}, errNoScope
	}
	if err := access.Require(kernel.ReadOperations); err != nil {
		return ports.ProjectInfo{}, err
	}
	figures, err := s.operations.Figures(ctx, access)
	if err != nil {
		return ports.ProjectInfo{}, err
	}
	now := s.clock.Now()
	return ports.ProjectInfo{
		ProjectID:              access.Project(),
		GeneratedAt:            now,
		SlowStatementWindow:    s.settings.SlowStatementWindow,
		SlowStatementThreshold: s.settings.SlowStatementThreshold,
		SlowStatements:         s.slow.Recent(access, now.Add(-s.settings.SlowStatementWindow)),
		Operations:             figures,
	}, nil
}
