package observability

import (
	"fmt"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Standard OTEL_TRACES_SAMPLER values this service understands.
var standardSamplers = []string{
	"always_on", "always_off", "traceidratio",
	"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
}

// StandardSampler builds the sampler an OTEL_TRACES_SAMPLER name and ratio
// describe; ratio is only read by the ratio samplers.
func StandardSampler(name string, ratio float64) (sdktrace.Sampler, error) {
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("unknown sampler %q (want one of %v)", name, standardSamplers)
}

// IsRatioSampler reports whether the named sampler reads OTEL_TRACES_SAMPLER_ARG.
func IsRatioSampler(name string) bool {
	return name == "traceidratio" || name == "parentbased_traceidratio"
}

// projectSampler puts the project scope in front of the standard sampler:
// never-sampled routes (probes, /metrics) are dropped whatever the parent
// says, work for a listed project is always recorded, and everything else
// is left to base (by default parent-based, so an incoming traceparent's
// decision is kept).
//
// While the export pipeline is failing (shed reports true), recording is
// shed to a trickle — at most one new trace per second — so that requests
// do not pay for spans the collector cannot take (the batch queue would
// drop them anyway), while the trickle keeps probing for the recovery.
type projectSampler struct {
	base    sdktrace.Sampler
	scopeOf ScopeFunc
	always  map[kernel.ProjectID]struct{}
	never   map[string]struct{}
	shed    func() bool
	trickle *Trickle
}

// NewProjectSampler wraps base; scopeOf reads a span's route and project
// (nil reads none); neverRoutes are route templates; shed, when not nil,
// tells whether exports are failing, and trickle then admits the few new
// traces still recorded.
func NewProjectSampler(base sdktrace.Sampler, scopeOf ScopeFunc, alwaysProjects []kernel.ProjectID, neverRoutes []string, shed func() bool, trickle *Trickle) sdktrace.Sampler {
	if trickle == nil {
		trickle = NewTrickle(time.Second, time.Now)
	}
	if scopeOf == nil {
		scopeOf = noScope
	}
	s := projectSampler{base: base, scopeOf: scopeOf, always: map[kernel.ProjectID]struct{}{}, never: map[string]struct{}{},
		shed: shed, trickle: trickle}
	for _, p := range alwaysProjects {
		s.always[p] = struct{}{}
	}
	for _, r := range neverRoutes {
		s.never[r] = struct{}{}
	}
	return s
}

func (s projectSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	drop := sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: psc.TraceState()}
	sc := s.scopeOf(p.ParentContext)
	if sc.Route != "" {
		if _, ok := s.never[sc.Route]; ok {
			return drop
		}
	}
	if s.shed != nil && s.shed() {
		// A span inside a trace this process records follows it; a new
		// trace is recorded only as part of the trickle.
		if psc.IsValid() && !psc.IsRemote() {
			if psc.IsSampled() {
				return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: psc.TraceState()}
			}
			return drop
		}
		// An HTTP request was already admitted (or not) by the HTTP
		// adapter, which asks Telemetry.Admit before it starts a span.
		if sc.Route == "" && !s.trickle.Allow() {
			return drop
		}
	}
	if !sc.Project.IsZero() {
		if _, ok := s.always[sc.Project]; ok {
			return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: psc.TraceState()}
		}
	}
	return s.base.ShouldSample(p)
}

// Trickle lets one event through per period.
type Trickle struct {
	every time.Duration
	now   func() time.Time
	next  atomic.Int64
}

// NewTrickle lets one event through every period.
func NewTrickle(every time.Duration, now func() time.Time) *Trickle {
	return &Trickle{every: every, now: now}
}

// Allow reports whether this event is the period's one.
func (t *Trickle) Allow() bool {
	now := t.now().UnixNano()
	next := t.next.Load()
	return now >= next && t.next.CompareAndSwap(next, now+int64(t.every))
}

func (s projectSampler) Description() string {
	return fmt.Sprintf("ProjectSampler{always:%d projects,never:%d routes,base:%s}", len(s.always), len(s.never), s.base.Description())
}
