// Package testkit gives tests real services of their own: a fresh
// PostgreSQL database, a Redis key prefix, tokens and a running app.
package testkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for admin statements
)

// DefaultPostgresURL is the server tests use unless TEST_DATABASE_URL says otherwise.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

const startPostgres = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start " +
	"(or point TEST_DATABASE_URL at a server where the user may CREATE DATABASE)"

// PostgresAdminURL is the URL of the server tests create their databases on.
func PostgresAdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// RandomName returns prefix followed by random hex, safe as an identifier.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// TB is the part of testing.TB the helpers need; a TestMain can pass its own.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// NewPostgresDatabase creates an empty database for this test and drops it
// when the test ends. It returns the database's URL. An unreachable server
// fails the test with instructions; it never skips.
func NewPostgresDatabase(t TB) string {
	t.Helper()
	admin := PostgresAdminURL()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL %q: %v", admin, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		t.Fatalf("PostgreSQL at %s is not reachable (%v); %s", redact(admin), err, startPostgres)
	}
	name := RandomName("t_")
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// NewSQLiteURL returns the URL of a fresh SQLite file in the test's temp dir.
func NewSQLiteURL(t interface{ TempDir() string }) string {
	return "sqlite://" + t.TempDir() + "/test.db"
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Exec runs one statement on the database at dbURL (PostgreSQL only), for
// tests that look at rows behind the API's back.
func Exec(t TB, dbURL, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", redact(dbURL), err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

// QueryRow runs a single-row query on the PostgreSQL database at dbURL and scans into dest.
func QueryRow(t TB, dbURL, query string, args []any, dest ...any) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", redact(dbURL), err)
	}
	defer func() { _ = db.Close() }()
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(dest...); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
}
