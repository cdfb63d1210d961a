package httpkit

import (
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// DeclareCommonProblems completes every operation's responses once all
// routes and their declarations are in: the answers any route under /api
// can give (503 with Retry-After when a dependency is down or slow; 413
// and 415 on routes that take a body), and on every problem response an
// example of that very problem instead of the schema's one example.
func DeclareCommonProblems(api huma.API) {
	for path, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete, item.Head} {
			if op == nil {
				continue
			}
			if strings.HasPrefix(path, "/api/") {
				declare(op, http.StatusServiceUnavailable, "Service Unavailable: the database or Redis is down or did not answer in time; a write may still have been applied, so retry it with the same Idempotency-Key",
					map[string]string{"Retry-After": "Seconds to wait before trying again"})
			}
			if op.RequestBody != nil {
				declare(op, http.StatusRequestEntityTooLarge, "Request Entity Too Large: the body is over the limit the detail states", nil)
				declare(op, http.StatusUnsupportedMediaType, "Unsupported Media Type: the body is not sent as application/json", nil)
			}
			for code, res := range op.Responses {
				status, err := strconv.Atoi(code)
				if err != nil || status < 400 || res.Content == nil {
					continue
				}
				mt := res.Content[ProblemContentType]
				if mt == nil {
					continue
				}
				// Responses, their content maps and media types may be shared
				// between operations and statuses: each gets its own copy.
				own, ownMT := *res, *mt
				own.Content = maps.Clone(res.Content)
				ownMT.Example = exampleProblem(path, status)
				own.Content[ProblemContentType] = &ownMT
				op.Responses[code] = &own
			}
		}
	}
}

// declare adds a problem response for status unless the operation has
// one, and the headers to it either way.
func declare(op *huma.Operation, status int, description string, headers map[string]string) {
	code := strconv.Itoa(status)
	res := &huma.Response{
		Description: description,
		Content: map[string]*huma.MediaType{
			ProblemContentType: {Schema: &huma.Schema{Ref: "#/components/schemas/Problem"}},
		},
	}
	if existing, ok := op.Responses[code]; ok {
		own := *existing // it may be shared with other operations
		own.Headers = maps.Clone(existing.Headers)
		res = &own
	}
	for name, doc := range headers {
		if res.Headers == nil {
			res.Headers = map[string]*huma.Param{}
		}
		if _, ok := res.Headers[name]; !ok {
			res.Headers[name] = &huma.Param{Description: doc, Schema: &huma.Schema{Type: "string"}}
		}
	}
	op.Responses[code] = res
}

// exampleProblem is what a problem of status looks like on path.
func exampleProblem(path string, status int) map[string]any {
	p := map[string]any{
		"type":           problemType(status),
		"title":          http.StatusText(status),
		"status":         status,
		"instance":       path,
		"correlation_id": "0f8e2a8e-6a3b-4bd6-9d43-3c3e7b1f6a52",
	}
	p["detail"] = exampleDetails[status]
	if p["detail"] == "" {
		p["detail"] = strings.ToLower(http.StatusText(status))
	}
	if status == http.StatusUnprocessableEntity {
		p["errors"] = []map[string]string{{"location": "body.name", "message": "must not be empty"}}
	}
	return p
}

var exampleDetails = map[int]string{
	http.StatusBadRequest:            "the request body is not valid JSON",
	http.StatusUnauthorized:          "the bearer token has expired",
	http.StatusForbidden:             "the caller may not do this",
	http.StatusNotFound:              "project not found",
	http.StatusConflict:              "the request conflicts with the current state",
	http.StatusPreconditionFailed:    "the resource changed since the version If-Match names",
	http.StatusPreconditionRequired:  "this route needs If-Match",
	http.StatusRequestEntityTooLarge: "the request body is larger than the limit of 1048576 bytes",
	http.StatusUnsupportedMediaType:  "the body must be sent as application/json",
	http.StatusUnprocessableEntity:   "validation failed",
	http.StatusTooManyRequests:       "too many requests: try again after Retry-After seconds",
	http.StatusServiceUnavailable:    "the database is unavailable",
	http.StatusInternalServerError:   "an internal error occurred",
}
