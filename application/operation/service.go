// Package operation implements the operation context's use cases, the hub
// that fans events out to an instance's streams and the relay that moves
// accepted events from the outbox to every instance.
package operation

import (
	"context"
	"errors"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// Deps are what the use cases need; all are required.
type Deps struct {
	Repo    ports.Repository
	Log     ports.EventLog
	Tickets ports.TicketStore
	Gate    shared.ProjectGate
	Clock   shared.Clock
	IDs     shared.IDGenerator
	Hub     *Hub
	// Relay is nudged after every accepted change so that its events leave
	// at once rather than at the next poll.
	Relay *Relay
}

// Settings tune the streams.
type Settings struct {
	TicketTTL time.Duration
	// HistoryPage is how many missed events one read of the log returns.
	HistoryPage int
}

// Service implements ports.Service.
type Service struct {
	d        Deps
	settings Settings
}

var _ ports.Service = (*Service)(nil)

// NewService builds the use cases.
func NewService(d Deps, s Settings) *Service {
	if d.Repo == nil || d.Log == nil || d.Tickets == nil || d.Gate == nil || d.Clock == nil || d.IDs == nil || d.Hub == nil || d.Relay == nil {
		panic("operation.NewService: nil dependency")
	}
	if s.TicketTTL <= 0 {
		s.TicketTTL = time.Minute
	}
	if s.HistoryPage <= 0 {
		s.HistoryPage = 500
	}
	return &Service{d: d, settings: s}
}

// errNoScope is a programming error: a driving adapter forgot to
// authenticate. It is not a domain kind, so it surfaces as a 500.
var errNoScope = errors.New("operation: use case called without a subject or project")

// visible is the first step of every use case: the caller must see the project.
func (s *Service) visible(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID) error {
	if subject.IsZero() || projectID.IsZero() {
		return errNoScope
	}
	return s.d.Gate.Visible(ctx, subject, projectID)
}

// CreateOperation creates a pending operation in the project.
func (s *Service) CreateOperation(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, cmd ports.CreateOperation) (*operation.Operation, error) {
	if err := s.visible(ctx, subject, projectID); err != nil {
		return nil, err
	}
	op, err := operation.New(operation.IDFrom(s.d.IDs.NewID()), projectID, cmd.Kind, cmd.Message, s.d.Clock.Now())
	if err != nil {
		return nil, err
	}
	if err := s.d.Repo.Add(ctx, projectID, op); err != nil {
		return nil, err
	}
	s.d.Relay.Nudge()
	return op, nil
}

// GetOperation returns one operation of the project.
func (s *Service) GetOperation(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, id operation.ID) (*operation.Operation, error) {
	if err := s.visible(ctx, subject, projectID); err != nil {
		return nil, err
	}
	return s.d.Repo.Get(ctx, projectID, id)
}

// ListOperations returns one page of the project's operations, newest first.
func (s *Service) ListOperations(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, q ports.ListOperations) (ports.Page, error) {
	if err := s.visible(ctx, subject, projectID); err != nil {
		return ports.Page{}, err
	}
	if err := kernel.CheckPageLimit(q.Limit); err != nil {
		return ports.Page{}, err
	}
	return s.d.Repo.List(ctx, projectID, ports.ListQuery{Status: q.Status, Limit: q.Limit, After: q.Cursor})
}

// ReportProgress applies a worker's report; the change and its event are
// stored together before the call returns.
func (s *Service) ReportProgress(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, id operation.ID, cmd ports.ReportProgress) (*operation.Operation, error) {
	return s.change(ctx, subject, projectID, id, func(op *operation.Operation, now time.Time) error { return op.Apply(cmd, now) })
}

// CancelOperation cancels an operation that has not finished.
func (s *Service) CancelOperation(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, id operation.ID) (*operation.Operation, error) {
	return s.change(ctx, subject, projectID, id, (*operation.Operation).Cancel)
}

// change applies fn to one operation of the project the caller can see and
// lets the relay know there are events to publish.
func (s *Service) change(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, id operation.ID, fn func(op *operation.Operation, now time.Time) error) (*operation.Operation, error) {
	if err := s.visible(ctx, subject, projectID); err != nil {
		return nil, err
	}
	now := s.d.Clock.Now()
	op, err := s.d.Repo.Update(ctx, projectID, id, func(op *operation.Operation) error { return fn(op, now) })
	if err != nil {
		return nil, err
	}
	s.d.Relay.Nudge()
	return op, nil
}

// Summary is the project's operation figures for its info endpoint.
func (s *Service) Summary(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID) (ports.Summary, error) {
	if err := s.visible(ctx, subject, projectID); err != nil {
		return ports.Summary{}, err
	}
	counts, err := s.d.Repo.CountByStatus(ctx, projectID)
	if err != nil {
		return ports.Summary{}, err
	}
	last, err := s.d.Log.LastSeq(ctx, projectID, nil)
	if err != nil {
		return ports.Summary{}, err
	}
	byStatus := make(map[operation.Status]int64, len(operation.Statuses))
	for _, st := range operation.Statuses {
		byStatus[st] = counts[st]
	}
	return ports.Summary{ByStatus: byStatus, ConnectedStreams: s.d.Hub.Connected(projectID), LastEventID: last}, nil
}
