// Package operation serves the operation context over HTTP under
// /api/v1/projects/{project_id}: the operations, their progress reports,
// stream tickets and the Server-Sent Event streams.
package operation

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	appoperation "github.com/scoped-api/foundation/application/operation"
	"github.com/scoped-api/foundation/application/operation/streaming"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// ProjectPath is the project all these routes live under.
const ProjectPath = "/api/v1/projects/{project_id}"

// BasePath is the operations collection.
const BasePath = ProjectPath + "/operations"

// StreamSettings shape every stream.
type StreamSettings struct {
	Keepalive    time.Duration
	MaxDuration  time.Duration
	Retry        time.Duration
	WriteTimeout time.Duration
	// DrainWindow is what Shutdown spreads the streams' ends over, so that
	// their clients do not all reconnect to the other instances at once.
	DrainWindow time.Duration
}

// Handler adapts HTTP requests to the operation and stream use cases.
type Handler struct {
	svc      *appoperation.Service
	streams  *streaming.Streams
	settings StreamSettings
	frames   *frames
	// pumps counts the streams being written, so that shutdown can wait for
	// them: their connections are hijacked, and the server no longer tracks them.
	pumps sync.WaitGroup
	// draining is closed when Shutdown begins, at drainStart.
	draining   chan struct{}
	drainOnce  sync.Once
	drainStart time.Time
}

var _ httpkit.Routes = (*Handler)(nil)

// NewHandler serves svc and streams.
func NewHandler(svc *appoperation.Service, streams *streaming.Streams, s StreamSettings) *Handler {
	return &Handler{svc: svc, streams: streams, settings: s, frames: newFrames(), draining: make(chan struct{})}
}

// Operation is an operation as clients see it.
type Operation struct {
	ID        string          `json:"id" format:"uuid"`
	ProjectID string          `json:"project_id" format:"uuid"`
	Kind      string          `json:"kind" doc:"What the operation does, such as import or agent.run"`
	Status    string          `json:"status" enum:"pending,running,succeeded,failed,cancelled"`
	Percent   int             `json:"percent" minimum:"0" maximum:"100"`
	Message   string          `json:"message"`
	Result    json.RawMessage `json:"result,omitempty" doc:"What a succeeded operation produced (any JSON)"`
	Error     string          `json:"error,omitempty" doc:"Why a failed operation failed"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func toResponse(s operation.State) Operation {
	return Operation{
		ID: s.ID.String(), ProjectID: s.Project.String(), Kind: s.Kind, Status: string(s.Status), Percent: s.Percent,
		Message: s.Message, Result: json.RawMessage(s.Result), Error: s.Error, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

type (
	projectInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
	}
	operationInput struct {
		ProjectID   string `path:"project_id" format:"uuid" doc:"The project's id"`
		OperationID string `path:"operation_id" format:"uuid" doc:"The operation's id"`
	}
	createOperationInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Body      CreateOperationRequest
	}
	getOperationInput struct {
		ProjectID   string `path:"project_id" format:"uuid" doc:"The project's id"`
		OperationID string `path:"operation_id" format:"uuid" doc:"The operation's id"`
		IfNoneMatch string `header:"If-None-Match" doc:"ETags of copies the client holds (or *): a match answers 304 without a body"`
	}
	cancelInput struct {
		ProjectID   string `path:"project_id" format:"uuid" doc:"The project's id"`
		OperationID string `path:"operation_id" format:"uuid" doc:"The operation's id"`
		IfMatch     string `header:"If-Match" doc:"Cancel only if the operation's ETag is one of these (or * for any); otherwise 412"`
	}
	operationOutput struct {
		// Status is 200, or 304 (no body) for a GET whose If-None-Match matches.
		Status int
		ETag   string `header:"ETag" doc:"The operation's strong entity tag; send it in If-Match to act on exactly this version"`
		Body   Operation
	}
	createOperationOutput struct {
		Location string `header:"Location"`
		ETag     string `header:"ETag" doc:"The operation's strong entity tag"`
		Body     Operation
	}
	listOperationsInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Status    string `query:"status" enum:"pending,running,succeeded,failed,cancelled" doc:"Only operations in this status"`
		Limit     int    `query:"limit" default:"20" minimum:"1" maximum:"100" doc:"Page size, 1 to 100"`
		Cursor    string `query:"cursor" doc:"next_cursor of the previous page"`
	}
	listOperationsOutput struct {
		Body OperationPage
	}
	progressInput struct {
		ProjectID   string `path:"project_id" format:"uuid" doc:"The project's id"`
		OperationID string `path:"operation_id" format:"uuid" doc:"The operation's id"`
		IfMatch     string `header:"If-Match" doc:"Apply only if the operation's ETag is one of these (or * for any); otherwise 412"`
		Body        ProgressReport
	}
	ticketOutput struct {
		SetCookie http.Cookie `header:"Set-Cookie" doc:"The stream pass: stream_pass=<code>; Path=<the stream's path>; Max-Age; HttpOnly; SameSite=Strict; Secure over TLS. EventSource presents it on every reconnect."`
		Body      StreamTicket
	}
)

// CreateOperationRequest is the body that starts an operation.
type CreateOperationRequest struct {
	Kind    string `json:"kind" minLength:"1" maxLength:"64" pattern:"^[a-z][a-z0-9_.-]*$" doc:"A short lower-case name: a letter, then a-z, 0-9, '_', '.', '-'; at most 64 characters"`
	Message string `json:"message,omitempty" maxLength:"2000" doc:"Up to 2000 characters"`
}

// OperationPage is one page of a project's operations.
type OperationPage struct {
	Items      []Operation `json:"items" nullable:"false"`
	NextCursor string      `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
}

