// Package idempotency stores idempotency keys and the answers of the
// writes they stand for, in those writes' own transactions.
package idempotency

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/shared"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the idempotency keys' schema migrations.
func Migrations() postgres.MigrationSet {
	pg, _ := fs.Sub(migrations, "migrations/postgres")
	lite, _ := fs.Sub(migrations, "migrations/sqlite")
	return postgres.MigrationSet{Context: "idempotency", Postgres: pg, SQLite: lite}
}

// lockSpace is the first half of the two-part advisory lock keys taken on
// idempotency keys; two-part keys never collide with the one-part keys
// the event relay takes.
const lockSpace = 0x1de4

// Store implements shared.IdempotencyStore on PostgreSQL or SQLite.
type Store struct {
	db        *gorm.DB
	postgres  bool
	retention time.Duration
	clock     shared.Clock

	// running holds the keys whose first request runs in this process:
	// a retry arriving meanwhile is answered at once, without waiting for
	// a database lock. Across instances (PostgreSQL) an advisory lock
	// held by the write's transaction does the same.
	running sync.Map
}

var _ shared.IdempotencyStore = (*Store)(nil)

// NewStore keeps answers for retention.
func NewStore(db *postgres.DB, clock shared.Clock, retention time.Duration) *Store {
	return &Store{db: db.Gorm, postgres: db.Dialect == postgres.DialectPostgres, retention: retention, clock: clock}
}

type record struct {
	Fingerprint []byte
	Status      int
	Header      string
	Body        []byte
}

var errDiscard = errors.New("the write is not kept")

// Run implements shared.IdempotencyStore.
func (s *Store) Run(ctx context.Context, req shared.IdempotentRequest, write func(ctx context.Context) (shared.Answer, bool)) (shared.Answer, bool, error) {
	subject := req.Subject.String()
	name := subject + "\n" + req.Key
	if _, busy := s.running.LoadOrStore(name, struct{}{}); busy {
		return shared.Answer{}, false, kernel.ErrIdempotencyInProgress
	}
	defer s.running.Delete(name)

	var answer shared.Answer
	replayed := false
	err := postgres.UnitOfWork(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if s.postgres {
			var held bool
			if err := tx.Raw(`SELECT pg_try_advisory_xact_lock(?, hashtext(?))`, lockSpace, name).Row().Scan(&held); err != nil {
				return postgres.Failure("lock idempotency key", err)
			}
			if !held {
				return kernel.ErrIdempotencyInProgress
			}
		}
		now := s.clock.Now()
		var rec record
		err := tx.Raw(`SELECT fingerprint, status, header, body FROM idempotency_keys WHERE subject = ? AND key = ? AND created_at >= ?`,
			subject, req.Key, now.Add(-s.retention)).Row().Scan(&rec.Fingerprint, &rec.Status, &rec.Header, &rec.Body)
		switch {
		case err == nil:
			if !bytes.Equal(rec.Fingerprint, req.Fingerprint[:]) {
				return kernel.ErrIdempotencyKeyReused
			}
			answer, replayed = shared.Answer{Status: rec.Status, Body: rec.Body}, true
			if err := json.Unmarshal([]byte(rec.Header), &answer.Header); err != nil {
				return postgres.Failure("read idempotency record", err)
			}
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return postgres.Failure("read idempotency key", err)
		}
		var keep bool
		answer, keep = write(ctx)
		if !keep {
			return errDiscard
		}
		header, err := json.Marshal(answer.Header)
		if err != nil {
			return err
		}
		body := answer.Body
		if body == nil {
			body = []byte{} // a 204's: stored empty, not NULL
		}
		// A key older than the retention that pruning has not reached yet
		// is replaced, not kept.
		return postgres.Failure("store idempotency key", tx.Exec(`INSERT INTO idempotency_keys (subject, key, fingerprint, status, header, body, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subject, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
header = excluded.header, body = excluded.body, created_at = excluded.created_at`,
			subject, req.Key, req.Fingerprint[:], answer.Status, string(header), body, now).Error)
	})
	if errors.Is(err, errDiscard) {
		return answer, false, nil
	}
	if err != nil {
		// A COMMIT that timed out is a 503 (the write may have landed: the
		// retry will tell), not an internal error.
		return shared.Answer{}, false, postgres.Failure("commit idempotent write", err)
	}
	return answer, replayed, nil
}

// Prune implements shared.IdempotencyStore.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	res := postgres.Conn(ctx, s.db).Exec(`DELETE FROM idempotency_keys WHERE created_at < ?`, cutoff)
	return res.RowsAffected, postgres.Failure("prune idempotency keys", res.Error)
}
