// Package postgres is the GORM persistence adapter. It speaks PostgreSQL in
// production and SQLite (pure Go, no cgo) for the embedded default; every
// context's repository lives in a subpackage and gets its connection here.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect is the SQL flavour behind a DATABASE_URL.
type Dialect string

// Supported dialects.
const (
	DialectPostgres Dialect = "postgres"
	DialectSQLite   Dialect = "sqlite"
)

// Config describes the database connection and its pool.
type Config struct {
	URL string
	// QueryExecMode is how pgx sends statements (one of QueryExecModes);
	// empty means DefaultQueryExecMode. It is ignored on SQLite.
	QueryExecMode   string
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	// Tracing, when set, puts a span on every statement.
	Tracing *Tracing
}

// DB is an open database handle with its dialect.
type DB struct {
	Gorm    *gorm.DB
	Dialect Dialect
}

// QueryExecModes are pgx's statement modes, by the names its
// default_query_exec_mode takes.
var QueryExecModes = []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"}

// DefaultQueryExecMode is the mode that works both on PostgreSQL itself
// and behind a pooler in transaction mode (PgBouncer before 1.21, or with
// max_prepared_statements = 0): statements are sent with pgx's unnamed
// prepared statement, one round trip once their description is cached
// (ADR 0018). pgx's own default, cache_statement, names its prepared
// statements per connection, which such a pooler shares among clients.
const DefaultQueryExecMode = "cache_describe"

// CheckQueryExecMode reports a mode that is not one of QueryExecModes.
func CheckQueryExecMode(mode string) error {
	if !slices.Contains(QueryExecModes, mode) {
		return fmt.Errorf("DB_QUERY_EXEC_MODE must be one of %s, not %q", strings.Join(QueryExecModes, ", "), mode)
	}
	return nil
}

// WithQueryExecMode returns the PostgreSQL URL with pgx's
// default_query_exec_mode set to mode. A URL that already names another
// mode is refused rather than silently overridden.
func WithQueryExecMode(raw, mode string) (string, error) {
	if mode == "" {
		mode = DefaultQueryExecMode
	}
	if err := CheckQueryExecMode(mode); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("DATABASE_URL: not a valid postgres URL")
	}
	q := u.Query()
	if inURL := q.Get("default_query_exec_mode"); inURL != "" && inURL != mode {
		return "", fmt.Errorf("DATABASE_URL sets default_query_exec_mode=%s but DB_QUERY_EXEC_MODE is %s: set the mode in DB_QUERY_EXEC_MODE only", inURL, mode)
	}
	q.Set("default_query_exec_mode", mode)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ParseURL returns the dialect of a DATABASE_URL and the DSN its driver takes.
// PostgreSQL URLs are postgres:// or postgresql://; SQLite URLs are
// sqlite://relative/path.db or sqlite:///absolute/path.db.
func ParseURL(raw string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", errors.New("not a valid postgres URL")
		}
		return DialectPostgres, raw, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return "", "", errors.New("sqlite URL has no file path")
		}
		return DialectSQLite, path, nil
	default:
		return "", "", errors.New("must start with postgres://, postgresql:// or sqlite://")
	}
}

// Open builds the handle without touching the server, so that construction
// never blocks; call Ping to find out whether the database is reachable.
func Open(cfg Config) (*DB, error) {
	dialect, dsn, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // repositories open transactions where they need them
		TranslateError:         true, // unique violations arrive as gorm.ErrDuplicatedKey on both dialects
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var dialector gorm.Dialector
	var server string
	switch dialect {
	case DialectPostgres:
		if u, err := url.Parse(dsn); err == nil {
			server = u.Host
		}
		if dsn, err = WithQueryExecMode(dsn, cfg.QueryExecMode); err != nil {
			return nil, err
		}
		pg := postgres.Config{DSN: dsn}
		if cfg.Tracing != nil {
			pg.OptionOpenDB = append(pg.OptionOpenDB, tracePostgres(cfg.Tracing, server))
		}
		dialector = postgres.New(pg)
		gcfg.DisableAutomaticPing = true
	case DialectSQLite:
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return nil, fmt.Errorf("create directory for the SQLite file: %w", err)
		}
		// WAL lets readers run beside the one writer; immediate transactions
		// take the write lock up front instead of failing on upgrade.
		dsn = "file:" + dsn + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		if cfg.Tracing == nil {
			dialector = sqlite.Open(dsn)
		} else {
			conn, err := openTracedSQLite(cfg.Tracing, dsn)
			if err != nil {
				return nil, fmt.Errorf("open sqlite database: %w", err)
			}
			dialector = &sqlite.Dialector{DSN: dsn, Conn: conn}
		}
	}
	g, err := gorm.Open(dialector, gcfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	if cfg.MaxOpenConns > 0 {
		sqlDB.SetMaxOpenConns(cfg.MaxOpenConns)
	}
	if cfg.MaxIdleConns > 0 {
		sqlDB.SetMaxIdleConns(cfg.MaxIdleConns)
	}
	sqlDB.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	sqlDB.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)
	return &DB{Gorm: g, Dialect: dialect}, nil
}

// Ping checks that the database answers within ctx's deadline.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.Gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the pool.
func (d *DB) Close() error {
	sqlDB, err := d.Gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