// ProgressReport is what a worker reports about its operation.
type ProgressReport struct {
	Percent int     `json:"percent" minimum:"0" maximum:"100" doc:"0 to 100; never lower than the last report"`
	Message *string `json:"message,omitempty" maxLength:"2000" doc:"What is happening now; unchanged when absent"`
	Status  string  `json:"status,omitempty" enum:"running,succeeded,failed,cancelled" doc:"The new status; a pending operation starts running on its first report"`
	Result  any     `json:"result,omitempty" doc:"What a succeeded operation produced (any JSON, up to 64 KiB)"`
	Error   string  `json:"error,omitempty" maxLength:"4000" doc:"Why a failed operation failed; up to 4000 characters"`
}

// StreamTicket opens one event stream: once with the ticket in the
// query, or as often as needed with the pass cookie set alongside it.
type StreamTicket struct {
	Ticket        string    `json:"ticket" doc:"Pass as the ticket query parameter of the stream URL; single use"`
	ExpiresAt     time.Time `json:"expires_at" doc:"When the ticket expires"`
	URL           string    `json:"url" doc:"The stream URL with the ticket, for clients that reconnect with a new ticket each time"`
	StreamURL     string    `json:"stream_url" doc:"The stream URL without a ticket: open it with new EventSource(url, {withCredentials: true}) and the stream_pass cookie this response sets authorises it and every reconnect"`
	PassExpiresAt time.Time `json:"pass_expires_at" doc:"When the pass expires unless a stream it opens renews it (each does, up to SSE_PASS_TTL, never beyond the token)"`
}

