package httpkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// ProblemType is one problem type: its URI reference, the status it goes
// with, and what a client should know and do about it. The documentation
// pages at each type's URI are rendered from ProblemTypes.
type ProblemType struct {
	Slug    string
	Status  int
	Meaning string
	Action  string
}

// URI is the type's stable URI reference, the problem's "type".
func (pt ProblemType) URI() string { return ProblemsPath + "/" + pt.Slug }

// ProblemsPath is where the problem types are explained.
const ProblemsPath = "/problems"

// ProblemTypes are every problem type the API answers with, by status.
var ProblemTypes = []ProblemType{
	{"bad-request", http.StatusBadRequest,
		"The request could not be read: the body is not valid JSON (the error names the byte offset where it broke), a query parameter is unknown or malformed (a cursor, a limit, a Last-Event-ID), or a header is malformed (two Authorization headers: auth.header_repeated; an Idempotency-Key that is not 1–255 printable ASCII characters: idempotency.key_invalid).",
		"Fix the request as detail and errors describe. Sent again unchanged it fails the same way."},
	{"unauthorized", http.StatusUnauthorized,
		"No valid credentials: the Authorization header is missing (auth.token_missing), or the bearer token is expired (auth.token_expired), not yet valid, wrongly signed, or for another issuer or audience (auth.token_invalid); or a stream ticket is unknown, spent or expired (stream.ticket_invalid), or a stream pass cookie is unknown, expired or for another stream (stream.pass_invalid; the answer deletes the cookie). WWW-Authenticate says which.",
		"Get a new token, or a new stream ticket and pass with POST …/events/tickets, and send the request again."},
	{"forbidden", http.StatusForbidden,
		"The caller is a member of the project, or holds a key of it, but their role or the key's permissions do not allow this (project.forbidden); or an admin tried to manage an admin or the owner, or anyone to change the owner's membership other than by a transfer (project.forbidden).",
		"Ask an owner or admin of the project for the role needed, or use a key with the permission. Retrying does not help."},
	{"not-found", http.StatusNotFound,
		"No such route, or no such resource for this caller. A project the caller may not see answers exactly as one that does not exist (project.not_found), so a 404 never reveals that someone else's project exists.",
		"Check the path and ids, and that the token's subject is the project's owner."},
	{"method-not-allowed", http.StatusMethodNotAllowed,
		"The route exists, but not with this method. The Allow header lists the methods it takes.",
		"Use one of the methods in Allow."},
	{"not-acceptable", http.StatusNotAcceptable,
		"The Accept header asks for a media type this route does not produce: JSON and application/problem+json everywhere, text/event-stream on stream routes.",
		"Accept application/json (or text/event-stream on a stream route)."},
	{"conflict", http.StatusConflict,
		"The request conflicts with the current state: the project name is taken by another live project (project.name_taken), the operation is finished or the change is not a legal transition (operation.finished, operation.illegal_transition), or an Idempotency-Key was used before with a different request (idempotency.key_reused) or its first request is still running (idempotency.in_progress).",
		"Read the current state and decide. For idempotency.in_progress, retry after Retry-After with the same key; for idempotency.key_reused, use a new key for a new request."},
	{"precondition-failed", http.StatusPreconditionFailed,
		"If-Match names a version that is no longer current: the resource changed since it was read.",
		"GET it again, apply the change to what it is now, and send the new ETag in If-Match."},
	{"precondition-required", http.StatusPreconditionRequired,
		"This deployment requires If-Match on updates and deletes (HTTP_REQUIRE_IF_MATCH), so that no write overwrites a change it has not seen.",
		"GET the resource and send its ETag in If-Match."},
	{"payload-too-large", http.StatusRequestEntityTooLarge,
		"The request body is larger than the limit that detail states (HTTP_MAX_BODY_BYTES on the server).",
		"Send a smaller body; the limits of each field are in the OpenAPI document."},
	{"unsupported-media-type", http.StatusUnsupportedMediaType,
		"The body is not declared as JSON: Content-Type must be application/json or another +json type.",
		"Send the body as JSON with Content-Type: application/json."},
	{"validation", http.StatusUnprocessableEntity,
		"The body is JSON but breaks a rule: a field is missing, of the wrong type, unknown (or cased differently), too long, or out of range. errors lists each one with its location (for example body.name) and message; code names a domain rule when one was broken.",
		"Correct the fields errors names. Nothing was changed."},
	{"too-many-requests", http.StatusTooManyRequests,
		"A rate limit was reached (rate_limit.exceeded; the RateLimit and RateLimit-Policy headers show the budget), or the caller has as many streams open as one instance allows (stream.too_many).",
		"Wait the seconds in Retry-After, then try again; close streams you no longer read."},
	{"unavailable", http.StatusServiceUnavailable,
		"A dependency (the database or Redis) is down or did not answer in time, or the instance is shutting down. A write that answers 503 may still have been applied if the answer was lost after its commit.",
		"Retry after Retry-After seconds. Send writes with an Idempotency-Key and retry with the same key: a write that did commit answers with its first response instead of running twice."},
	{"internal", http.StatusInternalServerError,
		"An error the server did not expect. The response reveals nothing more; correlation_id finds the details in the server's log.",
		"Report it with the correlation_id. A write that failed this way changed nothing."},
}

var problemTypeByStatus = func() map[int]string {
	m := make(map[int]string, len(ProblemTypes))
	for _, pt := range ProblemTypes {
		m[pt.Status] = pt.URI()
	}
	return m
}()

// problemType names each status's problem type; types are stable URI references.
func problemType(status int) string {
	if t, ok := problemTypeByStatus[status]; ok {
		return t
	}
	if status >= 500 {
		return ProblemsPath + "/internal"
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
	case kernel.KindForbidden:
		return http.StatusForbidden
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
			return TooLarge(ctx, tooBig.Limit)
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
			if status == http.StatusBadRequest && det.Location == "body" {
				// Only a body that does not parse is a 400 at "body"; what
				// parses but breaks the schema is a 422.
				p.Detail = "the request body is not valid JSON"
			}
			continue
		}
		p.Errors = append(p.Errors, FieldProblem{Message: e.Error()})
	}
	if status == http.StatusRequestEntityTooLarge {
		p.Detail = "request body is too large"
	}
	return p
}

// TooLarge is the 413 for a body over limit bytes; it states the limit.
func TooLarge(ctx context.Context, limit int64) *Problem {
	return NewProblem(ctx, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("the request body is larger than the limit of %d bytes", limit))
}
