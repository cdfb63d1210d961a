package kernel

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Cursor is a keyset position in a list ordered by (time, id) descending.
// It is opaque to clients: Encode produces a URL-safe token.
type Cursor struct {
	At time.Time
	ID uuid.UUID
}

type cursorWire struct {
	At int64  `json:"t"` // microseconds since the epoch: the precision both databases keep
	ID string `json:"i"`
}

// Encode renders the cursor as an opaque, URL-safe token.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(cursorWire{At: c.At.UnixMicro(), ID: c.ID.String()})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a token produced by Encode.
func ParseCursor(s string) (Cursor, error) {
	bad := Invalid("cursor.invalid", "the cursor is not one this API issued", FieldError{Field: "cursor", Message: "does not decode"})
	if len(s) > 256 {
		return Cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	var w cursorWire
	if err := json.Unmarshal(raw, &w); err != nil || w.At <= 0 {
		return Cursor{}, bad
	}
	id, err := uuid.Parse(w.ID)
	if err != nil {
		return Cursor{}, bad
	}
	return Cursor{At: time.UnixMicro(w.At).UTC(), ID: id}, nil
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
