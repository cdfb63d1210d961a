// Package operation declares what the operation context needs: its
// repository, event log, relay store, bus, ticket store and the trigger
// that wakes the relay.
package operation

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// Repository stores operations. Every method takes the access the project
// gate granted right after the context, and reaches only that project's
// operations: an operation of another project is operation.ErrNotFound.
// Writes store the events the aggregate recorded (PullEvents) in the same
// transaction as the change, in the outbox: an event exists exactly when
// its change does.
type Repository interface {
	// Add stores a new operation and its created event.
	Add(ctx context.Context, access kernel.ProjectAccess, op *operation.Operation) error
	// Get returns one operation of the project.
	Get(ctx context.Context, access kernel.ProjectAccess, id operation.ID) (*operation.Operation, error)
	// List returns the project's operations, newest first, after the cursor.
	List(ctx context.Context, access kernel.ProjectAccess, q ListQuery) (Page, error)
	// Update lets fn change one operation of the project and saves the
	// change with its events atomically, only if the state fn saw is still
	// the stored one: otherwise it loads the operation again and calls fn
	// again (so fn must only change op; only its last run is saved). The
	// run that is saved saw the stored operation, its Version included: a
	// conditional write checks the version inside fn. An error from fn
	// aborts the save.
	Update(ctx context.Context, access kernel.ProjectAccess, id operation.ID, fn func(op *operation.Operation) error) (*operation.Operation, error)
	// CountByStatus counts the project's operations in each status.
	CountByStatus(ctx context.Context, access kernel.ProjectAccess) (map[operation.Status]int64, error)
}

// ListQuery selects one page. Limit is already within 1..kernel.MaxPageLimit.
type ListQuery struct {
	Status *operation.Status
	Limit  int
	After  *kernel.Cursor
}

// Page is one page of operations; Next is nil on the last page.
type Page struct {
	Items []*operation.Operation
	Next  *kernel.Cursor
}

// EventLog reads the sequenced history of the events of the project an
// access is for.
type EventLog interface {
	// Read returns up to limit events of the project with a sequence number
	// above after, oldest first; a non-nil op narrows them to one operation.
	Read(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, after int64, limit int) ([]operation.Recorded, error)
	// LastSeq returns the sequence number of the project's newest event
	// (of one operation when op is non-nil), 0 when it has none.
	LastSeq(ctx context.Context, access kernel.ProjectAccess, op *operation.ID) (int64, error)
	// Latest returns the newest event at or below upTo of each of the
	// project's operations (of one when op is non-nil), newest first: the
	// states a snapshot shows, consistent with the events that follow it.
	Latest(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, upTo int64, limit int) ([]operation.Recorded, error)
	// Unsequenced reports whether accepted events of the operation still
	// wait in the outbox for the relay to number them.
	Unsequenced(ctx context.Context, access kernel.ProjectAccess, op operation.ID) (bool, error)
	// Horizon returns the highest sequence number pruning may have
	// removed: history at or below it is incomplete.
	Horizon(ctx context.Context) (int64, error)
}

// RelayStore is the relay's side of the event log. It is deliberately
// not project-scoped: the relay moves every project's events, and nothing
// it returns reaches a client without passing a project-scoped subscriber.
type RelayStore interface {
	// Sequence moves up to limit accepted events from the outbox into the
	// log in acceptance order, giving each the next sequence number, and
	// returns them. Numbering excludes every other instance's for as long
	// as it runs and no longer: no lock is held between calls, and no
	// session state is kept, so a connection pooler may hand each
	// statement to another server connection. It first records, as
	// MarkPublished would, the range the caller published since its last
	// call (none when zero): one round trip instead of two.
	Sequence(ctx context.Context, limit int, published Range) (Sequenced, error)
	// Unpublished returns up to limit sequenced events above the published
	// watermark, in order.
	Unpublished(ctx context.Context, limit int) ([]operation.Recorded, error)
	// MarkPublished records that the events numbered first to last were
	// published. The watermark moves to last only when everything below
	// first is published already: it covers a contiguous published range
	// however many instances publish at once.
	MarkPublished(ctx context.Context, first, last int64) error
	// ReadAll returns up to limit sequenced events above after, in order,
	// of every project: how an instance fills a gap in what it received.
	ReadAll(ctx context.Context, after int64, limit int) ([]operation.Recorded, error)
	// Head returns the highest sequence number in the log (0 when empty).
	Head(ctx context.Context) (int64, error)
	// OldestUnpublished returns when the oldest event not yet published
	// was accepted; ok is false when every event is published.
	OldestUnpublished(ctx context.Context) (at time.Time, ok bool, err error)
	// Prune deletes published events accepted before the given time and
	// raises the horizon to the highest sequence number it deleted; two
	// instances pruning at once delete each event once.
	Prune(ctx context.Context, before time.Time) (deleted int64, err error)
}

// Range is the events numbered First to Last; the zero Range is none.
type Range struct{ First, Last int64 }

// Sequenced is what one call of RelayStore.Sequence numbered.
type Sequenced struct {
	// Events are the events it numbered, in order.
	Events []operation.Recorded
	// Backlog reports that events numbered before them are not published
	// yet (a publish that failed, an instance that stopped): read them
	// with Unpublished.
	Backlog bool
}

// Bus carries sequenced events from the relay to every instance's hub.
type Bus interface {
	// Publish sends events, in order, to every subscriber of every instance.
	// An error means some may not have been sent; the relay retries them.
	Publish(ctx context.Context, events []operation.Recorded) error
	// Subscribe delivers every published event to sink, in publish order,
	// until ctx ends. It returns once the subscription is established (or
	// with the error that prevented it) and keeps reconnecting after that;
	// each (re)connection calls sink.Resync, because events published while
	// disconnected were not received.
	Subscribe(ctx context.Context, sink Sink) error
}

// Sink receives what a Bus delivers. Calls come from one goroutine at a time.
type Sink interface {
	Deliver(ev operation.Recorded)
	Resync()
}

// Ticket lets a client that cannot send an Authorization header, such as
// a browser's EventSource, open one stream: it is bound to the caller and
// the stream's scope and expires no later than the caller's token. A
// plain ticket is single-use and travels in the query; a pass is
// reusable until it expires and travels in an HttpOnly cookie, so that
// EventSource's own reconnects present it again.
type Ticket struct {
	Subject   kernel.Subject
	Project   kernel.ProjectID
	Operation *operation.ID
	// ExpiresAt is when the ticket can no longer be redeemed.
	ExpiresAt time.Time
	// TokenExpiresAt is when the token that asked for the ticket expires:
	// the stream it opens ends then, as a stream opened with the token would.
	TokenExpiresAt time.Time
	// Pass marks a reusable stream pass.
	Pass bool
}

// TicketStore keeps tickets until they are redeemed or expire.
type TicketStore interface {
	// Save stores t under the secret code (the store keeps only a hash
	// of it), until t.ExpiresAt.
	Save(ctx context.Context, code string, t Ticket) error
	// Take returns the ticket saved under code and deletes it atomically,
	// so a code works once; an unknown, used or expired code is
	// operation.ErrTicketInvalid.
	Take(ctx context.Context, code string) (Ticket, error)
	// Peek returns the ticket saved under code and keeps it; an unknown
	// or expired code is operation.ErrTicketInvalid.
	Peek(ctx context.Context, code string) (Ticket, error)
}

// RelayTrigger is told that accepted events wait in the outbox, so that
// the relay numbers and publishes them now rather than at its next poll.
type RelayTrigger interface {
	EventsAccepted()
}
