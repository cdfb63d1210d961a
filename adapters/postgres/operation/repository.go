// Package operation stores operations and their events with GORM on
// PostgreSQL or SQLite: the operations table, the outbox every write adds
// its events to, and the sequenced event log the relay moves them into.
package operation

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the operation context's schema migrations.
func Migrations() postgres.MigrationSet {
	pg, _ := fs.Sub(migrations, "migrations/postgres")
	lite, _ := fs.Sub(migrations, "migrations/sqlite")
	return postgres.MigrationSet{Context: "operation", Postgres: pg, SQLite: lite}
}

// Repository stores operations in the operations table and their events
// in the outbox.
type Repository struct {
	db        *gorm.DB
	forUpdate string
	// seen remembers the last row this instance read or wrote per
	// operation, with its version. The optimistic write starts from it
	// instead of reading: the write only applies at that version, so a
	// stale entry costs one failed statement and a read, never a lost update.
	seen *rowCache
}

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns a repository over db.
func NewRepository(db *postgres.DB) *Repository {
	r := &Repository{db: db.Gorm, seen: newRowCache(rowCacheEntries)}
	if db.Dialect == postgres.DialectPostgres {
		r.forUpdate = " FOR UPDATE" // SQLite has no row locks: its writers are serialised
	}
	return r
}

