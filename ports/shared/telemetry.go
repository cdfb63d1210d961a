package shared

import "time"

// StreamMetrics is how event-stream code reports what only it can see; the
// telemetry adapter turns it into metrics. No method takes a project:
// metrics carry no per-project label (per-project figures belong to the
// project's info endpoint).
type StreamMetrics interface {
	// StreamOpened and StreamClosed bracket one connected stream.
	StreamOpened()
	StreamClosed()
	// EventsDelivered counts events written to subscribers.
	EventsDelivered(n int)
	// SlowSubscriberDisconnected counts subscribers dropped for falling behind.
	SlowSubscriberDisconnected()
	// RelayLag reports the age of the oldest event not yet published (zero
	// when none is waiting).
	RelayLag(age time.Duration)
}
