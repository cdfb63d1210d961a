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

// Scope is what a unit of work (an HTTP request, say) is for, as telemetry
// attributes it: its correlation id, route template, project and caller,
// as far as they are known. It grants nothing.
type Scope struct {
	CorrelationID string
	// Route is the route template ("/api/v1/projects/{project_id}"), empty outside HTTP.
	Route   string
	Project kernel.ProjectID
	Subject kernel.Subject
}

// ScopeFunc reads the scope of the work ctx belongs to: the adapter that
// serves the work keeps it, and bootstrap hands its reader to telemetry.
type ScopeFunc func(ctx context.Context) Scope

func noScope(context.Context) Scope { return Scope{} }

// annotate sets the scope of ctx on span: its correlation id, caller and
// project, as far as they are known.
func annotate(s Scope, span trace.Span) {
	if !span.IsRecording() {
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
	if len(attrs) > 0 {
		span.SetAttributes(attrs...)
	}
}
