package operation

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// ReportProgress applies a worker's report; the change and its event are
// stored together before the call returns.
func (s *Service) ReportProgress(ctx context.Context, access kernel.ProjectAccess, id operation.ID, r operation.Report) (*operation.Operation, error) {
	return s.change(ctx, access, id, func(op *operation.Operation, now time.Time) error { return op.Apply(r, now) })
}

// change is the load-change-save of one operation: fn runs on the stored
// operation inside the repository's update, and the relay is told that
// its events wait.
func (s *Service) change(ctx context.Context, access kernel.ProjectAccess, id operation.ID, fn func(op *operation.Operation, now time.Time) error) (*operation.Operation, error) {
	if access.IsZero() {
		return nil, errNoScope
	}
	now := s.d.Clock.Now()
	op, err := s.d.Repo.Update(ctx, access, id, func(op *operation.Operation) error { return fn(op, now) })
	if err != nil {
		return nil, err
	}
	s.d.Trigger.EventsAccepted()
	return op, nil
}
