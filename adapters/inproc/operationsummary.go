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

// Connected counts the project's streams connected to this instance.
func (d *OperationDiagnostics) Connected(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (int, error) {
	s, err := d.operations.Summary(ctx, subject, project)
	return s.ConnectedStreams, err
}

// LastEventID is the id of the project's newest event, empty when none.
func (d *OperationDiagnostics) LastEventID(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (string, error) {
	s, err := d.operations.Summary(ctx, subject, project)
	if err != nil || s.LastEventID == 0 {
		return "", err
	}
	return strconv.FormatInt(s.LastEventID, 10), nil
}
