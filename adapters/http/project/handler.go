// Package project serves the project context over HTTP under /api/v1/projects.
package project

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	appproject "github.com/scoped-api/foundation/application/project"
	"github.com/scoped-api/foundation/domain/project"
)

// BasePath is the collection's path.
const BasePath = "/api/v1/projects"

// Handler adapts HTTP requests to the project use cases.
type Handler struct {
	svc  *appproject.Service
	keys *appproject.Keys
}

var _ httpkit.Routes = (*Handler)(nil)

// NewHandler serves svc and keys.
func NewHandler(svc *appproject.Service, keys *appproject.Keys) *Handler {
	return &Handler{svc: svc, keys: keys}
}

// Project is a project as clients see it.
type Project struct {
	ID          string    `json:"id" format:"uuid" doc:"The project's id"`
	Owner       string    `json:"owner" doc:"The owner's subject; ownership changes hands with POST …/transfer"`
	Name        string    `json:"name" doc:"Unique among the owner's live projects"`
	Description string    `json:"description" doc:"Free text"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toResponse(p *project.Project) Project {
	return Project{
		ID:          p.ID().String(),
		Owner:       p.Owner().String(),
		Name:        p.Name(),
		Description: p.Description(),
		CreatedAt:   p.CreatedAt(),
		UpdatedAt:   p.UpdatedAt(),
	}
}

// Request and response shapes. Only shape is checked here; the domain
// owns the rules (name length, uniqueness...).
type (
	createInput struct {
		Body CreateProjectRequest
	}
	projectOutput struct {
		// Status is 200, or 304 (no body) for a GET whose If-None-Match matches.
		Status int
		ETag   string `header:"ETag" doc:"The project's strong entity tag; send it in If-Match to change exactly this version"`
		Body   Project
	}
	createOutput struct {
		Location string `header:"Location" doc:"The new project's URL"`
		ETag     string `header:"ETag" doc:"The project's strong entity tag"`
		Body     Project
	}
	getInput struct {
		ProjectID   string `path:"project_id" format:"uuid" doc:"The project's id"`
		IfNoneMatch string `header:"If-None-Match" doc:"ETags of copies the client holds (or *): a match answers 304 without a body"`
	}
	deleteInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		IfMatch   string `header:"If-Match" doc:"Delete only if the project's ETag is one of these (or * for any); otherwise 412"`
	}
	updateInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		IfMatch   string `header:"If-Match" doc:"Change only if the project's ETag is one of these (or * for any); otherwise 412"`
		Body      UpdateProjectRequest
	}
	listInput struct {
		Limit  int    `query:"limit" default:"20" minimum:"1" maximum:"100" doc:"Page size, 1 to 100"`
		Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
		Role   string `query:"role" enum:"owner,admin,member,viewer" doc:"Only the projects where the caller has this role"`
	}
	listOutput struct {
		Body ProjectPage
	}
)

// CreateProjectRequest is the body that creates a project.
type CreateProjectRequest struct {
	Name        string `json:"name" minLength:"1" maxLength:"200" doc:"Trimmed; 1 to 200 characters, at least one of them visible"`
	Description string `json:"description,omitempty" maxLength:"2000" doc:"Up to 2000 characters"`
}

// UpdateProjectRequest changes a project; an absent or null field is left as it is.
type UpdateProjectRequest struct {
	Name        *string `json:"name,omitempty" minLength:"1" maxLength:"200" nullable:"true" doc:"New name; trimmed, 1 to 200 characters; null or absent leaves it unchanged"`
	Description *string `json:"description,omitempty" maxLength:"2000" nullable:"true" doc:"New description; up to 2000 characters; null or absent leaves it unchanged"`
}

// ListedProject is a project in the caller's list, with the caller's role in it.
type ListedProject struct {
	Project
	Role string `json:"role" enum:"owner,admin,member,viewer" doc:"The caller's role in the project"`
}

// ProjectPage is one page of the caller's projects.
type ProjectPage struct {
	Items      []ListedProject `json:"items" nullable:"false"`
	NextCursor string          `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
}

