package bootstrap

import (
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/adapters/postgres"
	appoperation "github.com/scoped-api/foundation/application/operation"
	"github.com/scoped-api/foundation/application/operation/streaming"
	appproject "github.com/scoped-api/foundation/application/project"
	portsoperation "github.com/scoped-api/foundation/ports/operation"
	portsproject "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// graph is the application's graph, as App builds it, without starting it.
func graph(t *testing.T, extra ...fx.Option) []fx.Option {
	t.Helper()
	cfg, err := LoadConfig(map[string]string{"DATABASE_URL": "sqlite://" + t.TempDir() + "/x.db"})
	if err != nil {
		t.Fatal(err)
	}
	return append([]fx.Option{
		fx.Supply(cfg),
		fx.NopLogger,
		infrastructure,
		contexts,
		fx.Invoke(func(*Server) {}),
	}, extra...)
}

// TestGraphIsComplete checks every module's wiring without starting anything.
func TestGraphIsComplete(t *testing.T) {
	if err := fx.ValidateApp(graph(t)...); err != nil {
		t.Fatal(err)
	}
}

// TestContextInternalsArePrivate: another module cannot reach a context's
// repository or use cases; contexts meet only through ports/shared.
func TestContextInternalsArePrivate(t *testing.T) {
	private := map[string]fx.Option{
		"project repository":   fx.Invoke(func(portsproject.Repository) {}),
		"project use cases":    fx.Invoke(func(*appproject.Service) {}),
		"project gate":         fx.Invoke(func(*appproject.Gate) {}),
		"operation repository": fx.Invoke(func(portsoperation.Repository) {}),
		"operation use cases":  fx.Invoke(func(*appoperation.Service) {}),
		"operation streams":    fx.Invoke(func(*streaming.Streams) {}),
		"operation hub":        fx.Invoke(func(*streaming.Hub) {}),
	}
	for name, use := range private {
		err := fx.ValidateApp(graph(t, use)...)
		if err == nil || !strings.Contains(err.Error(), "missing type") {
			t.Errorf("the %s must be private to its module, but another module could take it (err = %v)", name, err)
		}
	}
	if err := fx.ValidateApp(graph(t, fx.Invoke(func(shared.ProjectGate) {}))...); err != nil {
		t.Errorf("the project gate must be offered to every context: %v", err)
	}
}

// TestContextsContributeRoutesAndMigrations: each context adds its routes
// and its migrations through the value groups, once.
func TestContextsContributeRoutesAndMigrations(t *testing.T) {
	type contributions struct {
		fx.In
		Routes     []httpkit.Routes        `group:"routes"`
		Migrations []postgres.MigrationSet `group:"migrations"`
	}
	var got contributions
	app := fx.New(graph(t, fx.Populate(&got))...)
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range got.Migrations {
		if seen[m.Context] {
			t.Errorf("context %q contributes its migrations twice", m.Context)
		}
		seen[m.Context] = true
		if m.Postgres == nil || m.SQLite == nil {
			t.Errorf("context %q lacks a PostgreSQL or an SQLite migration set", m.Context)
		}
	}
	for _, name := range []string{"project", "operation"} {
		if !seen[name] {
			t.Errorf("the %s context contributes no migrations; got %v", name, seen)
		}
	}
	if len(got.Routes) < len(got.Migrations) {
		t.Errorf("%d contexts contribute migrations but only %d contribute routes", len(got.Migrations), len(got.Routes))
	}
}
