package observability

import (
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scoped-api/foundation/adapters/observability/scope"
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
type projectSampler struct {
	base   sdktrace.Sampler
	always map[kernel.ProjectID]struct{}
	never  map[string]struct{}
}

// NewProjectSampler wraps base; neverRoutes are route templates.
func NewProjectSampler(base sdktrace.Sampler, alwaysProjects []kernel.ProjectID, neverRoutes []string) sdktrace.Sampler {
	s := projectSampler{base: base, always: map[kernel.ProjectID]struct{}{}, never: map[string]struct{}{}}
	for _, p := range alwaysProjects {
		s.always[p] = struct{}{}
	}
	for _, r := range neverRoutes {
		s.never[r] = struct{}{}
	}
	return s
}

func (s projectSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if sc := scope.From(p.ParentContext); sc != nil {
		if _, ok := s.never[sc.Route]; ok {
			return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
		}
		if !sc.Project.IsZero() {
			if _, ok := s.always[sc.Project]; ok {
				return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
			}
		}
	}
	return s.base.ShouldSample(p)
}

func (s projectSampler) Description() string {
	return fmt.Sprintf("ProjectSampler{always:%d projects,never:%d routes,base:%s}", len(s.always), len(s.never), s.base.Description())
}
