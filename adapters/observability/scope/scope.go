// Package scope carries what telemetry needs to know about the unit of work
// a context belongs to — its correlation id, route, project and caller — so
// that logs, spans and slow-statement records can be attributed without the
// database or tracing code knowing about HTTP.
package scope

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Scope describes one unit of work (an HTTP request, a job). It is shared by
// pointer: later steps (authentication) fill in what earlier ones could not
// know. Fields are written by the goroutine that serves the work, before any
// goroutine it starts reads them.
type Scope struct {
	CorrelationID string
	// Route is the route template ("/api/v1/projects/{project_id}"), empty outside HTTP.
	Route string
	// Project is the project the work runs for, zero outside a project scope.
	Project kernel.ProjectID
	// Subject is the authenticated caller, zero before authentication.
	Subject kernel.Subject
}

type key struct{}

// With attaches s to ctx.
func With(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, key{}, s)
}

// From returns the scope attached to ctx, or nil.
func From(ctx context.Context) *Scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(key{}).(*Scope)
	return s
}

// Project returns the project ctx runs for, if any.
func Project(ctx context.Context) (kernel.ProjectID, bool) {
	if s := From(ctx); s != nil && !s.Project.IsZero() {
		return s.Project, true
	}
	return kernel.ProjectID{}, false
}

// Span attribute keys under which telemetry records a scope.
const (
	AttrCorrelationID = attribute.Key("correlation_id")
	AttrSubject       = attribute.Key("subject")
	AttrProjectID     = attribute.Key("project.id")
)

// Annotate sets the scope of ctx on span: its correlation id, caller and
// project, as far as they are known.
func Annotate(ctx context.Context, span trace.Span) {
	s := From(ctx)
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
