package inproc

import (
	"context"
	"strconv"

	"github.com/scoped-api/foundation/domain/kernel"
	portsdiagnostics "github.com/scoped-api/foundation/ports/diagnostics"
	portsoperation "github.com/scoped-api/foundation/ports/operation"
)

// OperationDiagnostics answers the diagnostics context's questions about
// operations and streams with the operation context's use cases.
type OperationDiagnostics struct{ operations portsoperation.Service }

var (
	_ portsdiagnostics.OperationCounts = (*OperationDiagnostics)(nil)
	_ portsdiagnostics.Streams         = (*OperationDiagnostics)(nil)
)

// NewOperationDiagnostics adapts the operation use cases.
func NewOperationDiagnostics(operations portsoperation.Service) *OperationDiagnostics {
	return &OperationDiagnostics{operations: operations}
}

// CountByStatus counts the project's operations in every status.
func (d *OperationDiagnostics) CountByStatus(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (map[string]int64, error) {
	s, err := d.operations.Summary(ctx, subject, project)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(s.ByStatus))
	for st, n := range s.ByStatus {
		out[string(st)] = n
	}
	return out, nil
}

// StreamSummary counts the project's streams connected to this instance
// and gives the id of its newest event (empty when it has none).
func (d *OperationDiagnostics) StreamSummary(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (portsdiagnostics.StreamSummary, error) {
	s, err := d.operations.Summary(ctx, subject, project)
	if err != nil {
		return portsdiagnostics.StreamSummary{}, err
	}
	out := portsdiagnostics.StreamSummary{Connected: s.ConnectedStreams}
	if s.LastEventID != 0 {
		out.LastEventID = strconv.FormatInt(s.LastEventID, 10)
	}
	return out, nil
}
