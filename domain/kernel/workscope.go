package kernel

import "context"

// WorkScope says what a unit of work (an HTTP request, a background job)
// is for: its correlation id, route, project and caller. Adapters read it
// to attribute logs, spans and slow statements without the database or
// tracing code knowing about HTTP. It is shared by pointer: later steps
// (authentication) fill in what earlier ones could not know; fields are
// written by the goroutine that serves the work, before any goroutine it
// starts reads them. It grants nothing: access is still checked by scope
// values passed explicitly.
type WorkScope struct {
	CorrelationID string
	// Route is the route template ("/api/v1/projects/{project_id}"), empty outside HTTP.
	Route string
	// Project is the project the work runs for, zero outside a project scope.
	Project ProjectID
	// Subject is the authenticated caller, zero before authentication.
	Subject Subject
}

type workScopeKey struct{}

// WithWorkScope attaches s to ctx.
func WithWorkScope(ctx context.Context, s *WorkScope) context.Context {
	return context.WithValue(ctx, workScopeKey{}, s)
}

// WorkScopeFrom returns the scope attached to ctx, or nil.
func WorkScopeFrom(ctx context.Context) *WorkScope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(workScopeKey{}).(*WorkScope)
	return s
}

// ProjectOf returns the project ctx's work runs for, if any.
func ProjectOf(ctx context.Context) (ProjectID, bool) {
	if s := WorkScopeFrom(ctx); s != nil && !s.Project.IsZero() {
		return s.Project, true
	}
	return ProjectID{}, false
}
