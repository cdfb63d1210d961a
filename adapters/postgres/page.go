package postgres

import (
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/scoped-api/foundation/domain/kernel"
)

// NewestFirst narrows tx to one page of a list ordered by (created_at, id)
// descending, the order every kernel.Cursor points into: the rows after
// the cursor, if any, and one more than limit, so that PageOf can tell
// whether another page follows.
func NewestFirst(tx *gorm.DB, after *kernel.Cursor, limit int) *gorm.DB {
	if after != nil {
		at := after.At.UTC()
		tx = tx.Where("((created_at < ?) OR (created_at = ? AND id < ?))", at, at, after.ID.String())
	}
	return tx.Order("created_at DESC").Order("id DESC").Limit(limit + 1)
}

// PageOf cuts the rows a NewestFirst query returned to limit and gives the
// cursor of the next page, nil when this one is the last. key reads a
// row's creation time and id.
func PageOf[R any](rows []R, limit int, key func(R) (time.Time, uuid.UUID)) ([]R, *kernel.Cursor) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	at, id := key(rows[len(rows)-1])
	return rows, &kernel.Cursor{At: at.UTC(), ID: id}
}
