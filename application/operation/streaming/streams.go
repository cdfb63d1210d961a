package streaming

import (
	"errors"

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
}

// NewStreams builds the stream use cases; tickets and passes live as
// long as lifetimes say.
func NewStreams(d Deps, lifetimes Lifetimes) *Streams {
	if d.Hub == nil || d.Repo == nil || d.Log == nil || d.Tickets == nil || d.Trigger == nil || d.Clock == nil ||
		lifetimes.Ticket <= 0 || lifetimes.Pass <= 0 {
		panic("streaming.NewStreams: nil dependency or no ticket or pass lifetime")
	}
	return &Streams{hub: d.Hub, repo: d.Repo, log: d.Log, tickets: d.Tickets, trigger: d.Trigger, clock: d.Clock, lifetimes: lifetimes}
}

// errNoScope is a programming error: a driving adapter called a use case
// without a granted access. It is not a domain kind, so it surfaces as a 500.
var errNoScope = errors.New("streaming: use case called without an access")
