package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationSet is one bounded context's versioned SQL migrations, one
// directory of goose files per dialect. Versions are timestamps, so sets
// from several contexts interleave in the order they were written.
type MigrationSet struct {
	Context  string
	Postgres fs.FS
	SQLite   fs.FS
}

// Migrator applies every context's migrations as one ordered sequence.
type Migrator struct {
	provider *goose.Provider
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// NewMigrator merges sets for db's dialect. On PostgreSQL it holds a lock
// row (goose_lock) around every run, so instances starting together apply
// each migration once, also through a pooler in transaction mode.
func NewMigrator(db *DB, sets []MigrationSet) (*Migrator, error) {
	merged := fstest.MapFS{}
	for _, set := range sets {
		src := set.Postgres
		if db.Dialect == DialectSQLite {
			src = set.SQLite
		}
		if src == nil {
			return nil, fmt.Errorf("migrations of %q have no %s set", set.Context, db.Dialect)
		}
		entries, err := fs.ReadDir(src, ".")
		if err != nil {
			return nil, fmt.Errorf("read migrations of %q: %w", set.Context, err)
		}
		for _, e := range entries {
			if e.IsDir() || path.Ext(e.Name()) != ".sql" {
				continue
			}
			if _, dup := merged[e.Name()]; dup {
				return nil, fmt.Errorf("migration %s of %q is declared twice", e.Name(), set.Context)
			}
			data, err := fs.ReadFile(src, e.Name())
			if err != nil {
				return nil, err
			}
			merged[e.Name()] = &fstest.MapFile{Data: data, Mode: 0o444}
		}
	}
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectPostgres
	var opts []goose.ProviderOption
	if db.Dialect == DialectSQLite {
		dialect = goose.DialectSQLite3
	} else {
		// A lock row with a lease, not a session advisory lock: behind a
		// pooler in transaction mode a session lock stays on a server
		// connection other clients get. A holder that dies is replaced
		// once its lease (30 s) runs out.
		locker, err := lock.NewPostgresTableLocker(
			lock.WithTableLockTimeout(500*time.Millisecond, 600),
			lock.WithTableLogger(slog.New(slog.DiscardHandler)),
		)
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithLocker(locker))
	}
	p, err := goose.NewProvider(dialect, sqlDB, merged, opts...)
	if err != nil && !errors.Is(err, goose.ErrNoMigrations) {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{provider: p}, nil
}

// Up applies every pending migration and returns the names applied.
func (m *Migrator) Up(ctx context.Context) ([]string, error) {
	if m.provider == nil {
		return nil, nil
	}
	results, err := m.provider.Up(ctx)
	names := make([]string, 0, len(results))
	for _, r := range results {
		if r.Error == nil {
			names = append(names, path.Base(r.Source.Path))
		}
	}
	if err != nil {
		return names, fmt.Errorf("migrate up: %w", err)
	}
	return names, nil
}

// Down rolls back the most recent migration and returns its name.
func (m *Migrator) Down(ctx context.Context) (string, error) {
	if m.provider == nil {
		return "", nil
	}
	r, err := m.provider.Down(ctx)
	if err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return "", nil
		}
		return "", fmt.Errorf("migrate down: %w", err)
	}
	return path.Base(r.Source.Path), nil
}

// Status lists every known migration in order.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	if m.provider == nil {
		return nil, nil
	}
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version: s.Source.Version,
			Name:    strings.TrimSuffix(path.Base(s.Source.Path), ".sql"),
			Applied: s.State == goose.StateApplied,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
