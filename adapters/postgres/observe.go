package postgres

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"
)

// StatementObserver is told about every statement after it ran, with its
// SQL text (placeholders, never values) and how long it took.
type StatementObserver func(ctx context.Context, sql string, d time.Duration)

// Normalizer rewrites a statement before it is put on a span.
type Normalizer func(sql string) string

type startKey struct{}

// Observe times every statement GORM runs and reports it to observe.
func (d *DB) Observe(observe StatementObserver) error {
	before := func(tx *gorm.DB) { tx.Statement.Settings.Store(startKey{}, time.Now()) }
	after := func(tx *gorm.DB) {
		v, ok := tx.Statement.Settings.LoadAndDelete(startKey{})
		if !ok {
			return
		}
		observe(tx.Statement.Context, tx.Statement.SQL.String(), time.Since(v.(time.Time)))
	}
	cb := d.Gorm.Callback()
	regs := []struct {
		before, after interface {
			Register(string, func(*gorm.DB)) error
		}
		name string
	}{
		{cb.Create().Before("gorm:create"), cb.Create().After("gorm:create"), "create"},
		{cb.Query().Before("gorm:query"), cb.Query().After("gorm:query"), "query"},
		{cb.Update().Before("gorm:update"), cb.Update().After("gorm:update"), "update"},
		{cb.Delete().Before("gorm:delete"), cb.Delete().After("gorm:delete"), "delete"},
		{cb.Row().Before("gorm:row"), cb.Row().After("gorm:row"), "row"},
		{cb.Raw().Before("gorm:raw"), cb.Raw().After("gorm:raw"), "raw"},
	}
	for _, r := range regs {
		if err := r.before.Register("observe:before_"+r.name, before); err != nil {
			return err
		}
		if err := r.after.Register("observe:after_"+r.name, after); err != nil {
			return err
		}
	}
	return nil
}

// Stats reads the pool's statistics.
func (d *DB) Stats() sql.DBStats {
	sqlDB, err := d.Gorm.DB()
	if err != nil {
		return sql.DBStats{}
	}
	return sqlDB.Stats()
}

// System is the database system's name as telemetry spells it.
func (d *DB) System() string {
	if d.Dialect == DialectPostgres {
		return "postgresql"
	}
	return "sqlite"
}
