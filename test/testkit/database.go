package testkit

import (
	"context"
	"testing"

	"github.com/scoped-api/foundation/adapters/postgres"
)

// OpenMigrated opens the database at dbURL and applies the given
// migration sets (the production ones), closing it when the test ends.
func OpenMigrated(t testing.TB, dbURL string, sets ...postgres.MigrationSet) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(postgres.Config{URL: dbURL, MaxOpenConns: 10})
	if err != nil {
		t.Fatalf("open %s: %v", redact(dbURL), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("ping %s: %v", redact(dbURL), err)
	}
	m, err := postgres.NewMigrator(db, sets)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
