package middleware

import (
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/ports/shared"
)

// ProjectAccess is a huma middleware, after authentication, and the one
// writer of the request's access: on an operation whose path names a
// {project_id}, it asks the gate whether the caller may act in that
// project and records the access it grants, or answers the gate's refusal
// (404 for a project the caller cannot see, exactly as for one that does
// not exist). A project id that does not parse is left to the request's
// validation, which names the field.
func ProjectAccess(api huma.API, gate shared.ProjectGate) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		op := ctx.Operation()
		r := httpkit.RequestOf(ctx.Context())
		if op == nil || !strings.Contains(op.Path, "{"+httpkit.ProjectParam+"}") || r.ProjectID().IsZero() || r.Subject().IsZero() {
			next(ctx)
			return
		}
		access, err := gate.Access(ctx.Context(), r.Subject(), r.ProjectID())
		if err != nil {
			httpkit.WriteError(api, ctx, err)
			return
		}
		r.Granted(access)
		next(ctx)
	}
}

// DeclareProjectAccess adds to every operation in a project's scope the
// 403 that ProjectAccess's grant leads to when the caller's role (or key)
// does not allow the operation. Call it once the routes are registered.
func DeclareProjectAccess(api huma.API) {
	for path, item := range api.OpenAPI().Paths {
		if !strings.Contains(path, "{"+httpkit.ProjectParam+"}") {
			continue
		}
		for _, op := range []*huma.Operation{item.Get, item.Head, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil || op.Responses == nil {
				continue
			}
			if _, ok := op.Responses["403"]; ok {
				continue
			}
			for code, r := range op.Responses {
				if len(code) == 3 && code[0] == '4' && r.Content != nil {
					op.Responses["403"] = &huma.Response{
						Description: "Forbidden: the caller is a member (or holds a key) of the project, but their role or the key's permissions do not allow this (code project.forbidden)",
						Content:     r.Content,
					}
					break
				}
			}
		}
	}
}
