package observability

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
)

// Telemetry states, as readiness reports them.
const (
	StatusOK       = "ok"
	StatusDisabled = "disabled"
	StatusDegraded = "degraded"
)

// State is the telemetry pipeline's condition: ok, disabled or degraded,
// why, and since when. It never makes the service unready.
type State struct {
	Status string
	Reason string
	Since  time.Time
}

const sheddingNote = "; tracing is shed to one new trace per second until exports succeed"

// health tracks two independent signals: whether the collector's address
// accepts connections (probed) and whether the last export succeeded. Either
// failing makes the state degraded; the export outcome is the one that
// counts when both are known, because it is the one that loses spans.
type health struct {
	now func() time.Time

	mu          sync.Mutex
	disabled    string
	exportErr   string
	exportSince time.Time
	probeErr    string
	probeSince  time.Time
	okSince     time.Time
	down        atomic.Bool  // exportErr != "" || probeErr != ""
	inflight    atomic.Int64 // start of the export under way, unix ns; 0 when none
}

func newHealth(now func() time.Time) *health {
	return &health{now: now, okSince: now()}
}

func (h *health) disable(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.disabled = reason
	h.okSince = h.now()
}

// exported records an export's outcome and reports whether it ended a run
// of failures.
func (h *health) exported(err error) (recovered bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.updateDown()
	if err != nil {
		if h.exportErr == "" {
			h.exportSince = h.now()
		}
		h.exportErr = "span export failed: " + err.Error()
		return false
	}
	recovered = h.exportErr != ""
	if recovered {
		h.exportErr = ""
		h.okSince = h.now()
	}
	// A delivered batch proves the collector reachable as well.
	if h.probeErr != "" {
		h.probeErr = ""
		h.okSince = h.now()
	}
	return recovered
}

func (h *health) probed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.updateDown()
	if err != nil {
		if h.probeErr == "" {
			h.probeSince = h.now()
		}
		h.probeErr = "collector unreachable: " + err.Error()
		return
	}
	if h.probeErr != "" {
		h.probeErr = ""
		if h.exportErr == "" {
			h.okSince = h.now()
		}
	}
}

func (h *health) updateDown() { h.down.Store(h.exportErr != "" || h.probeErr != "") }

// stuckAfter is how long an export may go unanswered before the collector
// counts as hanging, well before the export's own timeout.
const stuckAfter = 2 * time.Second

// exporting marks the start (at != zero) or end of an export.
func (h *health) exporting(at time.Time) {
	if at.IsZero() {
		h.inflight.Store(0)
		return
	}
	h.inflight.Store(at.UnixNano())
}

// stuck reports how long the current export has gone unanswered, if longer
// than stuckAfter.
func (h *health) stuck() (time.Duration, bool) {
	started := h.inflight.Load()
	if started == 0 {
		return 0, false
	}
	d := h.now().Sub(time.Unix(0, started))
	return d, d > stuckAfter
}

// failing reports whether spans cannot currently be delivered. It is read
// for every new trace, so it takes no lock.
func (h *health) failing() bool {
	if h.down.Load() {
		return true
	}
	_, stuck := h.stuck()
	return stuck
}

func (h *health) state() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.disabled != "":
		return State{Status: StatusDisabled, Reason: h.disabled, Since: h.okSince}
	case h.exportErr != "":
		return State{Status: StatusDegraded, Reason: h.exportErr + sheddingNote, Since: h.exportSince}
	case h.probeErr != "":
		return State{Status: StatusDegraded, Reason: h.probeErr + sheddingNote, Since: h.probeSince}
	}
	if d, stuck := h.stuck(); stuck {
		return State{Status: StatusDegraded, Reason: "span export has not been answered for " + d.Round(time.Second).String() + sheddingNote,
			Since: time.Unix(0, h.inflight.Load()).Add(stuckAfter)}
	}
	return State{Status: StatusOK, Since: h.okSince}
}

// monitoredExporter reports every export's outcome to health and logs
// failures rate-limited. It returns nil to the batch processor, whose only
// use of the error would be to hand it to the global handler a second time.
type monitoredExporter struct {
	next     sdktrace.SpanExporter
	health   *health
	errs     *rateLimited
	log      *zap.Logger
	timeout  time.Duration
	failures metric.Int64Counter
}

func (e *monitoredExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	e.health.exporting(e.health.now())
	err := e.next.ExportSpans(ctx, spans)
	e.health.exporting(time.Time{})
	if e.health.exported(err) {
		e.errs.Reset()
		e.log.Info("telemetry export recovered")
	}
	if err != nil {
		e.failures.Add(context.WithoutCancel(ctx), 1)
		e.errs.Report(err)
	}
	return nil
}

func (e *monitoredExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

// probe dials the collector's address now and then, so that a collector
// that is down shows in readiness even when no span is being exported.
func probe(ctx context.Context, addr string, every, timeout time.Duration, h *health) {
	dial := func() {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			_ = c.Close()
		}
		h.probed(err)
	}
	dial()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			dial()
		}
	}
}
