package kernel

import (
	"strings"

	"github.com/google/uuid"
)

// ProjectID identifies a project. It is the scope of every project-owned
// record; the zero value is never a valid scope.
type ProjectID struct{ v uuid.UUID }

// ParseProjectID accepts the canonical textual form of a UUID.
func ParseProjectID(s string) (ProjectID, error) {
	u, err := parseUUID(s)
	if err != nil {
		return ProjectID{}, Invalid("project.id_invalid", "project id must be a UUID", FieldError{Field: "project_id", Message: "must be a UUID"})
	}
	return ProjectID{v: u}, nil
}

// ProjectIDFrom wraps an already-validated UUID (from an ID generator or a database row).
func ProjectIDFrom(u uuid.UUID) ProjectID { return ProjectID{v: u} }

// UUID returns the underlying value.
func (id ProjectID) UUID() uuid.UUID { return id.v }

// IsZero reports whether the id was never set.
func (id ProjectID) IsZero() bool { return id.v == uuid.Nil }

func (id ProjectID) String() string { return id.v.String() }

// Subject is the authenticated caller, the token's "sub". Every query for
// caller-owned data carries one.
type Subject struct{ v string }

// MaxSubjectLength bounds the subject so it fits an indexed column.
const MaxSubjectLength = 255

// ParseSubject accepts a non-blank subject of at most MaxSubjectLength bytes.
func ParseSubject(s string) (Subject, error) {
	if strings.TrimSpace(s) == "" || len(s) > MaxSubjectLength {
		return Subject{}, Unauthorized("auth.subject_invalid", "the token has no usable subject")
	}
	return Subject{v: s}, nil
}

// IsZero reports whether the subject was never set.
func (s Subject) IsZero() bool { return s.v == "" }

func (s Subject) String() string { return s.v }

func parseUUID(s string) (uuid.UUID, error) {
	// uuid.Parse also accepts urn: and braced forms; an API id has one spelling.
	if len(s) != 36 {
		return uuid.Nil, errInvalidUUID
	}
	u, err := uuid.Parse(s)
	if err != nil || u == uuid.Nil {
		return uuid.Nil, errInvalidUUID
	}
	return u, nil
}

var errInvalidUUID = Invalid("uuid.invalid", "not a UUID")

// ParseUUID parses the canonical 36-character form of a non-nil UUID,
// naming field in the error.
func ParseUUID(field, s string) (uuid.UUID, error) {
	u, err := parseUUID(s)
	if err != nil {
		return uuid.Nil, Invalid("uuid.invalid", field+" must be a UUID", FieldError{Field: field, Message: "must be a UUID"})
	}
	return u, nil
}
