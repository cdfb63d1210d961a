package observability

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/scoped-api/foundation/ports/shared"
)

// RateLimitMetrics exports what the rate-limiting middleware decides:
// requests refused for being over a budget, and requests let through
// because the limiter could not decide (Redis down), each by policy.
type RateLimitMetrics struct {
	limited    metric.Int64Counter
	failedOpen metric.Int64Counter
	// sets holds one attribute set per policy name, built once.
	sets sync.Map // string -> metric.MeasurementOption
}

var _ shared.RateLimitMetrics = (*RateLimitMetrics)(nil)

// NewRateLimitMetrics creates the rate-limit instruments.
func (t *Telemetry) NewRateLimitMetrics() (*RateLimitMetrics, error) {
	m := t.Meter()
	r := &RateLimitMetrics{}
	var err error
	if r.limited, err = m.Int64Counter("http.rate_limit.limited",
		metric.WithDescription("Requests refused with 429 for being over their rate-limit budget")); err != nil {
		return nil, err
	}
	if r.failedOpen, err = m.Int64Counter("http.rate_limit.failed_open",
		metric.WithDescription("Requests let through unlimited because the rate limiter could not decide (its Redis did not answer)")); err != nil {
		return nil, err
	}
	return r, nil
}

// Limited counts a refused request.
func (r *RateLimitMetrics) Limited(policy string) {
	r.limited.Add(context.Background(), 1, r.set(policy))
}

// FailedOpen counts a request let through without a decision.
func (r *RateLimitMetrics) FailedOpen(policy string) {
	r.failedOpen.Add(context.Background(), 1, r.set(policy))
}

func (r *RateLimitMetrics) set(policy string) metric.AddOption {
	if s, ok := r.sets.Load(policy); ok {
		return s.(metric.MeasurementOption)
	}
	s, _ := r.sets.LoadOrStore(policy, metric.WithAttributeSet(attribute.NewSet(attribute.String("policy", policy))))
	return s.(metric.MeasurementOption)
}
