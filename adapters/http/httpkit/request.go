// Package httpkit is the HTTP adapter's shared plumbing: the request's
// record, RFC 9457 problems and the one mapping from domain error kinds to
// status codes, the keyset cursor's wire form, and the API document.
package httpkit

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/domain/kernel"
)

// ProjectParam is the path parameter that puts a route in a project's scope.
const ProjectParam = "project_id"

// Request is the one record of a request's identity. Each field is written
// by one middleware and read through the accessors below: the correlation
// id, path, route template and project id when the record is made (the
// first middleware); the caller and its token's expiry by authentication;
// the project access by the project gate's middleware.
type Request struct {
	correlationID string
	// correlationHeader is the response header's value, held here so that
	// echoing it allocates nothing more.
	correlationHeader [1]string
	method            string
	path              string
	route             string
	// project is the {project_id} path parameter, parsed once; projectErr
	// is why it did not parse.
	project    kernel.ProjectID
	projectErr error

	// tls and header say whether the client reached the API over TLS,
	// read only when a cookie must say Secure.
	tls    bool
	header http.Header

	subject        kernel.Subject
	tokenExpiresAt time.Time
	access         kernel.ProjectAccess

	base       *zap.Logger
	loggerOnce sync.Once
	logger     *zap.Logger
}

type requestKey struct{}

// NewRequest starts the record of a request. rawProject is its
// {project_id} path parameter ("" on routes without one).
func NewRequest(base *zap.Logger, correlationID, method, path, route, rawProject string) *Request {
	r := &Request{correlationID: correlationID, correlationHeader: [1]string{correlationID}, method: method, path: path, route: route, base: base}
	if rawProject != "" {
		r.project, r.projectErr = kernel.ParseProjectID(rawProject)
	}
	return r
}

// Over records how the request arrived: over TLS, and its headers.
func (r *Request) Over(tls bool, header http.Header) { r.tls, r.header = tls, header }

// Secure reports whether the client reached the API over TLS, directly or
// through a proxy that terminated it (X-Forwarded-Proto: https). A client
// that claims it falsely only gets cookies its browser will not send
// over plain HTTP.
func (r *Request) Secure() bool {
	return r.tls || strings.EqualFold(r.header.Get("X-Forwarded-Proto"), "https")
}

// WithRequest attaches r to ctx.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestOf returns the request's record, or nil outside a request.
func RequestOf(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// Authenticated records the caller; only authentication calls it.
func (r *Request) Authenticated(subject kernel.Subject, tokenExpiresAt time.Time) {
	r.subject, r.tokenExpiresAt = subject, tokenExpiresAt
}

// Granted records the access the project gate granted; only the gate's
// middleware calls it.
func (r *Request) Granted(access kernel.ProjectAccess) { r.access = access }

// CorrelationID is the request's correlation id.
func (r *Request) CorrelationID() string {
	if r == nil {
		return ""
	}
	return r.correlationID
}

// CorrelationHeader is the correlation id as a header value; the caller
// must not change it.
func (r *Request) CorrelationHeader() []string { return r.correlationHeader[:1:1] }

// Method is the request's method.
func (r *Request) Method() string {
	if r == nil {
		return ""
	}
	return r.method
}

// Path is the request's path, as problems report it.
func (r *Request) Path() string {
	if r == nil {
		return ""
	}
	return r.path
}

// Route is the request's route template, "" for an unknown route.
func (r *Request) Route() string {
	if r == nil {
		return ""
	}
	return r.route
}

// ProjectID is the project the request's path names, zero when it names
// none or not a valid one. It is not an access: the gate grants that.
func (r *Request) ProjectID() kernel.ProjectID {
	if r == nil {
		return kernel.ProjectID{}
	}
	return r.project
}

// Subject is the authenticated caller, zero before authentication.
func (r *Request) Subject() kernel.Subject {
	if r == nil {
		return kernel.Subject{}
	}
	return r.subject
}

// TokenExpiresAt is when the caller's token expires, zero when unknown.
func (r *Request) TokenExpiresAt() time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.tokenExpiresAt
}

// Caller returns the authenticated caller. Routes that declare bearer
// security only run after authentication, so a missing caller is a wiring
// error and is reported as 401 rather than served.
func Caller(ctx context.Context) (kernel.Subject, error) {
	s := RequestOf(ctx).Subject()
	if s.IsZero() {
		return kernel.Subject{}, FromError(ctx, kernel.Unauthorized("auth.required", "authentication required"))
	}
	return s, nil
}

// Access returns the access the project gate granted for the request's
// project, as a problem a handler can return as it is when there is none:
// a project id that is not a UUID names path.project_id, a missing caller
// is 401.
func Access(ctx context.Context) (kernel.ProjectAccess, error) {
	r := RequestOf(ctx)
	switch {
	case r == nil:
	case !r.access.IsZero():
		return r.access, nil
	case r.projectErr != nil:
		return kernel.ProjectAccess{}, FromError(ctx, r.projectErr).WithLocation("body.", "path.")
	}
	if _, err := Caller(ctx); err != nil {
		return kernel.ProjectAccess{}, err
	}
	return kernel.ProjectAccess{}, FromError(ctx, errNotGranted)
}

// errNotGranted is a wiring error: a project route ran without the gate's
// middleware. It is not a domain kind, so it surfaces as a 500.
var errNotGranted = errors.New("httpkit: a project route ran without the project gate's middleware")

// Logger returns the request's logger, with its correlation id and (once
// tracing has started) its trace id; a no-op logger outside a request.
// It is built the first time a request logs anything but its access line,
// and encodes its fields only when it writes: a stream keeps its logger
// for hours and most never log.
func Logger(ctx context.Context) *zap.Logger {
	r := RequestOf(ctx)
	if r == nil || r.base == nil {
		return zap.NewNop()
	}
	r.loggerOnce.Do(func() {
		fields := []zap.Field{zap.String("correlation_id", r.correlationID)}
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			fields = append(fields, zap.String("trace_id", sc.TraceID().String()))
		}
		r.logger = r.base.WithLazy(fields...)
	})
	return r.logger
}
