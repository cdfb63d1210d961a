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

// ParseSubject accepts a person's subject: non-blank, at most
// MaxSubjectLength bytes that Text's rules accept, and not in the form
// reserved for project keys (a token cannot pass for a key).
func ParseSubject(s string) (Subject, error) {
	if _, ok := subjectRule.Check(s); !ok || strings.TrimSpace(s) == "" || len(s) > MaxSubjectLength ||
		strings.HasPrefix(s, keySubjectPrefix) {
		return Subject{}, Unauthorized("auth.subject_invalid", "the token has no usable subject")
	}
	return Subject{v: s}, nil
}

// RestoreSubject accepts what Subject.String gave, a person's or a key's:
// for subjects stored by this API (a stream ticket), never for a token's.
func RestoreSubject(s string) (Subject, error) {
	if rest, ok := strings.CutPrefix(s, keySubjectPrefix); ok {
		id, err := ParseID[KeyKind](rest)
		if err != nil {
			return Subject{}, Unauthorized("auth.subject_invalid", "the token has no usable subject")
		}
		return KeySubject(id), nil
	}
	return ParseSubject(s)
}

// keySubjectPrefix marks the subject of a project key: "key:<key id>".
const keySubjectPrefix = "key:"

// KeySubject is the caller a project key acts as.
func KeySubject(id KeyID) Subject { return Subject{v: keySubjectPrefix + id.String()} }

// Key is the project key the subject is, if it is one.
func (s Subject) Key() (KeyID, bool) {
	rest, ok := strings.CutPrefix(s.v, keySubjectPrefix)
	if !ok {
		return KeyID{}, false
	}
	u, err := parseUUID(rest)
	return IDFrom[KeyKind](u), err == nil
}

// KeyKind is the kind of KeyID.
type KeyKind struct{}

// IDName names key ids in errors.
func (KeyKind) IDName() string { return "key" }

// KeyID identifies a project key, a worker's credential.
type KeyID = ID[KeyKind]

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
