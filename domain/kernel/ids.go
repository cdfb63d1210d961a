package kernel

import (
	"strings"

	"github.com/google/uuid"
)

// IDKind names what an ID identifies; its name labels parse errors
// ("project" gives the field "project_id" and the code "project.id_invalid").
type IDKind interface{ IDName() string }

// ID identifies one thing of kind K. The zero value is never a valid id:
// IDs are built only by ParseID (from a client) or IDFrom (from an ID
// generator or a stored row).
type ID[K IDKind] struct{ v uuid.UUID }

// ParseID accepts the canonical 36-character form of a non-nil UUID.
func ParseID[K IDKind](s string) (ID[K], error) {
	u, err := parseUUID(s)
	if err != nil {
		var k K
		name := k.IDName()
		return ID[K]{}, Invalid(name+".id_invalid", name+" id must be a UUID", FieldError{Field: name + "_id", Message: "must be a UUID"})
	}
	return ID[K]{v: u}, nil
}

// IDFrom wraps an already-validated UUID.
func IDFrom[K IDKind](u uuid.UUID) ID[K] { return ID[K]{v: u} }

// UUID returns the underlying value.
func (id ID[K]) UUID() uuid.UUID { return id.v }

// IsZero reports whether the id was never set.
func (id ID[K]) IsZero() bool { return id.v == uuid.Nil }

func (id ID[K]) String() string { return id.v.String() }

// ProjectKind is the kind of ProjectID.
type ProjectKind struct{}

// IDName names project ids in errors.
func (ProjectKind) IDName() string { return "project" }

// ProjectID identifies a project, the scope of every project-owned record.
type ProjectID = ID[ProjectKind]

// ParseProjectID accepts the canonical textual form of a UUID.
func ParseProjectID(s string) (ProjectID, error) { return ParseID[ProjectKind](s) }

// ProjectIDFrom wraps an already-validated UUID.
func ProjectIDFrom(u uuid.UUID) ProjectID { return IDFrom[ProjectKind](u) }

// Subject is the authenticated caller, the token's "sub".
type Subject struct{ v string }

// MaxSubjectLength bounds the subject so it fits an indexed column.
const MaxSubjectLength = 255

// subjectRule is what a subject may hold: visible text, no control
// characters, valid UTF-8.
var subjectRule = Text{Field: "sub", Max: MaxSubjectLength, Required: true}

// ParseSubject accepts a non-blank subject of at most MaxSubjectLength
// bytes that Text's rules accept.
func ParseSubject(s string) (Subject, error) {
	if _, ok := subjectRule.Check(s); !ok || strings.TrimSpace(s) == "" || len(s) > MaxSubjectLength {
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
