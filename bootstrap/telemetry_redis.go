package bootstrap

import (
	"fmt"
	"sync"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/scoped-api/foundation/adapters/observability"
)

// InstrumentRedis instruments client with go-redis's own OpenTelemetry
// package: a span per command (without its arguments, which hold keys and
// event payloads) and the pool's statistics as metrics, read from the real
// pool at each scrape — hits, misses, timeouts and waits
// (db_client_connections_{hits,misses,timeouts,waits}_total) and
// connections by state (db_client_connections_usage{state="idle|used"},
// whose sum is the total). The metric callbacks are unregistered when the
// telemetry stops. Call it once per client, before the client is used.
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
	if err := redisotel.InstrumentMetrics(client,
		redisotel.WithMeterProvider(tel.MeterProvider()),
		redisotel.WithSemConvCompliantMetrics(true),
		redisotel.WithCloseChan(stop),
	); err != nil {
		return fmt.Errorf("redis metrics: %w", err)
	}
	return nil
}
