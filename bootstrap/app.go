package bootstrap

import (
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// contexts lists the bounded contexts; adding one is one line here.
var contexts = fx.Options(
	ProjectModule,
	OperationModule,
	DiagnosticsModule,
)

// infrastructure is what the contexts stand on: the platform (logger,
// database, migrations), telemetry, Redis and the HTTP server.
var infrastructure = fx.Options(
	PlatformModule,
	TelemetryModule,
	RedisModule,
	RateLimitModule,
	IdempotencyModule,
	HTTPModule,
)

// App assembles the application for cfg. Extra options let tests replace
// the clock or the ID generator (fx.Decorate) or pull out values (fx.Populate).
func App(cfg Config, extra ...fx.Option) *fx.App {
	return fx.New(
		fx.Supply(cfg),
		fx.WithLogger(func(log *zap.Logger) fxevent.Logger {
			l := &fxevent.ZapLogger{Logger: log.Named("fx")}
			l.UseLogLevel(zapcore.DebugLevel)
			return l
		}),
		fx.StartTimeout(cfg.Database.ConnectTimeout+startupSlack),
		fx.StopTimeout(cfg.HTTP.ShutdownTimeout+startupSlack),
		infrastructure,
		contexts,
		fx.Invoke(func(*Server) {}),
		fx.Options(extra...),
	)
}

// startupSlack is the time beyond the configured timeouts that fx allows
// for start (migrations) and stop (closing pools) before giving up.
const startupSlack = 60 * time.Second
