// Package diagnostics serves a project's info endpoint.
package diagnostics

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	appdiagnostics "github.com/scoped-api/foundation/application/diagnostics"
	ports "github.com/scoped-api/foundation/ports/diagnostics"
)

// Path is the info route, under the project it describes.
const Path = "/api/v1/projects/{project_id}/info"

// Handler adapts the info request to the diagnostics use case.
type Handler struct{ svc *appdiagnostics.Service }

var _ httpkit.Routes = (*Handler)(nil)

// NewHandler serves svc.
func NewHandler(svc *appdiagnostics.Service) *Handler { return &Handler{svc: svc} }

// Info is a project's diagnostics as clients see them.
type Info struct {
	ProjectID      string         `json:"project_id" format:"uuid"`
	GeneratedAt    time.Time      `json:"generated_at"`
	SlowStatements SlowStatements `json:"slow_statements"`
	Operations     Operations     `json:"operations" doc:"The project's operations by status"`
	Streams        Streams        `json:"streams" doc:"The project's live event streams on this instance"`
}

// SlowStatements lists the statements that ran longer than the threshold
// for the project, on behalf of the caller, in the window.
type SlowStatements struct {
	WindowSeconds float64         `json:"window_seconds" doc:"How far back the records go"`
	ThresholdMS   float64         `json:"threshold_ms" doc:"DB_SLOW_QUERY_THRESHOLD"`
	Count         int             `json:"count"`
	Items         []SlowStatement `json:"items" nullable:"false" doc:"Newest first"`
}

// SlowStatement is one slow statement; its text never holds parameter values.
type SlowStatement struct {
	At            time.Time `json:"at"`
	DurationMS    float64   `json:"duration_ms"`
	Operation     string    `json:"operation" example:"select"`
	Statement     string    `json:"statement" example:"SELECT * FROM \"projects\" WHERE owner = $1 AND id = $2 LIMIT ?"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	TraceID       string    `json:"trace_id,omitempty"`
}

// Operations counts the project's operations by status.
type Operations struct {
	ByStatus map[string]int64 `json:"by_status"`
}

// Streams describes the project's live event streams.
type Streams struct {
	Connected   int    `json:"connected"`
	LastEventID string `json:"last_event_id,omitempty"`
}

type (
	infoInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
	}
	infoOutput struct {
		Body Info
	}
)

// Register adds the info route.
func (h *Handler) Register(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "get-project-info",
		Method:      http.MethodGet,
		Path:        Path,
		Summary:     "A project's diagnostics",
		Description: "Slow statements recorded for the project in the last hour (on this instance), its operations by status and its event streams.",
		Tags:        []string{"projects"},
		Security:    httpkit.Protected,
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound},
	}, h.info)
}

func (h *Handler) info(ctx context.Context, _ *infoInput) (*infoOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	info, err := h.svc.ProjectInfo(ctx, access)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return &infoOutput{Body: toResponse(info)}, nil
}

func toResponse(in ports.ProjectInfo) Info {
	out := Info{
		ProjectID:   in.ProjectID.String(),
		GeneratedAt: in.GeneratedAt,
		SlowStatements: SlowStatements{
			WindowSeconds: in.SlowStatementWindow.Seconds(),
			ThresholdMS:   ms(in.SlowStatementThreshold),
			Count:         len(in.SlowStatements),
			Items:         make([]SlowStatement, len(in.SlowStatements)),
		},
	}
	for i, s := range in.SlowStatements {
		out.SlowStatements.Items[i] = SlowStatement{
			At: s.At, DurationMS: ms(s.Duration), Operation: s.Operation, Statement: s.Statement,
			CorrelationID: s.CorrelationID, TraceID: s.TraceID,
		}
	}
	out.Operations = Operations{ByStatus: in.Operations.ByStatus}
	out.Streams = Streams{Connected: in.Operations.ConnectedStreams, LastEventID: in.Operations.LastEventID}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
