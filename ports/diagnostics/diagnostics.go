// Package diagnostics declares what a project's info endpoint gathers and
// from whom: slow statements from the telemetry adapter, operation counts
// and streams from the operation context once it is deployed.
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
	// Recent returns the statements that ran for project on behalf of
	// subject since the given time, newest first.
	Recent(project kernel.ProjectID, subject kernel.Subject, since time.Time) []SlowStatement
}

// OperationCounts counts a project's operations by status. The operation
// context implements it; until it does, the info endpoint reports the
// figures as unavailable rather than inventing them.
type OperationCounts interface {
	CountByStatus(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (map[string]int64, error)
}

// Streams tells how many event streams are connected for a project and the
// id of its last event, read together so that they describe one moment.
// The operation context implements it.
type Streams interface {
	StreamSummary(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (StreamSummary, error)
}

// ProjectInfo is a project's diagnostics. Operations and Streams are nil
// when no adapter supplies them.
type ProjectInfo struct {
	ProjectID              kernel.ProjectID
	GeneratedAt            time.Time
	SlowStatementWindow    time.Duration
	SlowStatementThreshold time.Duration
	SlowStatements         []SlowStatement
	Operations             *OperationSummary
	Streams                *StreamSummary
}

// OperationSummary is the number of a project's operations in each status.
type OperationSummary struct {
	ByStatus map[string]int64
}

// StreamSummary is a project's live event streams.
type StreamSummary struct {
	Connected   int
	LastEventID string
}

// Service is the diagnostics use case as driving adapters see it.
type Service interface {
	ProjectInfo(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (ProjectInfo, error)
}
