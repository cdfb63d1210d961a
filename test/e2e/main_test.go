// Package e2e starts the real application (the fx graph of cmd/api) on a
// random port against real services and speaks HTTP to it.
package e2e

import (
	"testing"

	"github.com/scoped-api/foundation/test/testkit"
)

// startPostgresApp starts the app on a fresh PostgreSQL database.
func startPostgresApp(t *testing.T, extraEnv ...string) (*testkit.App, string) {
	t.Helper()
	dbURL := testkit.NewPostgresDatabase(t)
	env := testkit.BaseEnv(dbURL)
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}
	return testkit.StartApp(t, env), dbURL
}
