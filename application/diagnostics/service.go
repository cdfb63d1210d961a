// Package diagnostics answers what is going on in one project: its slow
// statements, and (from the operation context, once deployed) its
// operations and event streams.
package diagnostics

import (
	"time"

	ports "github.com/scoped-api/foundation/ports/diagnostics"
	"github.com/scoped-api/foundation/ports/shared"
)

// Settings are the figures the info endpoint reports alongside the records.
type Settings struct {
	SlowStatementWindow    time.Duration
	SlowStatementThreshold time.Duration
}

// Sources are where the figures come from. Operations and Streams may be
// nil: the context that supplies them is not deployed, and the info
// endpoint then says so instead of reporting zeros.
type Sources struct {
	Gate           shared.ProjectGate
	Clock          shared.Clock
	SlowStatements ports.SlowStatementLog
	Operations     ports.OperationCounts
	Streams        ports.Streams
}

// Service implements ports.Service.
type Service struct {
	src      Sources
	settings Settings
}

var _ ports.Service = (*Service)(nil)

// NewService returns the diagnostics use cases.
func NewService(src Sources, settings Settings) *Service {
	return &Service{src: src, settings: settings}
}
