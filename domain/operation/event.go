package operation

import (
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// EventType names what happened to an operation.
type EventType string

// The event types. A stream's "event:" field is one of these (or one of
// the stream's own control events).
const (
	EventCreated   EventType = "created"
	EventProgress  EventType = "progress"
	EventSucceeded EventType = "succeeded"
	EventFailed    EventType = "failed"
	EventCancelled EventType = "cancelled"
)

func eventFor(s Status) EventType {
	switch s {
	case StatusSucceeded:
		return EventSucceeded
	case StatusFailed:
		return EventFailed
	case StatusCancelled:
		return EventCancelled
	}
	return EventProgress
}

// Terminal reports whether the event ends its operation.
func (t EventType) Terminal() bool {
	return t == EventSucceeded || t == EventFailed || t == EventCancelled
}

// State is an operation's state at one moment, as a plain value that
// events carry and streams send as their snapshot.
type State struct {
	ID        ID
	Project   kernel.ProjectID
	Kind      string
	Status    Status
	Percent   int
	Message   string
	Result    []byte
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Event is one change of an operation, carrying the state it led to.
type Event struct {
	Type      EventType
	Project   kernel.ProjectID
	Operation ID
	At        time.Time
	State     State
}

// Recorded is an event as the event log stored it: Seq is its position in
// the log, unique and increasing in the order events were accepted, and is
// the id streams send.
type Recorded struct {
	Seq int64
	Event
}
