package postgres

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// Conn is the one way a repository gets its connection for a statement
// outside a transaction of its own: the pool, bound to ctx.
func Conn(ctx context.Context, db *gorm.DB) *gorm.DB { return db.WithContext(ctx) }

// InTx runs fn in a new transaction bound to ctx: it commits when fn
// returns nil and rolls back otherwise.
func InTx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return db.WithContext(ctx).Transaction(fn)
}

// IsDuplicate reports a unique-constraint violation on either dialect.
func IsDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// IsNotFound reports a lookup that matched no row.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }
