package streaming

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// Control events a stream sends besides operation events.
const (
	MessageSnapshot = "snapshot"
	// MessageHistoryExpired says that events after the client's last id
	// were pruned: a snapshot follows, and the client should treat it as
	// the new truth.
	MessageHistoryExpired = "history_expired"
)

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

// Stream is one subscriber's view of a stream: the messages to send
// first, then the live events that follow them.
type Stream struct {
	sub      *subscriber
	initial  []Message
	finished bool

	access   kernel.ProjectAccess
	gate     shared.ProjectGate
	recheck  time.Duration
	revoked  <-chan struct{}
	unwatch  func()
	failures int
}

// Initial is what to send before any live event.
func (s *Stream) Initial() []Message { return s.initial }

// Finished reports that the operation streamed has ended and the initial
// messages hold everything left to send.
func (s *Stream) Finished() bool { return s.finished }

// Ready is signalled when Take has something for the writer.
func (s *Stream) Ready() <-chan struct{} { return s.sub.ready }

// Take returns the live events queued since the last call; done reports
// that the stream ended after them (Err says why).
func (s *Stream) Take() (events []operation.Recorded, done bool) { return s.sub.take() }

// Err is why the server ended the stream (nil when the operation ended):
// operation.ErrSlowSubscriber, ErrShuttingDown or ErrResync.
func (s *Stream) Err() error { return s.sub.reason() }

// Close ends the subscription; it is safe to call more than once.
func (s *Stream) Close() {
	s.sub.hub.remove(s.sub, nil)
	if s.unwatch != nil {
		s.unwatch()
	}
}

// Revoked is closed when this instance removes the caller from the
// project or deletes it: the stream must end.
func (s *Stream) Revoked() <-chan struct{} { return s.revoked }

// RecheckEvery is how often the writer calls StillAllowed.
func (s *Stream) RecheckEvery() time.Duration { return s.recheck }

// StillAllowed asks the gate again whether the caller may read the
// project, with an answer at most RecheckEvery old, so that a removal
// made on another instance ends the stream within twice that. A gate
// that cannot answer is given one more interval before the stream ends
// (its client resumes without loss once it can).
func (s *Stream) StillAllowed(ctx context.Context) bool {
	access, err := s.gate.Recheck(ctx, s.access, s.recheck)
	switch {
	case err == nil:
		s.failures = 0
		return access.Allows(kernel.ReadOperations)
	case kernel.KindOf(err) == kernel.KindUnavailable || kernel.KindOf(err) == kernel.KindUnknown:
		s.failures++
		return s.failures < 2
	default:
		return false
	}
}
