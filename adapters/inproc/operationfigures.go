// Package inproc holds the anti-corruption adapters through which one
// bounded context calls another inside the process. It is the only
// package that may touch two contexts.
package inproc

import (
	"context"
	"strconv"

	appoperation "github.com/scoped-api/foundation/application/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/diagnostics"
)

// OperationFigures answers the diagnostics context's question about a
// project's operations and streams with the operation context's use case,
// in one call.
type OperationFigures struct{ operations *appoperation.Service }

var _ diagnostics.Operations = (*OperationFigures)(nil)

// NewOperationFigures adapts the operation use cases.
func NewOperationFigures(operations *appoperation.Service) *OperationFigures {
	return &OperationFigures{operations: operations}
}

// Figures counts the project's operations in every status, its streams on
// this instance, and gives the id of its newest event ("" when none).
func (f *OperationFigures) Figures(ctx context.Context, access kernel.ProjectAccess) (diagnostics.OperationFigures, error) {
	s, err := f.operations.Figures(ctx, access)
	if err != nil {
		return diagnostics.OperationFigures{}, err
	}
	out := diagnostics.OperationFigures{ByStatus: make(map[string]int64, len(s.ByStatus)), ConnectedStreams: s.ConnectedStreams}
	for st, n := range s.ByStatus {
		out.ByStatus[string(st)] = n
	}
	if s.LastEventID != 0 {
		out.LastEventID = strconv.FormatInt(s.LastEventID, 10)
	}
	return out, nil
}
