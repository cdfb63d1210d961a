package bootstrap

import (
	"context"
	"fmt"
	"net/url"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scoped-api/foundation/adapters/http/health"
	"github.com/scoped-api/foundation/adapters/observability"
	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/adapters/system"
	"github.com/scoped-api/foundation/ports/shared"
)

// PlatformModule provides what every context shares: the logger, the
// database (pinged and migrated at start), the clock and IDs.
var PlatformModule = fx.Module("platform",
	fx.Provide(
		NewLogger,
		NewDatabase,
		newMigrator,
		newMigrated,
		func() shared.Clock { return system.Clock{} },
		func() shared.IDGenerator { return system.UUIDv7{} },
		fx.Annotate(databaseCheck, fx.ResultTags(`group:"readiness"`)),
	),
)

// NewLogger builds the process logger from cfg.
func NewLogger(cfg Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Log.Level)
	if err != nil {
		return nil, err
	}
	var zc zap.Config
	if cfg.Log.Format == "json" {
		zc = zap.NewProductionConfig()
	} else {
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil // an access log that drops lines is not an access log
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	return zc.Build(zap.Fields(zap.String("env", cfg.Env)))
}

// NewDatabase opens the configured database. Opening never blocks; the
// start hook pings it and fails the start with a clear message when it does
// not answer, because a configured database is never silently replaced.
func NewDatabase(lc fx.Lifecycle, cfg Config, log *zap.Logger, tel *observability.Telemetry) (*postgres.DB, error) {
	var tracing *postgres.Tracing
	if tel.Exporting() {
		tracing = &postgres.Tracing{Provider: tel.TracerProvider(), Normalize: observability.NormalizeCached}
	}
	db, err := postgres.Open(postgres.Config{
		Tracing:         tracing,
		URL:             cfg.Database.URL,
		QueryExecMode:   cfg.Database.QueryExecMode,
		MaxOpenConns:    cfg.Database.MaxOpenConns,
		MaxIdleConns:    cfg.Database.MaxIdleConns,
		ConnMaxLifetime: cfg.Database.ConnMaxLifetime,
		ConnMaxIdleTime: cfg.Database.ConnMaxIdleTime,
	})
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, cfg.Database.ConnectTimeout)
			defer cancel()
			if err := db.Ping(ctx); err != nil {
				return fmt.Errorf("database %s is unreachable (is it running? check DATABASE_URL): %w", RedactURL(cfg.Database.URL), err)
			}
			log.Info("database connected", zap.String("dialect", string(db.Dialect)), zap.String("url", RedactURL(cfg.Database.URL)))
			return nil
		},
		OnStop: func(context.Context) error { return db.Close() },
	})
	return db, nil
}

// Migrated marks that the schema is current; the HTTP server depends on it
// so that it never serves before migrations ran.
type Migrated struct{}

type migrationsIn struct {
	fx.In
	Sets []postgres.MigrationSet `group:"migrations"`
}

// newMigrator gathers the migrations every context contributes.
func newMigrator(db *postgres.DB, in migrationsIn) (*postgres.Migrator, error) {
	return postgres.NewMigrator(db, in.Sets)
}

func newMigrated(lc fx.Lifecycle, cfg Config, m *postgres.Migrator, log *zap.Logger) Migrated {
	lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
		if !cfg.Database.MigrateOnStart {
			return nil
		}
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("migrations applied", zap.Strings("migrations", applied))
		}
		return nil
	}})
	return Migrated{}
}

func databaseCheck(db *postgres.DB) health.Check {
	return health.Check{Name: "database", Required: true, Timeout: defaultCheckTimeout, Probe: db.Ping}
}

// RedactURL hides a URL's password so it can be logged, including the
// password query parameter of a Sentinel URL (the primary's password).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