// Register adds the operation routes.
func (h *Handler) Register(api huma.API) {
	tags := []string{"operations"}
	httpkit.DeclareTag(api, "operations", "Long-running operations of a project: their progress reports and live event streams")
	reg := func(op huma.Operation) huma.Operation {
		op.Tags = tags
		if op.Security == nil {
			op.Security = httpkit.Protected
		}
		return op
	}
	huma.Register(api, reg(huma.Operation{
		OperationID: "create-operation", Method: http.MethodPost, Path: BasePath, Summary: "Start an operation",
		Description:   "The operation starts pending; a worker reports its progress. Send an Idempotency-Key to make a retry safe.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}), h.create)
	huma.Register(api, reg(huma.Operation{
		OperationID: "list-operations", Method: http.MethodGet, Path: BasePath, Summary: "List a project's operations, newest first",
		Description: "Keyset-paginated like the project list; status filters to one status.",
		Errors:      []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound},
	}), h.list)
	huma.Register(api, reg(httpkit.ConditionalRead(huma.Operation{
		OperationID: "get-operation", Method: http.MethodGet, Path: BasePath + "/{operation_id}", Summary: "Get an operation",
		Description: "The operation's current state; its ETag names its version.",
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound},
	})), h.get)
	huma.Register(api, reg(httpkit.ConditionalWrite(huma.Operation{
		OperationID: "report-operation-progress", Method: http.MethodPost, Path: BasePath + "/{operation_id}/progress",
		Summary: "Report progress (the endpoint a worker calls)",
		Description: "The report and its event are stored together before the answer; an illegal transition or a lower percent is a 409. " +
			"With If-Match, the report applies only to the version that ETag names (412 otherwise, nothing changed).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge},
	})), h.progress)
	huma.Register(api, reg(httpkit.ConditionalWrite(huma.Operation{
		OperationID: "cancel-operation", Method: http.MethodPost, Path: BasePath + "/{operation_id}/cancel", Summary: "Cancel an operation",
		Description: "With If-Match, only the version that ETag names is cancelled (412 otherwise).",
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict},
	})), h.cancel)
	huma.Register(api, reg(huma.Operation{
		OperationID: "create-operation-stream-ticket", Method: http.MethodPost, Path: BasePath + "/{operation_id}/events/tickets",
		Summary:       "Get a single-use ticket for the operation's event stream (for browsers' EventSource)",
		Description:   "EventSource cannot send Authorization: open the returned url instead. The ticket opens this one stream once, for the caller, and expires after SSE_TICKET_TTL or with the token, whichever is first.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusUnauthorized, http.StatusNotFound},
	}), h.operationTicket)
	huma.Register(api, reg(huma.Operation{
		OperationID: "create-project-stream-ticket", Method: http.MethodPost, Path: ProjectPath + "/events/tickets",
		Summary:       "Get a single-use ticket for the project's event stream (for browsers' EventSource)",
		Description:   "EventSource cannot send Authorization: open the returned url instead. The ticket opens this one stream once, for the caller, and expires after SSE_TICKET_TTL or with the token, whichever is first.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusUnauthorized, http.StatusNotFound},
	}), h.projectTicket)
	h.registerStreams(api, reg)
}

func (h *Handler) create(ctx context.Context, in *createOperationInput) (*createOperationOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	op, err := h.svc.CreateOperation(ctx, access, appoperation.CreateOperation{Kind: in.Body.Kind, Message: in.Body.Message})
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return &createOperationOutput{Location: operationPath(access.Project(), op.ID()), ETag: httpkit.ETag(op.Version()), Body: toResponse(op.State())}, nil
}

func (h *Handler) list(ctx context.Context, in *listOperationsInput) (*listOperationsOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	q := appoperation.ListOperations{Limit: in.Limit}
	if in.Status != "" {
		st, err := operation.ParseStatus("status", in.Status)
		if err != nil {
			return nil, httpkit.FromError(ctx, err).WithLocation("body.", "query.")
		}
		q.Status = &st
	}
	if in.Cursor != "" {
		if q.Cursor, err = httpkit.ParseCursor(ctx, in.Cursor); err != nil {
			return nil, err
		}
	}
	page, err := h.svc.ListOperations(ctx, access, q)
	if err != nil {
		return nil, httpkit.FromError(ctx, err).WithLocation("body.", "query.")
	}
	out := &listOperationsOutput{}
	out.Body.Items = make([]Operation, len(page.Items))
	for i, op := range page.Items {
		out.Body.Items[i] = toResponse(op.State())
	}
	if page.Next != nil {
		out.Body.NextCursor = httpkit.EncodeCursor(*page.Next)
	}
	return out, nil
}

func (h *Handler) get(ctx context.Context, in *getOperationInput) (*operationOutput, error) {
	access, id, err := operationScope(ctx, in.OperationID)
	if err != nil {
		return nil, err
	}
	op, err := h.svc.GetOperation(ctx, access, id)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	etag := httpkit.ETag(op.Version())
	if httpkit.NoneMatch(in.IfNoneMatch, etag) {
		return &operationOutput{Status: http.StatusNotModified, ETag: etag}, nil
	}
	return &operationOutput{Status: http.StatusOK, ETag: etag, Body: toResponse(op.State())}, nil
}

// written is the answer to an accepted write: the new state and its tag.
func written(op *operation.Operation) *operationOutput {
	return &operationOutput{Status: http.StatusOK, ETag: httpkit.ETag(op.Version()), Body: toResponse(op.State())}
}

