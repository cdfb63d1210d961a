package bootstrap

import (
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/scoped-api/foundation/adapters/observability"
)

// InstrumentRedis instruments client with go-redis's own OpenTelemetry
// package: a span per command (without its arguments, which hold keys and
// event payloads) and the pool's statistics as metrics, read from the real
// pool at each scrape — hits, misses, timeouts and waits
// (db_client_connections_{hits,misses,timeouts,waits}_total), connections
// by state (db_client_connections_usage{state="idle|used"}, whose sum is
// the total) and, from this service in seconds, the time waited
// (db_client_connections_wait_time_seconds_total). The metric callbacks
// are unregistered when the telemetry stops. Call it once per client,
// before the client is used.
func InstrumentRedis(client redis.UniversalClient, tel *observability.Telemetry) error {
	if tel.Tracing() {
		if err := redisotel.InstrumentTracing(client,
			redisotel.WithTracerProvider(tel.TracerProvider()),
			redisotel.WithDBStatement(false),
		); err != nil {
			return fmt.Errorf("redis tracing: %w", err)
		}
	}
	stop := make(chan struct{})
	var once sync.Once
	tel.OnShutdown(func() error {
		once.Do(func() { close(stop) })
		return nil
	})
	pool := poolName(client)
	if err := redisotel.InstrumentMetrics(client,
		redisotel.WithMeterProvider(tel.MeterProvider()),
		redisotel.WithPoolName(pool),
		redisotel.WithSemConvCompliantMetrics(true),
		redisotel.WithCloseChan(stop),
	); err != nil {
		return fmt.Errorf("redis metrics: %w", err)
	}
	return tel.ObserveRedisPoolWaitTime(pool, func() time.Duration { return time.Duration(client.PoolStats().WaitDurationNs) })
}

// poolName is the pool.name label of every Redis pool metric, given to
// go-redis's instrumentation too so that the two agree: the client's
// address, a cluster's first seed address.
func poolName(client redis.UniversalClient) string {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		if addrs := c.Options().Addrs; len(addrs) > 0 {
			return addrs[0]
		}
	}
	return "redis"
}
