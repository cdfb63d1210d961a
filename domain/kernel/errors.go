// Package kernel holds the value types and error kinds every bounded context shares.
package kernel

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error so that adapters can translate it once,
// without knowing which context produced it.
type Kind int

// Error kinds. The zero value is deliberately not a valid kind: an error
// without a kind is an internal error.
const (
	KindUnknown Kind = iota
	KindInvalid
	KindNotFound
	KindConflict
	KindUnauthorized
	KindTooManyRequests
	KindUnavailable
	KindPreconditionFailed
	KindForbidden
)

// String names the kind for logs and tests.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindUnauthorized:
		return "unauthorized"
	case KindTooManyRequests:
		return "too_many_requests"
	case KindUnavailable:
		return "unavailable"
	case KindPreconditionFailed:
		return "precondition_failed"
	case KindForbidden:
		return "forbidden"
	default:
		return "unknown"
	}
}

// FieldError names one input field that broke a rule.
type FieldError struct {
	Field   string
	Message string
}

// Error is the one error type the core returns for expected failures.
// Code is stable and machine-readable (for example "project.name_taken");
// Message is safe to show to the caller.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match two domain errors with the same kind and code,
// so that sentinel values declared by contexts work through wrapping.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Kind == e.Kind && t.Code == e.Code
}

// NotFound reports that something does not exist within the caller's reach.
func NotFound(code, message string) *Error {
	return &Error{Kind: KindNotFound, Code: code, Message: message}
}

// Invalid reports input that breaks a domain rule; fields say which.
func Invalid(code, message string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: message, Fields: fields}
}

// Conflict reports a clash with the current state (a duplicate, an illegal transition).
func Conflict(code, message string) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: message}
}

// Unauthorized reports a caller whose identity could not be established.
func Unauthorized(code, message string) *Error {
	return &Error{Kind: KindUnauthorized, Code: code, Message: message}
}

// Forbidden reports a known caller who may not do what they asked.
func Forbidden(code, message string) *Error {
	return &Error{Kind: KindForbidden, Code: code, Message: message}
}

// TooManyRequests reports a caller over a limit.
func TooManyRequests(code, message string) *Error {
	return &Error{Kind: KindTooManyRequests, Code: code, Message: message}
}

// Unavailable reports a dependency that cannot serve right now.
func Unavailable(code, message string, err error) *Error {
	return &Error{Kind: KindUnavailable, Code: code, Message: message, Err: err}
}

// PreconditionFailed reports a conditional write whose condition the
// stored state does not meet (the caller's copy is stale).
func PreconditionFailed(code, message string) *Error {
	return &Error{Kind: KindPreconditionFailed, Code: code, Message: message}
}

// KindOf returns the kind of the first domain error in err's chain, or
// KindUnknown when there is none.
func KindOf(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return KindUnknown
}
