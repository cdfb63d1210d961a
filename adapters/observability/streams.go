package observability

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/scoped-api/foundation/ports/shared"
)

// StreamMetrics exports what the event streams report: connected streams,
// events delivered, subscribers disconnected for being slow, and the relay
// lag (the age of the oldest event not yet published).
type StreamMetrics struct {
	connected    metric.Int64UpDownCounter
	delivered    metric.Int64Counter
	disconnected metric.Int64Counter
	lagNanos     atomic.Int64
}

var _ shared.StreamMetrics = (*StreamMetrics)(nil)

// NewStreamMetrics creates the stream instruments.
func (t *Telemetry) NewStreamMetrics() (*StreamMetrics, error) {
	m := t.Meter()
	s := &StreamMetrics{}
	var err error
	if s.connected, err = m.Int64UpDownCounter("streams.connected", metric.WithDescription("Event streams currently connected")); err != nil {
		return nil, err
	}
	if s.delivered, err = m.Int64Counter("streams.events.delivered", metric.WithDescription("Events written to stream subscribers")); err != nil {
		return nil, err
	}
	if s.disconnected, err = m.Int64Counter("streams.slow_subscribers.disconnected", metric.WithDescription("Subscribers disconnected for falling behind")); err != nil {
		return nil, err
	}
	lag, err := m.Float64ObservableGauge("streams.relay.lag", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event not yet published by the relay"))
	if err != nil {
		return nil, err
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveFloat64(lag, time.Duration(s.lagNanos.Load()).Seconds())
		return nil
	}, lag)
	if err != nil {
		return nil, err
	}
	t.OnShutdown(reg.Unregister)
	return s, nil
}

// StreamOpened counts a newly connected stream.
func (s *StreamMetrics) StreamOpened() { s.connected.Add(context.Background(), 1) }

// StreamClosed counts a stream that ended.
func (s *StreamMetrics) StreamClosed() { s.connected.Add(context.Background(), -1) }

// EventsDelivered counts n events written to subscribers.
func (s *StreamMetrics) EventsDelivered(n int) { s.delivered.Add(context.Background(), int64(n)) }

// SlowSubscriberDisconnected counts a subscriber dropped for falling behind.
func (s *StreamMetrics) SlowSubscriberDisconnected() { s.disconnected.Add(context.Background(), 1) }

// RelayLag records the age of the oldest unpublished event.
func (s *StreamMetrics) RelayLag(age time.Duration) { s.lagNanos.Store(int64(max(age, 0))) }
