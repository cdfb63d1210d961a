package bootstrap

import (
	"go.uber.org/fx"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	httpproject "github.com/scoped-api/foundation/adapters/http/project"
	pgproject "github.com/scoped-api/foundation/adapters/postgres/project"
	appproject "github.com/scoped-api/foundation/application/project"
	portsproject "github.com/scoped-api/foundation/ports/project"
)

// ProjectModule is the project bounded context: its repository stays
// private; it offers its use cases, its routes and its migrations.
var ProjectModule = fx.Module("project",
	fx.Provide(
		fx.Private,
		fx.Annotate(pgproject.NewRepository, fx.As(new(portsproject.Repository))),
	),
	fx.Provide(
		fx.Annotate(appproject.NewService, fx.As(new(portsproject.Service))),
		fx.Annotate(httpproject.NewHandler, fx.As(new(httpkit.Routes)), fx.ResultTags(`group:"routes"`)),
		fx.Annotate(pgproject.Migrations, fx.ResultTags(`group:"migrations"`)),
	),
)
