// Package httpkit is the HTTP adapter's shared plumbing: the request's
// identity and correlation, RFC 9457 problems and the one mapping from
// domain error kinds to status codes, and the API document.
package httpkit

import (
	"context"

	"go.uber.org/zap"

	"github.com/scoped-api/foundation/domain/kernel"
)

// RequestInfo is what the middleware learns about a request, shared by
// pointer so that later middleware (auth) can fill in what earlier
// middleware (the access log) reports.
type RequestInfo struct {
	CorrelationID string
	Path          string
	Subject       kernel.Subject
	Logger        *zap.Logger
}

type infoKey struct{}

// WithRequestInfo attaches info to ctx.
func WithRequestInfo(ctx context.Context, info *RequestInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// Info returns the request's info, or an empty one outside a request.
func Info(ctx context.Context) *RequestInfo {
	if info, ok := ctx.Value(infoKey{}).(*RequestInfo); ok {
		return info
	}
	return &RequestInfo{}
}

// Logger returns the request's logger (with its correlation id), or a no-op one.
func Logger(ctx context.Context) *zap.Logger {
	if l := Info(ctx).Logger; l != nil {
		return l
	}
	return zap.NewNop()
}

// Subject returns the authenticated caller. Routes that declare bearer
// security only run after authentication, so a missing subject is a wiring
// error and is reported as 401 rather than served.
func Subject(ctx context.Context) (kernel.Subject, error) {
	s := Info(ctx).Subject
	if s.IsZero() {
		return kernel.Subject{}, kernel.Unauthorized("auth.required", "authentication required")
	}
	return s, nil
}

// ProjectScope is the authenticated caller and the project id of a
// project route, both as problems a handler can return as they are: a
// missing caller is 401, an id that is not a UUID names path.project_id.
func ProjectScope(ctx context.Context, rawProjectID string) (kernel.Subject, kernel.ProjectID, error) {
	subject, err := Subject(ctx)
	if err != nil {
		return kernel.Subject{}, kernel.ProjectID{}, FromError(ctx, err)
	}
	id, err := kernel.ParseProjectID(rawProjectID)
	if err != nil {
		return kernel.Subject{}, kernel.ProjectID{}, FromError(ctx, err).WithLocation("body.", "path.")
	}
	return subject, id, nil
}
