// Package health serves liveness and readiness.
package health

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// Check is one dependency the readiness probe asks about.
type Check struct {
	Name string
	// Required checks turn readiness to 503 when they fail; optional ones
	// are reported but never do.
	Required bool
	Timeout  time.Duration
	Probe    func(ctx context.Context) error
	// Report, when set, describes an optional component's state instead of Probe.
	Report func() Report
}

// Report is an optional component's self-described state.
type Report struct {
	Status string
	Reason string
	Since  *time.Time
}

// CheckResult is one check's outcome.
type CheckResult struct {
	Status    string     `json:"status" enum:"up,down,ok,disabled,degraded" doc:"up or down for dependencies; ok, disabled or degraded for optional components"`
	Required  bool       `json:"required" doc:"Whether this check failing makes the service unready"`
	LatencyMS float64    `json:"latency_ms" doc:"How long the check took, in milliseconds"`
	Error     string     `json:"error,omitempty" doc:"Why the check failed"`
	Since     *time.Time `json:"since,omitempty" doc:"Since when the component is in this state"`
}

// Readiness is the readiness body.
type Readiness struct {
	Status string                 `json:"status" enum:"ok,unavailable"`
	Checks map[string]CheckResult `json:"checks"`
}

// Handler serves /health/live and /health/ready.
type Handler struct {
	version  string
	checks   []Check
	deadline time.Duration
	log      *zap.Logger
}

// NewHandler probes checks; the whole readiness answer is bounded by
// deadline. Failure details go to log, not to the unauthenticated caller.
// Liveness names version, so that a rollout can be watched instance by
// instance.
func NewHandler(version string, checks []Check, deadline time.Duration, log *zap.Logger) *Handler {
	sorted := append([]Check(nil), checks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	return &Handler{version: version, checks: sorted, deadline: deadline, log: log}
}

// Liveness is the liveness body.
type Liveness struct {
	Status  string `json:"status" example:"ok"`
	Version string `json:"version" example:"v1.4.0" doc:"The running build's version (api version prints it with its commit and build date)"`
}

type liveOutput struct {
	Body Liveness
}

type readyOutput struct {
	Status int
	Body   Readiness
}

// Register adds the two probes. They need no authentication.
func (h *Handler) Register(api huma.API) {
	httpkit.DeclareTag(api, "health", "Liveness and readiness probes, for load balancers and orchestrators; no token needed")
	huma.Register(api, huma.Operation{
		OperationID: "health-live",
		Method:      http.MethodGet,
		Path:        "/health/live",
		Summary:     "Liveness: the process is up",
		Description: "Checks no dependency; use it to decide whether to restart the process.",
		Tags:        []string{"health"},
		Security:    httpkit.Public,
		Errors:      []int{http.StatusUnprocessableEntity},
	}, func(context.Context, *struct{}) (*liveOutput, error) {
		out := &liveOutput{}
		out.Body.Status = "ok"
		out.Body.Version = h.version
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "health-ready",
		Method:      http.MethodGet,
		Path:        "/health/ready",
		Summary:     "Readiness: every required dependency answers",
		Description: "Checks each configured dependency with its own timeout; 503 when a required one is down, and from SIGTERM on (check lifecycle: shutting down) while the instance still serves for HTTP_SHUTDOWN_DELAY.",
		Tags:        []string{"health"},
		Security:    httpkit.Public,
		Errors:      []int{http.StatusUnprocessableEntity},
		Responses: map[string]*huma.Response{
			"503": {Description: "A required dependency is down, or the instance is shutting down"},
		},
	}, func(ctx context.Context, _ *struct{}) (*readyOutput, error) {
		st := h.Ready(ctx)
		code := http.StatusOK
		if st.Status != "ok" {
			code = http.StatusServiceUnavailable
		}
		return &readyOutput{Status: code, Body: st}, nil
	})
}

// Ready runs every check concurrently and never waits past the deadline,
// even when a check ignores its context.
func (h *Handler) Ready(ctx context.Context) Readiness {
	ctx, cancel := context.WithTimeout(ctx, h.deadline)
	defer cancel()
	results := make([]CheckResult, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.run(ctx, c)
		}()
	}
	wg.Wait()
	st := Readiness{Status: "ok", Checks: make(map[string]CheckResult, len(h.checks))}
	for i, c := range h.checks {
		st.Checks[c.Name] = results[i]
		if c.Required && results[i].Status != "up" {
			st.Status = "unavailable"
		}
	}
	return st
}

func (h *Handler) run(ctx context.Context, c Check) CheckResult {
	start := time.Now()
	res := CheckResult{Required: c.Required}
	if c.Report != nil {
		r := c.Report()
		res.Status, res.Error, res.Since = r.Status, r.Reason, r.Since
		res.LatencyMS = ms(time.Since(start))
		return res
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Probe(cctx) }()
	var err error
	select {
	case err = <-done:
	case <-cctx.Done():
		err = cctx.Err()
	}
	res.LatencyMS = ms(time.Since(start))
	if err != nil {
		res.Status = "down"
		res.Error = "unavailable"
		if cctx.Err() != nil {
			res.Error = "timed out after " + timeout.String()
		}
		h.log.Warn("readiness check failed", zap.String("check", c.Name), zap.Error(err))
		return res
	}
	res.Status = "up"
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
