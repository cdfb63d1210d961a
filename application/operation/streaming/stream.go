package streaming

import (
	"sync"

	"github.com/scoped-api/foundation/domain/operation"
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

	watch    *watch
	released sync.Once
}

// Initial is what to send before any live event.
func (s *Stream) Initial() []Message { return s.initial }

// DropInitial lets the initial messages go once they are written, so that
// a stream waiting for hours holds no copy of its snapshot.
func (s *Stream) DropInitial() { s.initial = nil }

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
	s.released.Do(s.watch.release)
}

// Revoked is closed when the caller may no longer read the project: a
// removal or deletion on this instance closes it at once, one elsewhere
// within twice the recheck interval. The stream must end.
func (s *Stream) Revoked() <-chan struct{} { return s.watch.ended }
