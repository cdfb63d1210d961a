package streaming

import (
	"errors"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// Streams opens the event streams of operations and projects, and issues
// and checks the tickets and passes that let a browser's EventSource open one.
type Streams struct {
	hub       *Hub
	repo      ports.Repository
	log       ports.EventLog
	tickets   ports.TicketStore
	trigger   ports.RelayTrigger
	clock     shared.Clock
	lifetimes Lifetimes
	watches   *watches
}

// Deps are what streams need; all are required.
type Deps struct {
	Hub     *Hub
	Repo    ports.Repository
	Log     ports.EventLog
	Tickets ports.TicketStore
	// Trigger wakes the relay when a stream waits for events it has not
	// numbered yet.
	Trigger ports.RelayTrigger
	Clock   shared.Clock
	// Gate is asked again, while a stream is open, whether its caller is
	// still a member; it also tells of removals made on this instance.
	Gate shared.ProjectGate
	// Recheck is how often the streams a caller has open in a project
	// ask the gate again, together, with an answer at most that old.
	Recheck time.Duration
}

// NewStreams builds the stream use cases; tickets and passes live as
// long as lifetimes say.
func NewStreams(d Deps, lifetimes Lifetimes) *Streams {
	if d.Hub == nil || d.Repo == nil || d.Log == nil || d.Tickets == nil || d.Trigger == nil || d.Clock == nil || d.Gate == nil ||
		d.Recheck <= 0 || lifetimes.Ticket <= 0 || lifetimes.Pass <= 0 {
		panic("streaming.NewStreams: nil dependency, or no recheck interval or ticket or pass lifetime")
	}
	return &Streams{hub: d.Hub, repo: d.Repo, log: d.Log, tickets: d.Tickets, trigger: d.Trigger, clock: d.Clock,
		lifetimes: lifetimes, watches: newWatches(d.Gate, d.Recheck)}
}

// errNoScope is a programming error: a driving adapter called a use case
// without a granted access. It is not a domain kind, so it surfaces as a 500.
var errNoScope = errors.New("streaming: use case called without an access")

// requireRead checks that the access was granted and may read operations.
func requireRead(access kernel.ProjectAccess) error {
	if access.IsZero() {
		return errNoScope
	}
	return access.Require(kernel.ReadOperations)
}
