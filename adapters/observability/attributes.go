package observability

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Span attribute keys under which telemetry records a unit of work's scope.
const (
	AttrCorrelationID = attribute.Key("correlation_id")
	AttrSubject       = attribute.Key("subject")
	AttrProjectID     = attribute.Key("project.id")
)

// annotate sets the work scope of ctx on span: its correlation id, caller
// and project, as far as they are known.
func annotate(ctx context.Context, span trace.Span) {
	s := kernel.WorkScopeFrom(ctx)
	if s == nil || !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	if s.CorrelationID != "" {
		attrs = append(attrs, AttrCorrelationID.String(s.CorrelationID))
	}
	if !s.Subject.IsZero() {
		attrs = append(attrs, AttrSubject.String(s.Subject.String()))
	}
	if !s.Project.IsZero() {
		attrs = append(attrs, AttrProjectID.String(s.Project.String()))
	}
	span.SetAttributes(attrs...)
}
