package diagnostics

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/diagnostics"
)

// ProjectInfo gathers the diagnostics of a project the caller can see; a
// project they cannot see is not found, exactly as everywhere else.
func (s *Service) ProjectInfo(ctx context.Context, subject kernel.Subject, project kernel.ProjectID) (ports.ProjectInfo, error) {
	if err := s.src.Gate.Visible(ctx, subject, project); err != nil {
		return ports.ProjectInfo{}, err
	}
	now := s.src.Clock.Now()
	info := ports.ProjectInfo{
		ProjectID:              project,
		GeneratedAt:            now,
		SlowStatementWindow:    s.settings.SlowStatementWindow,
		SlowStatementThreshold: s.settings.SlowStatementThreshold,
		SlowStatements:         s.src.SlowStatements.Recent(project, subject, now.Add(-s.settings.SlowStatementWindow)),
	}
	if s.src.Operations != nil {
		counts, err := s.src.Operations.CountByStatus(ctx, subject, project)
		if err != nil {
			return ports.ProjectInfo{}, err
		}
		info.Operations = &ports.OperationSummary{ByStatus: counts}
	}
	if s.src.Streams != nil {
		streams, err := s.src.Streams.StreamSummary(ctx, subject, project)
		if err != nil {
			return ports.ProjectInfo{}, err
		}
		info.Streams = &streams
	}
	return info, nil
}
