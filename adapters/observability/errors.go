package observability

import (
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.uber.org/zap"
)

// rateLimited logs the first of a run of errors at once and then at most
// one line per interval, with the number of errors it kept quiet about, so
// that a collector that is down costs a few log lines, not one per batch.
type rateLimited struct {
	log      *zap.Logger
	msg      string
	interval time.Duration
	now      func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newRateLimited(log *zap.Logger, msg string, interval time.Duration, now func() time.Time) *rateLimited {
	return &rateLimited{log: log, msg: msg, interval: interval, now: now}
}

// Report logs err now, or counts it when a line was written less than the
// interval ago.
func (r *rateLimited) Report(err error) {
	r.mu.Lock()
	now := r.now()
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.suppressed, r.last = 0, now
	r.mu.Unlock()
	r.log.Warn(r.msg, zap.Error(err), zap.Int("suppressed_since_last_line", suppressed),
		zap.Duration("next_line_in_at_least", r.interval))
}

// Reset forgets the quiet period, so that the next failure after a recovery
// is logged at once.
func (r *rateLimited) Reset() {
	r.mu.Lock()
	r.last, r.suppressed = time.Time{}, 0
	r.mu.Unlock()
}

// globalErrors receives everything the OpenTelemetry SDK reports through
// otel.Handle. The handler is process-wide, so it forwards to the logger of
// the most recently started Telemetry.
var (
	globalErrorsOnce sync.Once
	globalErrors     atomic.Pointer[rateLimited]
)

func installGlobalErrorHandler(r *rateLimited) {
	globalErrors.Store(r)
	globalErrorsOnce.Do(func() {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			if h := globalErrors.Load(); h != nil {
				h.Report(err)
			}
		}))
	})
}
