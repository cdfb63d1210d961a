package bootstrap

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/health"
	"github.com/scoped-api/foundation/adapters/observability"
	redisadapter "github.com/scoped-api/foundation/adapters/redis"
)

// Redis is the configured Redis client; Client is nil when REDIS_URL is
// empty and events stay in the process (one instance only).
type Redis struct{ Client redis.UniversalClient }

// RedisModule connects to REDIS_URL when it is set: the start fails with a
// clear message when Redis does not answer (a configured Redis is never
// silently replaced by the in-process bus); afterwards an outage shows in
// readiness while writes go on being accepted.
var RedisModule = fx.Module("redis",
	fx.Provide(
		NewRedis,
		fx.Annotate(redisCheck, fx.ResultTags(`group:"readiness"`)),
	),
)

// NewRedis opens the client, instruments it and pings it at start.
func NewRedis(lc fx.Lifecycle, cfg Config, log *zap.Logger, tel *observability.Telemetry) (Redis, error) {
	if cfg.Redis.URL == "" {
		if cfg.Env == EnvProduction {
			log.Warn("REDIS_URL is not set: operation events reach only this instance's streams; set it before running a second instance")
		}
		return Redis{}, nil
	}
	client, err := redisadapter.Open(cfg.Redis.URL, redisadapter.Settings{
		Mode: cfg.Redis.Mode, PoolSize: cfg.Redis.PoolSize, ConnectTimeout: cfg.Redis.ConnectTimeout, CommandTimeout: cfg.Redis.CommandTimeout,
	})
	if err != nil {
		return Redis{}, fmt.Errorf("REDIS_URL: %w", err)
	}
	if err := InstrumentRedis(client, tel); err != nil {
		log.Warn("Redis telemetry unavailable", zap.Error(err))
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, cfg.Redis.ConnectTimeout)
			defer cancel()
			if err := client.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("redis %s (REDIS_MODE=%s) is unreachable (is it running? check REDIS_URL and REDIS_MODE): %w", RedactURL(cfg.Redis.URL), cfg.Redis.Mode, err)
			}
			log.Info("redis connected", zap.String("mode", cfg.Redis.Mode), zap.String("url", RedactURL(cfg.Redis.URL)))
			return nil
		},
		OnStop: func(context.Context) error { return client.Close() },
	})
	return Redis{Client: client}, nil
}

// redisCheck reports Redis in readiness when it is configured: without
// it, events stop reaching other instances' streams.
func redisCheck(r Redis) health.Check {
	if r.Client == nil {
		return health.Check{Name: "redis", Report: func() health.Report {
			return health.Report{Status: "disabled", Reason: "REDIS_URL is not set: events stay in this process (one instance only)"}
		}}
	}
	return health.Check{Name: "redis", Required: true, Timeout: defaultCheckTimeout,
		Probe: func(ctx context.Context) error { return r.Client.Ping(ctx).Err() }}
}
