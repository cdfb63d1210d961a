package shared

import (
	"context"
	"time"
)

// RateLimitPolicy is one request budget: Rate requests per Period on
// average, at most Burst of them at once. Name identifies the budget in
// keys, response header fields and metrics.
type RateLimitPolicy struct {
	Name   string
	Rate   int
	Period time.Duration
	Burst  int
}

// RateLimitDecision is a limiter's answer for one request.
type RateLimitDecision struct {
	Allowed bool
	// Remaining is how many more requests the budget allows right now.
	Remaining int
	// RetryAfter is, for a refused request, how long until one is allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the whole burst is available again.
	ResetAfter time.Duration
}

// RateLimiter spends one request of policy's budget for key (a caller or
// a client address). An error means it could not decide (its store did
// not answer in time); what the request then gets is the caller's choice.
type RateLimiter interface {
	Allow(ctx context.Context, policy RateLimitPolicy, key string) (RateLimitDecision, error)
}

// RateLimitMetrics counts what the rate-limiting middleware decides;
// policy is a RateLimitPolicy's Name.
type RateLimitMetrics interface {
	// Limited counts a request refused for being over its budget.
	Limited(policy string)
	// FailedOpen counts a request let through because the limiter could not decide.
	FailedOpen(policy string)
}
