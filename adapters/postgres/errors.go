package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Failure turns an unexpected storage error into one the HTTP adapter can
// classify: a database that cannot be reached becomes kernel.Unavailable
// (503); anything else stays an internal error (500) with its cause.
// Cancellation by the caller is passed through unchanged.
func Failure(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if unreachable(err) {
		return kernel.Unavailable("storage.unavailable", "the database is unavailable", fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

func unreachable(err error) bool {
	var netErr net.Error
	var connErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.As(err, &netErr),
		errors.As(err, &connErr),
		pgconn.Timeout(err):
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01..57P03: the server is shutting down or starting.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	// SQLite reports a writer it waited for too long as "database is locked".
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "sql: database is closed")
}
