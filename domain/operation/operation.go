// Package operation is the operation aggregate: a long-running piece of work
// inside a project (an import, an analysis, an agent run) whose progress
// clients watch live. Every change it accepts is recorded as an event.
package operation

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Limits on an operation's fields.
const (
	MaxKindLength    = 64
	MaxMessageLength = 2000
	MaxErrorLength   = 4000
	// MaxResultBytes bounds the opaque result document a worker attaches.
	MaxResultBytes = 64 << 10
)

// Errors a caller can act on. Compare with errors.Is.
var (
	ErrNotFound          = kernel.NotFound("operation.not_found", "operation not found")
	ErrFinished          = kernel.Conflict("operation.finished", "the operation has already finished; its state is final")
	ErrIllegalTransition = kernel.Conflict("operation.illegal_transition", "the operation cannot move to that status from its current one")
	ErrProgressBackwards = kernel.Conflict("operation.progress_backwards", "progress never goes down")
)

// idKind is the kind of ID.
type idKind struct{}

// IDName names operation ids in errors.
func (idKind) IDName() string { return "operation" }

// ID identifies an operation.
type ID = kernel.ID[idKind]

// ParseID accepts the canonical textual form of a UUID.
func ParseID(s string) (ID, error) { return kernel.ParseID[idKind](s) }

// IDFrom wraps an already-validated UUID.
func IDFrom(u uuid.UUID) ID { return kernel.IDFrom[idKind](u) }

// Status is where an operation is in its life.
type Status string

// The statuses. pending → running → succeeded | failed | cancelled; a
// pending operation may also fail or be cancelled before it runs.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status, in life order.
var Statuses = []Status{StatusPending, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled}

// ParseStatus accepts one of Statuses.
func ParseStatus(field, s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", kernel.Invalid("operation.status_invalid", "unknown status",
		kernel.FieldError{Field: field, Message: "must be one of pending, running, succeeded, failed, cancelled"})
}

// Terminal reports whether s is final.
func (s Status) Terminal() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled
}

// legal lists the transitions the aggregate accepts.
var legal = map[Status][]Status{
	StatusPending: {StatusRunning, StatusFailed, StatusCancelled},
	StatusRunning: {StatusSucceeded, StatusFailed, StatusCancelled},
}

func canMove(from, to Status) bool {
	for _, s := range legal[from] {
		if s == to {
			return true
		}
	}
	return false
}

