package httpkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
)

// cursorWire is a kernel.Cursor on the wire: JSON in URL-safe base64, opaque to clients.
type cursorWire struct {
	At int64  `json:"t"` // microseconds since the epoch: the precision both databases keep
	ID string `json:"i"`
}

// maxCursorLength bounds a presented cursor before it is decoded.
const maxCursorLength = 256

// EncodeCursor renders c as an opaque, URL-safe token.
func EncodeCursor(c kernel.Cursor) string {
	b, _ := json.Marshal(cursorWire{At: c.At.UnixMicro(), ID: c.ID.String()})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a token EncodeCursor produced; anything else is a
// problem naming query.cursor.
func ParseCursor(ctx context.Context, s string) (*kernel.Cursor, error) {
	c, ok := decodeCursor(s)
	if !ok {
		err := kernel.Invalid("cursor.invalid", "the cursor is not one this API issued", kernel.FieldError{Field: "cursor", Message: "does not decode"})
		return nil, FromError(ctx, err).WithLocation("body.", "query.")
	}
	return &c, nil
}

func decodeCursor(s string) (kernel.Cursor, bool) {
	if len(s) > maxCursorLength {
		return kernel.Cursor{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return kernel.Cursor{}, false
	}
	var w cursorWire
	if err := json.Unmarshal(raw, &w); err != nil || w.At <= 0 {
		return kernel.Cursor{}, false
	}
	id, err := uuid.Parse(w.ID)
	if err != nil {
		return kernel.Cursor{}, false
	}
	return kernel.Cursor{At: time.UnixMicro(w.At).UTC(), ID: id}, true
}
