package postgres

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

type unitKey struct{}

// Conn is the one way a repository gets its connection for a statement
// outside a transaction of its own: the pool bound to ctx, or the unit of
// work ctx carries (see UnitOfWork).
func Conn(ctx context.Context, db *gorm.DB) *gorm.DB {
	if tx, ok := ctx.Value(unitKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return db.WithContext(ctx)
}

// InTx runs fn in a new transaction bound to ctx: it commits when fn
// returns nil and rolls back otherwise. Inside a unit of work it is a
// savepoint of the unit's transaction, so it commits only with the unit.
func InTx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return Conn(ctx, db).Transaction(fn)
}

// UnitOfWork runs fn in one transaction that every Conn and InTx bound to
// the ctx it passes joins, so that writes made by code that knows nothing
// of it (a use case and its repositories) commit or roll back together
// with what fn adds (an idempotency record).
func UnitOfWork(ctx context.Context, db *gorm.DB, fn func(ctx context.Context, tx *gorm.DB) error) error {
	return Conn(ctx, db).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, unitKey{}, tx), tx)
	})
}

// InUnitOfWork reports whether ctx carries a unit of work: what a
// repository writes then may still roll back after it returns, so it must
// not remember the write as stored.
func InUnitOfWork(ctx context.Context) bool {
	_, ok := ctx.Value(unitKey{}).(*gorm.DB)
	return ok
}

// IsDuplicate reports a unique-constraint violation on either dialect.
func IsDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// IsNotFound reports a lookup that matched no row.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }
