package httpkit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/domain/kernel"
)

// ProblemContentType is the media type of every error body (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details body, extended with the request's
// correlation id, a stable machine-readable code and per-field errors.
type Problem struct {
	Type          string         `json:"type" doc:"A URI reference naming the problem type; stable, for machines." example:"/problems/not-found"`
	Title         string         `json:"title" doc:"A short summary of the problem type." example:"Not Found"`
	Status        int            `json:"status" doc:"The HTTP status code." example:"404"`
	Detail        string         `json:"detail,omitempty" doc:"What went wrong in this occurrence." example:"project not found"`
	Instance      string         `json:"instance,omitempty" doc:"The request path this problem occurred on." example:"/api/v1/projects/0190a5d4-8a1c-7cc3-9d5e-2b2f0f8e3c11"`
	Code          string         `json:"code,omitempty" doc:"A stable, machine-readable error code." example:"project.not_found"`
	CorrelationID string         `json:"correlation_id,omitempty" doc:"The request's correlation id, as in the X-Correlation-ID header."`
	TraceID       string         `json:"trace_id,omitempty" doc:"The request's trace id when tracing is on."`
	Errors        []FieldProblem `json:"errors,omitempty" doc:"One entry per failing field."`

	headers http.Header
}

// FieldProblem names one failing input field.
type FieldProblem struct {
	Location string `json:"location" doc:"Where the failing value is, such as body.name or query.limit." example:"body.name"`
	Message  string `json:"message" doc:"What is wrong with it." example:"must not be empty"`
}

func (p *Problem) Error() string { return p.Detail }

// GetStatus lets huma write the problem with its status.
func (p *Problem) GetStatus() int { return p.Status }

// GetHeaders lets huma add headers such as WWW-Authenticate.
func (p *Problem) GetHeaders() http.Header { return p.headers }

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return ProblemContentType
	}
	return ct
}

// problemType names each status's problem type; types are stable URI references.
func problemType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "/problems/bad-request"
	case http.StatusUnauthorized:
		return "/problems/unauthorized"
	case http.StatusForbidden:
		return "/problems/forbidden"
	case http.StatusNotFound:
		return "/problems/not-found"
	case http.StatusMethodNotAllowed:
		return "/problems/method-not-allowed"
	case http.StatusNotAcceptable:
		return "/problems/not-acceptable"
	case http.StatusConflict:
		return "/problems/conflict"
	case http.StatusPreconditionFailed:
		return "/problems/precondition-failed"
	case http.StatusPreconditionRequired:
		return "/problems/precondition-required"
	case http.StatusRequestEntityTooLarge:
		return "/problems/payload-too-large"
	case http.StatusUnsupportedMediaType:
		return "/problems/unsupported-media-type"
	case http.StatusUnprocessableEntity:
		return "/problems/validation"
	case http.StatusTooManyRequests:
		return "/problems/too-many-requests"
	case http.StatusServiceUnavailable:
		return "/problems/unavailable"
	}
	if status >= 500 {
		return "/problems/internal"
	}
	return "about:blank"
}

// NewProblem builds a problem for status, stamped with the request's
// correlation id and path.
func NewProblem(ctx context.Context, status int, detail string) *Problem {
	p := &Problem{
		Type:   problemType(status),
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	}
	if ctx != nil {
		r := RequestOf(ctx)
		p.CorrelationID = r.CorrelationID()
		p.Instance = r.Path()
		if traceID != nil {
			p.TraceID = traceID(ctx)
		}
	}
	return p
}

// traceID is set by the telemetry adapter when tracing is on.
var traceID func(ctx context.Context) string

// SetTraceIDSource makes every problem carry the trace id fn returns.
func SetTraceIDSource(fn func(ctx context.Context) string) { traceID = fn }

