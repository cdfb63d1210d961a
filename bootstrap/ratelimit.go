package bootstrap

import (
	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/health"
	"github.com/scoped-api/foundation/adapters/http/middleware"
	memratelimit "github.com/scoped-api/foundation/adapters/memory/ratelimit"
	"github.com/scoped-api/foundation/adapters/observability"
	redisratelimit "github.com/scoped-api/foundation/adapters/redis/ratelimit"
)

// RateLimitModule keeps the request budgets: in Redis when REDIS_URL is
// set, so every instance spends from the same budget, in the process
// otherwise; nothing when RATE_LIMIT_ENABLED is false. Its readiness
// check is optional: a Redis outage already makes the required "redis"
// check fail, and this one only says that requests are let through
// unlimited meanwhile ("degraded").
var RateLimitModule = fx.Module("ratelimit",
	fx.Provide(
		newRateLimiting,
		fx.Annotate(rateLimitCheck, fx.ResultTags(`group:"readiness"`)),
	),
)

// RateLimiting is what the HTTP module installs after authentication.
type RateLimiting struct {
	enabled  bool
	settings middleware.RateLimitSettings
	// outage reports a shared limiter's Redis outage; nil in the process.
	outage *redisratelimit.Limiter
}

// Middleware is the rate-limiting huma middleware, or one that only
// passes the request on when limiting is off.
func (r RateLimiting) Middleware(api huma.API) func(huma.Context, func(huma.Context)) {
	if !r.enabled {
		return func(ctx huma.Context, next func(huma.Context)) { next(ctx) }
	}
	return middleware.RateLimit(api, r.settings)
}

// Declare documents the limits in the API document when they are on.
func (r RateLimiting) Declare(api huma.API) {
	if r.enabled {
		middleware.DeclareRateLimits(api)
	}
}

func newRateLimiting(cfg Config, rdb Redis, tel *observability.Telemetry, log *zap.Logger) (RateLimiting, error) {
	c := cfg.RateLimit
	if !c.Enabled {
		return RateLimiting{}, nil
	}
	metrics, err := tel.NewRateLimitMetrics()
	if err != nil {
		return RateLimiting{}, err
	}
	s := middleware.RateLimitSettings{Metrics: metrics, TrustedProxies: c.Proxies}
	s.Writes, s.Reads, s.Anonymous = c.Policies()
	r := RateLimiting{enabled: true, settings: s}
	if rdb.Client != nil {
		r.outage = redisratelimit.New(rdb.Client, cfg.Redis.KeyPrefix, cfg.Redis.CommandTimeout, log.Named("ratelimit"))
		r.settings.Limiter = r.outage
	} else {
		r.settings.Limiter = memratelimit.New(nil)
	}
	return r, nil
}

// rateLimitCheck says where the budgets are kept and whether requests are
// being let through unlimited because Redis does not answer.
func rateLimitCheck(r RateLimiting) health.Check {
	return health.Check{Name: "rate_limit", Report: func() health.Report {
		switch {
		case !r.enabled:
			return health.Report{Status: "disabled", Reason: "RATE_LIMIT_ENABLED is false: requests are not limited"}
		case r.outage == nil:
			return health.Report{Status: "ok"}
		}
		since, _ := r.outage.Outage()
		if since.IsZero() {
			return health.Report{Status: "ok"}
		}
		return health.Report{Status: "degraded", Since: &since,
			Reason: "Redis does not answer: requests are let through unlimited until it does"}
	}}
}
