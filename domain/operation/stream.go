package operation

import (
	"errors"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Errors of event streams.
var (
	// ErrTicketInvalid is an unknown, already used or expired stream ticket.
	ErrTicketInvalid = kernel.Unauthorized("stream.ticket_invalid", "the stream ticket is unknown, used or expired")
	// ErrPassInvalid is an unknown or expired stream pass, or one
	// presented on another stream than its own.
	ErrPassInvalid = kernel.Unauthorized("stream.pass_invalid", "the stream pass is unknown or expired, or not for this stream: get a new one with POST .../events/tickets")
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
