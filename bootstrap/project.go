package bootstrap

import (
	"go.uber.org/fx"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/adapters/http/middleware"
	httpproject "github.com/scoped-api/foundation/adapters/http/project"
	pgproject "github.com/scoped-api/foundation/adapters/postgres/project"
	appproject "github.com/scoped-api/foundation/application/project"
	portsproject "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// ProjectModule is the project bounded context: its repository and use
// cases stay private; it contributes its routes and migrations and offers
// the gate, the one place that decides whether a caller may act in a
// project and grants the access every project-scoped use case takes.
var ProjectModule = fx.Module("project",
	fx.Provide(
		fx.Private,
		fx.Annotate(pgproject.NewRepository, fx.As(new(portsproject.Repository))),
		newProjectGate,
		appproject.NewService,
		newProjectKeys,
	),
	fx.Provide(
		fx.Annotate(httpproject.NewHandler, fx.As(new(httpkit.Routes)), fx.ResultTags(`group:"routes"`)),
		fx.Annotate(pgproject.Migrations, fx.ResultTags(`group:"migrations"`)),
		fx.Annotate(func(g *appproject.Gate) *appproject.Gate { return g }, fx.As(new(shared.ProjectGate))),
		fx.Annotate(func(k *appproject.Keys) *appproject.Keys { return k }, fx.As(new(middleware.KeyAuthenticator))),
	),
)

// gateCacheEntries bounds the gate's cache (a few MiB at most).
const gateCacheEntries = 100_000

func newProjectGate(cfg Config, repo portsproject.Repository, clock shared.Clock) *appproject.Gate {
	return appproject.NewGate(repo, clock, appproject.GateSettings{CacheTTL: cfg.Projects.GateCacheTTL, CacheEntries: gateCacheEntries})
}

func newProjectKeys(cfg Config, repo portsproject.Repository, gate *appproject.Gate, clock shared.Clock, ids shared.IDGenerator) *appproject.Keys {
	return appproject.NewKeys(repo, gate, clock, ids, appproject.KeySettings{Secret: []byte(cfg.Projects.KeySecret), CacheTTL: cfg.Projects.GateCacheTTL})
}