type row struct {
	ID        uuid.UUID `gorm:"column:id;primaryKey"`
	ProjectID uuid.UUID `gorm:"column:project_id"`
	Kind      string    `gorm:"column:kind"`
	Status    string    `gorm:"column:status"`
	Percent   int       `gorm:"column:percent"`
	Message   string    `gorm:"column:message"`
	Result    []byte    `gorm:"column:result"`
	Error     string    `gorm:"column:error"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
	Version   int64     `gorm:"column:version"`
}

func (row) TableName() string { return "operations" }

const columns = `id, project_id, kind, status, percent, message, result, error, created_at, updated_at, version`

func (rw *row) scan(s interface{ Scan(...any) error }) error {
	return s.Scan(&rw.ID, &rw.ProjectID, &rw.Kind, &rw.Status, &rw.Percent, &rw.Message, &rw.Result, &rw.Error, &rw.CreatedAt, &rw.UpdatedAt, &rw.Version)
}

func toRow(op *operation.Operation) row {
	return row{
		ID:        op.ID().UUID(),
		ProjectID: op.Project().UUID(),
		Kind:      op.Kind(),
		Status:    string(op.Status()),
		Percent:   op.Percent(),
		Message:   op.Message(),
		Result:    op.Result(),
		Error:     op.ErrorDetail(),
		CreatedAt: op.CreatedAt().UTC(),
		UpdatedAt: op.UpdatedAt().UTC(),
		Version:   int64(op.Version()),
	}
}

func toDomain(r row) *operation.Operation {
	return operation.Rehydrate(operation.IDFrom(r.ID), kernel.ProjectIDFrom(r.ProjectID), r.Kind, operation.Status(r.Status),
		r.Percent, r.Message, r.Result, r.Error, r.CreatedAt.UTC(), r.UpdatedAt.UTC(), kernel.Version(r.Version))
}

// jsonArg binds an optional JSON document as text, or NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// errProjectMismatch guards against a caller passing one project as the
// scope and an operation of another.
var errProjectMismatch = errors.New("operation repository: the operation's project differs from the scope")

// errChangedUnderLock means the locked row changed before the save: the
// lock did not hold, and the save is refused rather than lost.
var errChangedUnderLock = errors.New("operation repository: the locked row changed before the save")

// Add inserts op and the events it recorded (its created event) in one transaction.
func (r *Repository) Add(ctx context.Context, access kernel.ProjectAccess, op *operation.Operation) error {
	if op.Project() != access.Project() {
		return errProjectMismatch
	}
	events := op.PullEvents()
	rw := toRow(op)
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO operations (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rw.ID.String(), rw.ProjectID.String(), rw.Kind, rw.Status, rw.Percent, rw.Message, jsonArg(rw.Result), rw.Error,
			rw.CreatedAt, rw.UpdatedAt, rw.Version).Error
		if err != nil {
			return err
		}
		return insertOutbox(tx, events)
	})
	if err == nil {
		r.seen.remember(ctx, rw, rw.Version)
	}
	return postgres.Failure("add operation", err)
}

// Get loads one operation of the project.
func (r *Repository) Get(ctx context.Context, access kernel.ProjectAccess, id operation.ID) (*operation.Operation, error) {
	var rw row
	err := rw.scan(postgres.Conn(ctx, r.db).Raw(
		`SELECT `+columns+` FROM operations WHERE project_id = ? AND id = ?`, access.Project().String(), id.String()).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, operation.ErrNotFound
	}
	if err != nil {
		return nil, postgres.Failure("get operation", err)
	}
	return toDomain(rw), nil
}

// List returns one page of the project's operations, newest first.
func (r *Repository) List(ctx context.Context, access kernel.ProjectAccess, q ports.ListQuery) (ports.Page, error) {
	tx := postgres.Conn(ctx, r.db).Where("project_id = ?", access.Project().String())
	if q.Status != nil {
		tx = tx.Where("status = ?", string(*q.Status))
	}
	var rows []row
	err := postgres.NewestFirst(tx, q.After, q.Limit).Find(&rows).Error
	if err != nil {
		return ports.Page{}, postgres.Failure("list operations", err)
	}
	var page ports.Page
	rows, page.Next = postgres.PageOf(rows, q.Limit, func(r row) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
	page.Items = make([]*operation.Operation, len(rows))
	for i, rw := range rows {
		page.Items[i] = toDomain(rw)
	}
	return page, nil
}

// Update applies fn to one operation of the project and saves the change
// with its events atomically. On PostgreSQL it first tries an optimistic
// write — an unlocked read, then one statement that updates the row only
// at the version read and adds the events — which costs two round trips
// instead of five; when another writer got in between, it falls back to
// a locking transaction. fn may therefore run more than once, each time on
// a freshly loaded operation.
func (r *Repository) Update(ctx context.Context, access kernel.ProjectAccess, id operation.ID, fn func(op *operation.Operation) error) (*operation.Operation, error) {
	if r.forUpdate != "" {
		op, done, err := r.updateAtVersion(ctx, access, id, fn)
		if done || err != nil {
			return op, err
		}
	}
	return r.updateLocked(ctx, access, id, fn)
}

// updateAtVersion is the optimistic write; done is false when the row
// changed after it was read.
func (r *Repository) updateAtVersion(ctx context.Context, access kernel.ProjectAccess, id operation.ID, fn func(op *operation.Operation) error) (*operation.Operation, bool, error) {
	rw, version, cached := r.seen.get(id.UUID())
	if cached && rw.ProjectID != access.Project().UUID() {
		cached = false
	}
	for attempt := 0; attempt < 2; attempt++ {
		if !cached {
			err := rw.scan(postgres.Conn(ctx, r.db).Raw(`SELECT `+columns+` FROM operations WHERE project_id = ? AND id = ?`,
				access.Project().String(), id.String()).Row())
			version = rw.Version
			if errors.Is(err, sql.ErrNoRows) {
				return nil, true, operation.ErrNotFound
			}
			if err != nil {
				return nil, true, postgres.Failure("update operation", err)
			}
		}
		op, written, fnErr, err := r.writeAtVersion(ctx, access, id, rw, version, fn)
		if fnErr != nil && cached {
			// fn refused a remembered state that may be stale: ask again
			// with the stored one before answering.
			cached = false
			continue
		}
		if fnErr != nil {
			return nil, true, fnErr
		}
		if err != nil || written {
			return op, true, err
		}
		if !cached {
			return nil, false, nil // changed between our read and our write: lock instead
		}
		cached = false // the remembered row was stale: read it
	}
	return nil, false, nil
}

// writeAtVersion applies fn to rw and writes the change and its events in
// one statement that only applies at version; written is false when the
// row was at another version. fnErr is fn's refusal.
func (r *Repository) writeAtVersion(ctx context.Context, access kernel.ProjectAccess, id operation.ID, rw row, version int64, fn func(op *operation.Operation) error) (op *operation.Operation, written bool, fnErr, err error) {
	rw.Version = version
	op = toDomain(rw)
	if fnErr := fn(op); fnErr != nil {
		return nil, false, fnErr, nil
	}
	next := toRow(op)
	events := op.PullEvents()
	if len(events) == 0 {
		return nil, false, nil, nil // nothing to record: leave it to the locking path
	}
	// The casts type the VALUES list, which PostgreSQL cannot infer there.
	values, eventArgs, err := outboxValues(events, "(?::uuid, ?::uuid, ?::text, ?::timestamptz, ?::text)")
	if err != nil {
		return nil, false, nil, err
	}
	args := append([]any{next.Status, next.Percent, next.Message, jsonArg(next.Result), next.Error, next.UpdatedAt, next.Version,
		access.Project().String(), id.String(), version}, eventArgs...)
	statement := `WITH changed AS (UPDATE operations SET status = ?, percent = ?, message = ?, result = ?, error = ?, updated_at = ?, version = ?
WHERE project_id = ? AND id = ? AND version = ? RETURNING id)
INSERT INTO operation_outbox (project_id, operation_id, type, at, data) SELECT e.p, e.o, e.t, e.a, e.d FROM (VALUES ` + values + `) AS e(p, o, t, a, d) WHERE EXISTS (SELECT 1 FROM changed)`
	res := postgres.Conn(ctx, r.db).Exec(statement, args...)
	if res.Error != nil {
		r.seen.drop(id.UUID())
		return nil, false, nil, postgres.Failure("update operation", res.Error)
	}
	if res.RowsAffected == 0 {
		r.seen.drop(id.UUID())
		return nil, false, nil, nil
	}
	r.seen.remember(ctx, next, next.Version)
	return op, true, nil, nil
}

// updateLocked loads the operation under a row lock (SQLite serialises
// its writers), applies fn and saves it with its events: a locking SELECT,
// an UPDATE and one INSERT in one transaction.
func (r *Repository) updateLocked(ctx context.Context, access kernel.ProjectAccess, id operation.ID, fn func(op *operation.Operation) error) (*operation.Operation, error) {
	r.seen.drop(id.UUID())
	var out *operation.Operation
	var fnErr error
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		var rw row
		err := rw.scan(tx.Raw(`SELECT `+columns+` FROM operations WHERE project_id = ? AND id = ?`+r.forUpdate,
			access.Project().String(), id.String()).Row())
		if errors.Is(err, sql.ErrNoRows) {
			return operation.ErrNotFound
		}
		if err != nil {
			return err
		}
		op := toDomain(rw)
		if fnErr = fn(op); fnErr != nil {
			return fnErr
		}
		next := toRow(op)
		res := tx.Exec(`UPDATE operations SET status = ?, percent = ?, message = ?, result = ?, error = ?, updated_at = ?, version = ? WHERE project_id = ? AND id = ? AND version = ?`,
			next.Status, next.Percent, next.Message, jsonArg(next.Result), next.Error, next.UpdatedAt, next.Version,
			access.Project().String(), id.String(), rw.Version)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errChangedUnderLock
		}
		if err := insertOutbox(tx, op.PullEvents()); err != nil {
			return err
		}
		out = op
		return nil
	})
	switch {
	case err == nil:
		return out, nil
	case fnErr != nil:
		return nil, fnErr // fn's own error, domain or not, reaches the caller as it was
	case kernel.KindOf(err) != kernel.KindUnknown:
		return nil, err
	}
	return nil, postgres.Failure("update operation", err)
}

// CountByStatus counts the project's operations in each status present.
func (r *Repository) CountByStatus(ctx context.Context, access kernel.ProjectAccess) (map[operation.Status]int64, error) {
	rows, err := postgres.Conn(ctx, r.db).Raw(
		`SELECT status, COUNT(*) FROM operations WHERE project_id = ? GROUP BY status`, access.Project().String()).Rows()
	if err != nil {
		return nil, postgres.Failure("count operations", err)
	}
	defer func() { _ = rows.Close() }()
	counts := map[operation.Status]int64{}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, postgres.Failure("count operations", err)
		}
		counts[operation.Status(status)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, postgres.Failure("count operations", err)
	}
	return counts, nil
}
