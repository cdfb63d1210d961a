package operation

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// OperationFigures is how a project's operations and streams stand.
type OperationFigures struct {
	// ByStatus counts the operations in every status, zeros included.
	ByStatus map[operation.Status]int64
	// ConnectedStreams counts the project's streams on this instance.
	ConnectedStreams int
	// LastEventID is the sequence number of the project's newest event, 0 when none.
	LastEventID int64
}

// Figures is how the access's project's operations and streams stand, for
// its info endpoint.
func (s *Service) Figures(ctx context.Context, access kernel.ProjectAccess) (OperationFigures, error) {
	if err := requireAccess(access, kernel.ReadOperations); err != nil {
		return OperationFigures{}, err
	}
	counts, err := s.d.Repo.CountByStatus(ctx, access)
	if err != nil {
		return OperationFigures{}, err
	}
	last, err := s.d.Log.LastSeq(ctx, access, nil)
	if err != nil {
		return OperationFigures{}, err
	}
	f := OperationFigures{ByStatus: make(map[operation.Status]int64, len(operation.Statuses)), ConnectedStreams: s.d.Hub.Connected(access.Project()), LastEventID: last}
	for _, st := range operation.Statuses {
		f.ByStatus[st] = counts[st]
	}
	return f, nil
}
