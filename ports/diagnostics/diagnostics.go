// Package diagnostics declares what a project's info endpoint gathers and
// from whom: slow statements from the telemetry adapter, operation and
// stream figures from the operation context.
package diagnostics

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// SlowStatement is one database statement that ran longer than the
// threshold inside a project's scope. Statement is normalised: it never
// holds parameter values.
type SlowStatement struct {
	At            time.Time
	Duration      time.Duration
	Operation     string
	Statement     string
	CorrelationID string
	TraceID       string
}

// SlowStatementLog keeps the slow statements recorded per project.
type SlowStatementLog interface {
	// Recent returns the statements that ran in the access's project on
	// behalf of its subject since the given time, newest first.
	Recent(access kernel.ProjectAccess, since time.Time) []SlowStatement
}

// Operations answers, in one call, how a project's operations and event
// streams stand. The operation context implements it.
type Operations interface {
	Figures(ctx context.Context, access kernel.ProjectAccess) (OperationFigures, error)
}

// OperationFigures is the number of a project's operations in each status
// and its live event streams, read together.
type OperationFigures struct {
	ByStatus map[string]int64
	// ConnectedStreams counts the project's streams on this instance.
	ConnectedStreams int
	// LastEventID is the id of the project's newest event, "" when none.
	LastEventID string
}

// ProjectInfo is a project's diagnostics.
type ProjectInfo struct {
	ProjectID              kernel.ProjectID
	GeneratedAt            time.Time
	SlowStatementWindow    time.Duration
	SlowStatementThreshold time.Duration
	SlowStatements         []SlowStatement
	Operations             OperationFigures
}
