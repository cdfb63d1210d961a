package bootstrap

import (
	"testing"

	"go.uber.org/fx"
)

// TestGraphIsComplete checks every module's wiring without starting anything.
func TestGraphIsComplete(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{"DATABASE_URL": "sqlite://" + t.TempDir() + "/x.db"})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.ValidateApp(
		fx.Supply(cfg),
		fx.NopLogger,
		PlatformModule,
		TelemetryModule,
		HTTPModule,
		contexts,
		fx.Invoke(func(*Server) {}),
	); err != nil {
		t.Fatal(err)
	}
}
