package bootstrap

import (
	"go.uber.org/fx"

	httpdiagnostics "github.com/scoped-api/foundation/adapters/http/diagnostics"
	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/adapters/observability"
	appdiagnostics "github.com/scoped-api/foundation/application/diagnostics"
	portsdiagnostics "github.com/scoped-api/foundation/ports/diagnostics"
	"github.com/scoped-api/foundation/ports/shared"
)

// DiagnosticsModule serves GET /api/v1/projects/{project_id}/info. Its
// operation and stream figures come from ports the operation context
// provides (portsdiagnostics.OperationCounts and Streams); until that
// context is deployed they are reported as unavailable.
var DiagnosticsModule = fx.Module("diagnostics",
	fx.Provide(
		fx.Private,
		fx.Annotate(newDiagnostics, fx.As(new(portsdiagnostics.Service))),
	),
	fx.Provide(
		fx.Annotate(httpdiagnostics.NewHandler, fx.As(new(httpkit.Routes)), fx.ResultTags(`group:"routes"`)),
	),
)

type diagnosticsIn struct {
	fx.In
	Config     Config
	Gate       shared.ProjectGate
	Clock      shared.Clock
	Slow       *observability.SlowStatements
	Operations portsdiagnostics.OperationCounts `optional:"true"`
	Streams    portsdiagnostics.Streams         `optional:"true"`
}

func newDiagnostics(in diagnosticsIn) *appdiagnostics.Service {
	return appdiagnostics.NewService(appdiagnostics.Sources{
		Gate:           in.Gate,
		Clock:          in.Clock,
		SlowStatements: in.Slow,
		Operations:     in.Operations,
		Streams:        in.Streams,
	}, appdiagnostics.Settings{
		SlowStatementWindow:    observability.SlowStatementWindow,
		SlowStatementThreshold: in.Config.OTel.SlowQueryThreshold,
	})
}
