package operation

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// ReportProgress is the input of Service.ReportProgress.
type ReportProgress struct {
	Report operation.Report
	// Expected is the version the caller's copy has; an operation at
	// another version is left as it is (kernel.ErrVersionMismatch).
	Expected kernel.ExpectedVersion
}

// ReportProgress applies a worker's report; the change and its event are
// stored together before the call returns.
func (s *Service) ReportProgress(ctx context.Context, access kernel.ProjectAccess, id operation.ID, cmd ReportProgress) (*operation.Operation, error) {
	return s.change(ctx, access, kernel.ReportProgress, id, cmd.Expected, func(op *operation.Operation, now time.Time) error { return op.Apply(cmd.Report, now) })
}

// change is the load-change-save of one operation: fn runs on the stored
// operation inside the repository's update, after the check of the
// version the caller expects, and the relay is told that its events wait.
func (s *Service) change(ctx context.Context, access kernel.ProjectAccess, may kernel.Permission, id operation.ID, expected kernel.ExpectedVersion, fn func(op *operation.Operation, now time.Time) error) (*operation.Operation, error) {
	if err := requireAccess(access, may); err != nil {
		return nil, err
	}
	now := s.d.Clock.Now()
	op, err := s.d.Repo.Update(ctx, access, id, func(op *operation.Operation) error {
		if err := expected.Check(op.Version()); err != nil {
			return err
		}
		return fn(op, now)
	})
	if err != nil {
		return nil, err
	}
	s.d.Trigger.EventsAccepted()
	return op, nil
}
