package postgres

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/scoped-api/foundation/ports/shared"
)

type txKey struct{}

// TxRunner opens transactions that repositories join through Conn.
type TxRunner struct{ db *gorm.DB }

var _ shared.TxRunner = (*TxRunner)(nil)

// NewTxRunner returns a runner over db.
func NewTxRunner(db *DB) *TxRunner { return &TxRunner{db: db.Gorm} }

// WithinTx runs fn in a transaction; a nested call joins the outer one.
func (r *TxRunner) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

// Conn is the one way a repository gets its connection: the transaction
// carried by ctx when there is one, the pool otherwise.
func Conn(ctx context.Context, db *gorm.DB) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return db.WithContext(ctx)
}

// InTxContext reports whether ctx carries a transaction (of WithinTx).
func InTxContext(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*gorm.DB)
	return ok
}

// InTx runs fn in the transaction carried by ctx, or in a new one.
func InTx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(tx.WithContext(ctx))
	}
	return db.WithContext(ctx).Transaction(fn)
}

// IsDuplicate reports a unique-constraint violation on either dialect.
func IsDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// IsNotFound reports a lookup that matched no row.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// InScopedTx runs fn in the transaction carried by ctx, or in a new one,
// after recording settings (for example app.subject) as transaction-local
// PostgreSQL settings: the values row-level security policies read. SQLite
// has no such settings; there the scope lives in the statements' WHERE only.
func InScopedTx(ctx context.Context, db *gorm.DB, settings map[string]string, fn func(tx *gorm.DB) error) error {
	return InTx(ctx, db, func(tx *gorm.DB) error {
		if tx.Dialector.Name() == "postgres" {
			for k, v := range settings {
				if err := tx.Exec("SELECT set_config(?, ?, true)", k, v).Error; err != nil {
					return err
				}
			}
		}
		return fn(tx)
	})
}
