package operation

import (
	"errors"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Errors of event streams.
var (
	// ErrTicketInvalid is an unknown, already used or expired stream ticket.
	ErrTicketInvalid = kernel.Unauthorized("stream.ticket_invalid", "the stream ticket is unknown, used or expired")
	// ErrTooManyStreams is a caller over its concurrent stream limit.
	ErrTooManyStreams = kernel.TooManyRequests("stream.too_many", "too many concurrent streams for this caller")
)

// Reasons the server ends a stream. A client resumes after each with its
// last event id, losing nothing.
var (
	ErrSlowSubscriber = errors.New("the subscriber fell behind")
	ErrShuttingDown   = errors.New("the server is shutting down")
	ErrResync         = errors.New("the server lost track of the event sequence")
)
