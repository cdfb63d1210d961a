package operation

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// Service is the operation context's use cases, as driving adapters see
// them. Every method first checks that subject may see the project; a
// project they may not see is not found.
type Service interface {
	CreateOperation(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, cmd CreateOperation) (*operation.Operation, error)
	GetOperation(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, id operation.ID) (*operation.Operation, error)
	ListOperations(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, q ListOperations) (Page, error)
	ReportProgress(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, id operation.ID, cmd ReportProgress) (*operation.Operation, error)
	CancelOperation(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, id operation.ID) (*operation.Operation, error)
	// IssueTicket issues a single-use ticket for one stream (of one
	// operation when op is non-nil, of the whole project otherwise).
	IssueTicket(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, op *operation.ID, tokenExpiresAt time.Time) (code string, t Ticket, err error)
	// RedeemTicket takes the ticket for the stream it was issued for; a
	// ticket for another stream is operation.ErrTicketInvalid (and is used up).
	RedeemTicket(ctx context.Context, code string, projectID kernel.ProjectID, op *operation.ID) (Ticket, error)
	// OpenStream subscribes to a stream and returns what to send first.
	OpenStream(ctx context.Context, req StreamRequest) (Stream, error)
	// Summary reports the project's operation figures.
	Summary(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID) (Summary, error)
}

// CreateOperation is the input of Service.CreateOperation.
type CreateOperation struct {
	Kind    string
	Message string
}

// ListOperations is the input of Service.ListOperations; Limit must be 1..kernel.MaxPageLimit.
type ListOperations struct {
	Status *operation.Status
	Limit  int
	Cursor *kernel.Cursor
}

// ReportProgress is the input of Service.ReportProgress.
type ReportProgress = operation.Report

// StreamRequest opens a stream of one operation (Operation non-nil) or of
// a whole project.
type StreamRequest struct {
	Subject   kernel.Subject
	Project   kernel.ProjectID
	Operation *operation.ID
	// LastEventID is the last id the client received (Last-Event-ID); nil
	// on a fresh connect.
	LastEventID *int64
}

// Message is one message a stream sends before its live events.
type Message struct {
	// ID is the message's "id:"; resuming from it continues after it.
	ID int64
	// Event is the message's "event:": MessageSnapshot,
	// MessageHistoryExpired or an operation.EventType.
	Event string
	// Operation is a snapshot's state on an operation stream.
	Operation *operation.State
	// Operations is a snapshot's unfinished operations on a project stream.
	Operations []operation.State
	// Record is set on event messages.
	Record *operation.Recorded
}

// Control events a stream sends besides operation events.
const (
	MessageSnapshot = "snapshot"
	// MessageHistoryExpired says that events after the client's last id
	// were pruned: a snapshot follows, and the client should treat it as
	// the new truth.
	MessageHistoryExpired = "history_expired"
)

// Stream is one subscriber's view of a stream.
type Stream interface {
	// Initial is what to send first: a snapshot on a fresh connect, the
	// missed events on a resume.
	Initial() []Message
	// Finished reports that the operation had already finished when the
	// stream opened, and Initial holds everything it will ever send.
	Finished() bool
	// Ready is signalled when Take has something to return.
	Ready() <-chan struct{}
	// Take returns the live events waiting, exactly once each and in
	// order; done reports that the server ended the stream after them
	// (Err says why).
	Take() (events []operation.Recorded, done bool)
	// Err is why the server ended the stream: operation.ErrSlowSubscriber,
	// ErrShuttingDown or ErrResync; nil when the operation finished.
	Err() error
	// Close ends the subscription; it is safe to call more than once.
	Close()
}

// Summary is a project's operation figures, for its info endpoint.
type Summary struct {
	ByStatus map[operation.Status]int64
	// ConnectedStreams counts the project's streams on this instance.
	ConnectedStreams int
	// LastEventID is the id of the project's newest event, 0 when none.
	LastEventID int64
}
