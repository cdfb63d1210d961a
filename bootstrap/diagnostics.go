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
// operation and stream figures come from the port the operation context
// provides (portsdiagnostics.Operations).
var DiagnosticsModule = fx.Module("diagnostics",
	fx.Provide(
		fx.Private,
		newDiagnostics,
	),
	fx.Provide(
		fx.Annotate(httpdiagnostics.NewHandler, fx.As(new(httpkit.Routes)), fx.ResultTags(`group:"routes"`)),
	),
)

func newDiagnostics(cfg Config, clock shared.Clock, slow *observability.SlowStatements, operations portsdiagnostics.Operations) *appdiagnostics.Service {
	return appdiagnostics.NewService(clock, slow, operations, appdiagnostics.Settings{
		SlowStatementWindow:    observability.SlowStatementWindow,
		SlowStatementThreshold: cfg.OTel.SlowQueryThreshold,
	})
}