// Register adds the project routes.
func (h *Handler) Register(api huma.API) {
	tags := []string{"projects"}
	httpkit.DeclareTag(api, "projects", "Projects: the scope every other resource lives in; a caller sees only those they are a member of")
	huma.Register(api, huma.Operation{
		OperationID:   "create-project",
		Method:        http.MethodPost,
		Path:          BasePath,
		Summary:       "Create a project",
		Description:   "The caller becomes its owner. The name is trimmed and must be unique among the caller's live projects (409 project.name_taken otherwise). Send an Idempotency-Key to make a retry safe.",
		Tags:          tags,
		Security:      httpkit.Protected,
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, h.create)
	huma.Register(api, huma.Operation{
		OperationID: "list-projects",
		Method:      http.MethodGet,
		Path:        BasePath,
		Summary:     "List the projects the caller is a member of, newest first",
		Description: "Each item carries the caller's role in it; role= keeps one role's. Keyset-paginated: pass next_cursor from one page as cursor to get the next; the last page has no next_cursor.",
		Tags:        tags,
		Security:    httpkit.Protected,
		Errors:      []int{http.StatusUnauthorized},
	}, h.list)
	huma.Register(api, httpkit.ConditionalRead(huma.Operation{
		OperationID: "get-project",
		Method:      http.MethodGet,
		Path:        BasePath + "/{project_id}",
		Summary:     "Get a project",
		Description: "A project the caller may not see answers 404, exactly as one that does not exist. The ETag names its version (for If-Match and If-None-Match).",
		Tags:        tags,
		Security:    httpkit.Protected,
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound},
	}), h.get)
	huma.Register(api, httpkit.ConditionalWrite(huma.Operation{
		OperationID: "update-project",
		Method:      http.MethodPatch,
		Path:        BasePath + "/{project_id}",
		Summary:     "Change a project's name and/or description",
		Description: "With If-Match, the change applies only to the version that ETag names (412 otherwise, nothing changed).",
		Tags:        tags,
		Security:    httpkit.Protected,
		Errors:      []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}), h.update)
	huma.Register(api, httpkit.ConditionalWrite(huma.Operation{
		OperationID:   "delete-project",
		Method:        http.MethodDelete,
		Path:          BasePath + "/{project_id}",
		Summary:       "Delete a project",
		Description:   "The project disappears from reads and lists; its record is kept. With If-Match, only the version that ETag names is deleted (412 otherwise).",
		Tags:          tags,
		Security:      httpkit.Protected,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusUnauthorized, http.StatusNotFound},
	}), h.delete)
	h.registerMembers(api)
	h.registerKeys(api)
}

func (h *Handler) create(ctx context.Context, in *createInput) (*createOutput, error) {
	owner, err := httpkit.Caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := h.svc.CreateProject(ctx, owner, appproject.CreateProject{Name: in.Body.Name, Description: in.Body.Description})
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return &createOutput{Location: BasePath + "/" + p.ID().String(), ETag: httpkit.ETag(p.Version()), Body: toResponse(p)}, nil
}

func (h *Handler) list(ctx context.Context, in *listInput) (*listOutput, error) {
	owner, err := httpkit.Caller(ctx)
	if err != nil {
		return nil, err
	}
	q := appproject.ListProjects{Limit: in.Limit, Role: project.Role(in.Role)}
	if in.Cursor != "" {
		if q.Cursor, err = httpkit.ParseCursor(ctx, in.Cursor); err != nil {
			return nil, err
		}
	}
	page, err := h.svc.ListProjects(ctx, owner, q)
	if err != nil {
		return nil, httpkit.FromError(ctx, err).WithLocation("body.", "query.")
	}
	out := &listOutput{}
	out.Body.Items = make([]ListedProject, len(page.Items))
	for i, m := range page.Items {
		out.Body.Items[i] = ListedProject{Project: toResponse(m.Project), Role: string(m.Role)}
	}
	if page.Next != nil {
		out.Body.NextCursor = httpkit.EncodeCursor(*page.Next)
	}
	return out, nil
}

func (h *Handler) get(ctx context.Context, in *getInput) (*projectOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	p, err := h.svc.GetProject(ctx, access)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	etag := httpkit.ETag(p.Version())
	if httpkit.NoneMatch(in.IfNoneMatch, etag) {
		return &projectOutput{Status: http.StatusNotModified, ETag: etag}, nil
	}
	return &projectOutput{Status: http.StatusOK, ETag: etag, Body: toResponse(p)}, nil
}

func (h *Handler) update(ctx context.Context, in *updateInput) (*projectOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	p, err := h.svc.UpdateProject(ctx, access, appproject.UpdateProject{
		Name: in.Body.Name, Description: in.Body.Description, Expected: httpkit.IfMatch(in.IfMatch),
	})
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return &projectOutput{Status: http.StatusOK, ETag: httpkit.ETag(p.Version()), Body: toResponse(p)}, nil
}

func (h *Handler) delete(ctx context.Context, in *deleteInput) (*struct{}, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteProject(ctx, access, appproject.DeleteProject{Expected: httpkit.IfMatch(in.IfMatch)}); err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return nil, nil
}
