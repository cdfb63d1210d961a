package bootstrap

import (
	"go.uber.org/fx"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	httpproject "github.com/scoped-api/foundation/adapters/http/project"
	"github.com/scoped-api/foundation/adapters/inproc"
	pgproject "github.com/scoped-api/foundation/adapters/postgres/project"
	appproject "github.com/scoped-api/foundation/application/project"
	portsproject "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// ProjectModule is the project bounded context: its repository and use
// cases stay private; it contributes its routes and migrations and offers
// the gate through which project-scoped contexts check visibility.
var ProjectModule = fx.Module("project",
	fx.Provide(
		fx.Private,
		fx.Annotate(pgproject.NewRepository, fx.As(new(portsproject.Repository))),
		newProjectService,
		newVisibilityCache,
	),
	fx.Provide(
		fx.Annotate(httpproject.NewHandler, fx.As(new(httpkit.Routes)), fx.ResultTags(`group:"routes"`)),
		fx.Annotate(pgproject.Migrations, fx.ResultTags(`group:"migrations"`)),
		fx.Annotate(inproc.NewCachedProjectGate, fx.As(new(shared.ProjectGate))),
	),
)

// newProjectService is the use cases, wrapped so that a deletion is
// forgotten by the gate's cache at once.
func newProjectService(repo portsproject.Repository, clock shared.Clock, ids shared.IDGenerator, cache *inproc.VisibilityCache) portsproject.Service {
	return inproc.NewForgetDeleted(appproject.NewService(repo, clock, ids), cache)
}

// gateCacheEntries bounds the gate's cache (a few MiB at most).
const gateCacheEntries = 100_000

func newVisibilityCache(cfg Config) *inproc.VisibilityCache {
	return inproc.NewVisibilityCache(cfg.Projects.GateCacheTTL, gateCacheEntries)
}