// statusOf is the one mapping from domain error kinds to HTTP statuses.
func statusOf(k kernel.Kind) int {
	switch k {
	case kernel.KindInvalid:
		return http.StatusUnprocessableEntity
	case kernel.KindNotFound:
		return http.StatusNotFound
	case kernel.KindConflict:
		return http.StatusConflict
	case kernel.KindUnauthorized:
		return http.StatusUnauthorized
	case kernel.KindTooManyRequests:
		return http.StatusTooManyRequests
	case kernel.KindUnavailable:
		return http.StatusServiceUnavailable
	case kernel.KindPreconditionFailed:
		return http.StatusPreconditionFailed
	default:
		return http.StatusInternalServerError
	}
}

// FromError turns any error into the problem the client sees. Domain errors
// keep their message and fields; anything else is logged in full with the
// request's logger and answered with a generic 500 that reveals nothing.
func FromError(ctx context.Context, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var de *kernel.Error
	if errors.As(err, &de) && de.Kind != kernel.KindUnknown {
		status := statusOf(de.Kind)
		prob := NewProblem(ctx, status, de.Message)
		prob.Code = de.Code
		for _, f := range de.Fields {
			prob.Errors = append(prob.Errors, FieldProblem{Location: "body." + f.Field, Message: f.Message})
		}
		switch de.Kind {
		case kernel.KindUnauthorized:
			prob.headers = http.Header{}
			prob.headers.Set("WWW-Authenticate", challenge(de))
		case kernel.KindUnavailable:
			prob.headers = http.Header{}
			prob.headers.Set("Retry-After", "5")
			Logger(ctx).Warn("dependency unavailable", zap.Error(err))
		}
		return prob
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this answer.
		return NewProblem(ctx, 499, "request canceled")
	}
	Logger(ctx).Error("unhandled error", zap.Error(err))
	return NewProblem(ctx, http.StatusInternalServerError, "an internal error occurred")
}

// challenge is the WWW-Authenticate value of an unauthorized answer (RFC
// 6750 §3): a token that was presented and refused says so, with the
// class of failure; a missing one gets the bare challenge.
func challenge(de *kernel.Error) string {
	switch de.Code {
	case kernel.ErrTokenInvalid.Code, kernel.ErrTokenExpired.Code:
		return `Bearer realm="api", error="invalid_token", error_description="` + de.Message + `"`
	}
	return `Bearer realm="api"`
}

// WithLocation rewrites the location prefix of field errors, for domain
// fields that came from the query string or path rather than the body.
func (p *Problem) WithLocation(from, to string) *Problem {
	for i := range p.Errors {
		p.Errors[i].Location = strings.Replace(p.Errors[i].Location, from, to, 1)
	}
	return p
}

// WriteProblem writes p outside huma (router 404/405, panics, middleware).
func WriteProblem(w http.ResponseWriter, p *Problem) {
	for k, vs := range p.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteError answers err as its problem from a huma middleware, with the
// headers the problem carries (WWW-Authenticate, Retry-After).
func WriteError(api huma.API, ctx huma.Context, err error) {
	p := FromError(ctx.Context(), err)
	for k, vs := range p.headers {
		for _, v := range vs {
			ctx.AppendHeader(k, v)
		}
	}
	_ = huma.WriteErr(api, ctx, p.Status, p.Detail, p)
}

// newHumaError replaces huma's error constructor so that validation,
// parsing and handler errors all become the same Problem.
func newHumaError(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	var ctx context.Context
	if hctx != nil {
		ctx = hctx.Context()
	}
	for _, e := range errs {
		var tooBig *http.MaxBytesError
		if errors.As(e, &tooBig) {
			return NewProblem(ctx, http.StatusRequestEntityTooLarge, "request body is too large")
		}
	}
	if len(errs) == 1 && errs[0] != nil {
		var p *Problem
		if errors.As(errs[0], &p) || status >= 500 {
			return FromError(ctx, errs[0])
		}
	}
	p := NewProblem(ctx, status, msg)
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			det := d.ErrorDetail()
			p.Errors = append(p.Errors, FieldProblem{Location: det.Location, Message: det.Message})
			continue
		}
		p.Errors = append(p.Errors, FieldProblem{Message: e.Error()})
	}
	if status == http.StatusRequestEntityTooLarge {
		p.Detail = "request body is too large"
	}
	return p
}
