package kernel

import (
	"time"

	"github.com/google/uuid"
)

// Cursor is a keyset position in a list ordered by (time, id) descending.
// Its wire form belongs to the adapter that speaks it (an opaque token in
// the HTTP adapter).
type Cursor struct {
	At time.Time
	ID uuid.UUID
}

// Page sizes: DefaultPageLimit applies when a client asks for none.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// CheckPageLimit accepts 1..MaxPageLimit.
func CheckPageLimit(limit int) error {
	if limit < 1 || limit > MaxPageLimit {
		return Invalid("page.limit_invalid", "limit must be between 1 and 100",
			FieldError{Field: "limit", Message: "must be between 1 and 100"})
	}
	return nil
}

// Timestamp normalises a time to UTC microseconds, the precision every
// supported database keeps, so a value reads back exactly as written.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