func (h *Handler) progress(ctx context.Context, in *progressInput) (*operationOutput, error) {
	access, id, err := operationScope(ctx, in.OperationID)
	if err != nil {
		return nil, err
	}
	report := operation.Report{Percent: in.Body.Percent, Message: in.Body.Message, Error: in.Body.Error}
	if in.Body.Status != "" {
		st, err := operation.ParseStatus("status", in.Body.Status)
		if err != nil {
			return nil, httpkit.FromError(ctx, err)
		}
		report.Status = &st
	}
	if in.Body.Result != nil {
		raw, err := json.Marshal(in.Body.Result)
		if err != nil {
			return nil, httpkit.FromError(ctx, kernel.Invalid("operation.result_invalid", "result is not JSON", kernel.FieldError{Field: "result", Message: "must be JSON"}))
		}
		report.Result = raw
	}
	op, err := h.svc.ReportProgress(ctx, access, id, appoperation.ReportProgress{Report: report, Expected: httpkit.IfMatch(in.IfMatch)})
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return written(op), nil
}

func (h *Handler) cancel(ctx context.Context, in *cancelInput) (*operationOutput, error) {
	access, id, err := operationScope(ctx, in.OperationID)
	if err != nil {
		return nil, err
	}
	op, err := h.svc.CancelOperation(ctx, access, id, appoperation.CancelOperation{Expected: httpkit.IfMatch(in.IfMatch)})
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return written(op), nil
}

func (h *Handler) operationTicket(ctx context.Context, in *operationInput) (*ticketOutput, error) {
	access, id, err := operationScope(ctx, in.OperationID)
	if err != nil {
		return nil, err
	}
	return h.ticket(ctx, access, &id)
}

func (h *Handler) projectTicket(ctx context.Context, _ *projectInput) (*ticketOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	return h.ticket(ctx, access, nil)
}

func (h *Handler) ticket(ctx context.Context, access kernel.ProjectAccess, op *operation.ID) (*ticketOutput, error) {
	rec := httpkit.RequestOf(ctx)
	issued, err := h.streams.Issue(ctx, access, op, rec.TokenExpiresAt())
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	path := streamPath(access.Project(), op)
	out := &ticketOutput{SetCookie: httpkit.PassCookie(issued.PassCode, path, issued.Pass.ExpiresAt, time.Now(), rec.Secure())}
	out.Body.Ticket = issued.TicketCode
	out.Body.ExpiresAt = issued.Ticket.ExpiresAt
	out.Body.URL = path + "?" + httpkit.TicketParam + "=" + issued.TicketCode
	out.Body.StreamURL = path
	out.Body.PassExpiresAt = issued.Pass.ExpiresAt
	return out, nil
}

// RedeemTicket redeems a stream ticket presented on path, which must be
// the stream it was issued for; any other is operation.ErrTicketInvalid
// (and the ticket is used up).
func (h *Handler) RedeemTicket(ctx context.Context, code, path string) (kernel.Subject, time.Time, error) {
	t, err := h.streams.RedeemTicket(ctx, code)
	if err != nil {
		return kernel.Subject{}, time.Time{}, err
	}
	if !strings.EqualFold(streamPath(t.Project, t.Operation), path) {
		return kernel.Subject{}, time.Time{}, operation.ErrTicketInvalid
	}
	return t.Subject, t.TokenExpiresAt, nil
}

// PresentPass checks and renews a stream pass presented on path, which
// must be the stream it was issued for. Cookie paths match by prefix, so
// a pass also reaches the paths below its stream's: there it is invalid.
func (h *Handler) PresentPass(ctx context.Context, code, path string) (kernel.Subject, time.Time, time.Time, error) {
	t, err := h.streams.PresentPass(ctx, code, func(p kernel.ProjectID, op *operation.ID) bool { return streamPath(p, op) == path })
	if err != nil {
		return kernel.Subject{}, time.Time{}, time.Time{}, err
	}
	return t.Subject, t.TokenExpiresAt, t.ExpiresAt, nil
}

func operationPath(project kernel.ProjectID, op operation.ID) string {
	return "/api/v1/projects/" + project.String() + "/operations/" + op.String()
}

func streamPath(project kernel.ProjectID, op *operation.ID) string {
	if op != nil {
		return operationPath(project, *op) + "/events"
	}
	return "/api/v1/projects/" + project.String() + "/events"
}

// operationScope is the request's access and its operation id.
func operationScope(ctx context.Context, rawOp string) (kernel.ProjectAccess, operation.ID, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return kernel.ProjectAccess{}, operation.ID{}, err
	}
	id, err := operation.ParseID(rawOp)
	if err != nil {
		return kernel.ProjectAccess{}, operation.ID{}, httpkit.FromError(ctx, err).WithLocation("body.", "path.")
	}
	return access, id, nil
}