var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]*$`)

// Operation is one long-running piece of work in a project.
type Operation struct {
	id        ID
	project   kernel.ProjectID
	kind      string
	status    Status
	percent   int
	message   string
	result    []byte
	errDetail string
	createdAt time.Time
	updatedAt time.Time
	version   kernel.Version
	pending   []Event
}

// New creates a pending operation of kind (a short lower-case name such as
// "import" or "agent.run") and records its created event.
func New(id ID, project kernel.ProjectID, kind, message string, now time.Time) (*Operation, error) {
	if id.IsZero() || project.IsZero() {
		return nil, kernel.Invalid("operation.scope_missing", "an operation needs an id and a project")
	}
	kind = strings.TrimSpace(kind)
	var fields []kernel.FieldError
	switch {
	case kind == "":
		fields = append(fields, kernel.FieldError{Field: "kind", Message: "must not be empty"})
	case len(kind) > MaxKindLength:
		fields = append(fields, kernel.FieldError{Field: "kind", Message: "must be at most 64 characters"})
	case !kindPattern.MatchString(kind):
		fields = append(fields, kernel.FieldError{Field: "kind", Message: "must start with a lower-case letter and hold only a-z, 0-9, '_', '.' and '-'"})
	}
	if f, ok := checkMessage(message); !ok {
		fields = append(fields, f)
	}
	if len(fields) > 0 {
		return nil, invalid(fields...)
	}
	now = kernel.Timestamp(now)
	op := &Operation{id: id, project: project, kind: kind, status: StatusPending, message: message, createdAt: now, updatedAt: now}
	op.record(EventCreated, now)
	return op, nil
}

// Rehydrate rebuilds an operation from storage without re-running rules.
func Rehydrate(id ID, project kernel.ProjectID, kind string, status Status, percent int, message string, result []byte, errDetail string, createdAt, updatedAt time.Time, version kernel.Version) *Operation {
	return &Operation{id: id, project: project, kind: kind, status: status, percent: percent, message: message,
		result: result, errDetail: errDetail, createdAt: createdAt, updatedAt: updatedAt, version: version}
}

// Report is a worker's progress report. Status nil keeps the status (a
// pending operation starts running on its first report).
type Report struct {
	Percent int
	Message *string
	Status  *Status
	// Result is an opaque JSON document kept with a succeeded operation.
	Result []byte
	// Error explains a failed operation.
	Error string
}

// Apply records a progress report, checking every rule before changing anything.
func (o *Operation) Apply(r Report, now time.Time) error {
	if o.status.Terminal() {
		return ErrFinished
	}
	var fields []kernel.FieldError
	if r.Percent < 0 || r.Percent > 100 {
		fields = append(fields, kernel.FieldError{Field: "percent", Message: "must be between 0 and 100"})
	}
	if r.Message != nil {
		if f, ok := checkMessage(*r.Message); !ok {
			fields = append(fields, f)
		}
	}
	switch {
	case len(r.Result) > MaxResultBytes:
		fields = append(fields, kernel.FieldError{Field: "result", Message: "must be at most 64 KiB"})
	case r.Result != nil && !json.Valid(r.Result):
		fields = append(fields, kernel.FieldError{Field: "result", Message: "must be a JSON document"})
	}
	if f, ok := errorRule.Check(r.Error); !ok {
		fields = append(fields, f)
	}
	if len(fields) > 0 {
		return invalid(fields...)
	}
	next := o.status
	if r.Status != nil {
		next = *r.Status
	} else if o.status == StatusPending {
		next = StatusRunning
	}
	if next != o.status && !canMove(o.status, next) {
		return ErrIllegalTransition
	}
	if r.Percent < o.percent {
		return ErrProgressBackwards
	}
	if r.Result != nil && next != StatusSucceeded {
		return kernel.Invalid("operation.result_unexpected", "only a succeeded operation carries a result",
			kernel.FieldError{Field: "result", Message: "is only accepted with status succeeded"})
	}
	if r.Error != "" && next != StatusFailed {
		return kernel.Invalid("operation.error_unexpected", "only a failed operation carries an error",
			kernel.FieldError{Field: "error", Message: "is only accepted with status failed"})
	}
	now = kernel.Timestamp(now)
	o.status = next
	o.percent = r.Percent
	if next == StatusSucceeded {
		o.percent = 100
		o.result = r.Result
	}
	if next == StatusFailed {
		o.errDetail = r.Error
	}
	if r.Message != nil {
		o.message = *r.Message
	}
	o.updatedAt = now
	o.version++
	o.record(eventFor(next), now)
	return nil
}

// Cancel ends an operation that has not finished.
func (o *Operation) Cancel(now time.Time) error {
	if o.status.Terminal() {
		return ErrFinished
	}
	now = kernel.Timestamp(now)
	o.status = StatusCancelled
	o.updatedAt = now
	o.version++
	o.record(EventCancelled, now)
	return nil
}

// PullEvents returns the events recorded since the last pull and forgets
// them: the repository stores them with the change that caused them.
func (o *Operation) PullEvents() []Event {
	ev := o.pending
	o.pending = nil
	return ev
}

func (o *Operation) record(t EventType, at time.Time) {
	o.pending = append(o.pending, Event{Type: t, Project: o.project, Operation: o.id, At: at, State: o.State()})
}

// State is the operation's current state as a value.
func (o *Operation) State() State {
	return State{ID: o.id, Project: o.project, Kind: o.kind, Status: o.status, Percent: o.percent, Message: o.message,
		Result: o.result, Error: o.errDetail, CreatedAt: o.createdAt, UpdatedAt: o.updatedAt}
}

func (o *Operation) ID() ID                    { return o.id }
func (o *Operation) Project() kernel.ProjectID { return o.project }
func (o *Operation) Kind() string              { return o.kind }
func (o *Operation) Status() Status            { return o.status }
func (o *Operation) Percent() int              { return o.percent }
func (o *Operation) Message() string           { return o.message }
func (o *Operation) Result() []byte            { return o.result }
func (o *Operation) ErrorDetail() string       { return o.errDetail }
func (o *Operation) CreatedAt() time.Time      { return o.createdAt }
func (o *Operation) UpdatedAt() time.Time      { return o.updatedAt }

// Version counts the operation's saved changes (one per event after the
// created one); conditional writes name it.
func (o *Operation) Version() kernel.Version { return o.version }

var (
	messageRule = kernel.Text{Field: "message", Max: MaxMessageLength, Multiline: true}
	errorRule   = kernel.Text{Field: "error", Max: MaxErrorLength, Multiline: true}
)

func checkMessage(m string) (kernel.FieldError, bool) { return messageRule.Check(m) }

func invalid(fields ...kernel.FieldError) error {
	return kernel.Invalid("operation.invalid", "the operation is not valid", fields...)
}
