package operation

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// relayLockKey is the PostgreSQL advisory lock the relay holds ("opevrlay").
const relayLockKey int64 = 0x6f706576726c6179

// EventLog is the outbox the repository writes, the sequenced log the
// relay fills from it, and the relay's watermarks.
type EventLog struct {
	db      *gorm.DB
	dialect postgres.Dialect
	// sqliteLock is the relay lock on SQLite, which one instance serves:
	// a one-slot semaphore, so that waiting for it respects ctx.
	sqliteLock chan struct{}
}

var (
	_ ports.EventLog   = (*EventLog)(nil)
	_ ports.RelayStore = (*EventLog)(nil)
)

// NewEventLog returns the event log over db. On SQLite the relay lock is
// held by the value, so an instance builds one EventLog.
func NewEventLog(db *postgres.DB) *EventLog {
	return &EventLog{db: db.Gorm, dialect: db.Dialect, sqliteLock: make(chan struct{}, 1)}
}

// stateJSON is how an event's State is stored in the outbox and the log.
type stateJSON struct {
	ID        uuid.UUID       `json:"id"`
	ProjectID uuid.UUID       `json:"project_id"`
	Kind      string          `json:"kind"`
	Status    string          `json:"status"`
	Percent   int             `json:"percent"`
	Message   string          `json:"message"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func encodeState(s operation.State) ([]byte, error) {
	return json.Marshal(stateJSON{
		ID: s.ID.UUID(), ProjectID: s.Project.UUID(), Kind: s.Kind, Status: string(s.Status), Percent: s.Percent,
		Message: s.Message, Result: s.Result, Error: s.Error, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	})
}

func decodeState(data []byte) (operation.State, error) {
	var j stateJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return operation.State{}, err
	}
	var result []byte
	if len(j.Result) > 0 {
		result = []byte(j.Result)
	}
	return operation.State{
		ID: operation.IDFrom(j.ID), Project: kernel.ProjectIDFrom(j.ProjectID), Kind: j.Kind, Status: operation.Status(j.Status),
		Percent: j.Percent, Message: j.Message, Result: result, Error: j.Error,
		CreatedAt: j.CreatedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC(),
	}, nil
}

// insertOutbox adds events to the outbox in one statement, in the order
// the aggregate recorded them.
func insertOutbox(tx *gorm.DB, events []operation.Event) error {
	if len(events) == 0 {
		return nil
	}
	values, args, err := outboxValues(events, "(?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO operation_outbox (project_id, operation_id, type, at, data) VALUES `+values, args...).Error
}

// outboxValues renders events as a VALUES list of outbox rows (project,
// operation, type, at, data), each with the given placeholder tuple.
func outboxValues(events []operation.Event, tuple string) (string, []any, error) {
	var sb strings.Builder
	args := make([]any, 0, 5*len(events))
	for i, ev := range events {
		data, err := encodeState(ev.State)
		if err != nil {
			return "", nil, fmt.Errorf("encode %s event: %w", ev.Type, err)
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(tuple)
		args = append(args, ev.Project.String(), ev.Operation.String(), string(ev.Type), ev.At.UTC(), string(data))
	}
	return sb.String(), args, nil
}

const eventColumns = `seq, project_id, operation_id, type, at, data`

// readEvents runs a query selecting eventColumns and rebuilds its events.
func readEvents(tx *gorm.DB, what, query string, args ...any) ([]operation.Recorded, error) {
	rows, err := tx.Raw(query, args...).Rows()
	if err != nil {
		return nil, postgres.Failure(what, err)
	}
	defer func() { _ = rows.Close() }()
	var out []operation.Recorded
	for rows.Next() {
		var (
			rec         operation.Recorded
			project, op uuid.UUID
			typ         string
			at          time.Time
			data        []byte
		)
		if err := rows.Scan(&rec.Seq, &project, &op, &typ, &at, &data); err != nil {
			return nil, postgres.Failure(what, err)
		}
		state, err := decodeState(data)
		if err != nil {
			return nil, fmt.Errorf("%s: decode event %d: %w", what, rec.Seq, err)
		}
		rec.Event = operation.Event{Type: operation.EventType(typ), Project: kernel.ProjectIDFrom(project),
			Operation: operation.IDFrom(op), At: at.UTC(), State: state}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, postgres.Failure(what, err)
	}
	return out, nil
}

// Read returns the project's events (of one operation when op is non-nil) after a sequence number.
func (l *EventLog) Read(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, after int64, limit int) ([]operation.Recorded, error) {
	tx := postgres.Conn(ctx, l.db)
	if op != nil {
		return readEvents(tx, "read operation events",
			`SELECT `+eventColumns+` FROM operation_events WHERE project_id = ? AND operation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			access.Project().String(), op.String(), after, limit)
	}
	return readEvents(tx, "read project events",
		`SELECT `+eventColumns+` FROM operation_events WHERE project_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		access.Project().String(), after, limit)
}

// LastSeq returns the sequence number of the project's (or operation's) newest event.
func (l *EventLog) LastSeq(ctx context.Context, access kernel.ProjectAccess, op *operation.ID) (int64, error) {
	var seq int64
	var err error
	tx := postgres.Conn(ctx, l.db)
	if op != nil {
		err = tx.Raw(`SELECT COALESCE(MAX(seq), 0) FROM operation_events WHERE project_id = ? AND operation_id = ?`,
			access.Project().String(), op.String()).Row().Scan(&seq)
	} else {
		err = tx.Raw(`SELECT COALESCE(MAX(seq), 0) FROM operation_events WHERE project_id = ?`,
			access.Project().String()).Row().Scan(&seq)
	}
	return seq, postgres.Failure("last event seq", err)
}

// Unsequenced reports whether events of the operation wait in the outbox.
func (l *EventLog) Unsequenced(ctx context.Context, access kernel.ProjectAccess, op operation.ID) (bool, error) {
	var n int64
	err := postgres.Conn(ctx, l.db).Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM operation_outbox WHERE project_id = ? AND operation_id = ? LIMIT 1) AS o`,
		access.Project().String(), op.String()).Row().Scan(&n)
	return n > 0, postgres.Failure("unsequenced events", err)
}

// Horizon returns the highest sequence number pruning removed.
func (l *EventLog) Horizon(ctx context.Context) (int64, error) {
	var seq int64
	err := postgres.Conn(ctx, l.db).Raw(`SELECT horizon_seq FROM operation_event_relay WHERE id = 1`).Row().Scan(&seq)
	return seq, postgres.Failure("event horizon", err)
}

// Lock takes the relay lock: a session advisory lock on a dedicated
// connection on PostgreSQL, a lock of this value on SQLite.
func (l *EventLog) Lock(ctx context.Context) (func(), error) {
	if l.dialect == postgres.DialectSQLite {
		select {
		case l.sqliteLock <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var once sync.Once
		return func() { once.Do(func() { <-l.sqliteLock }) }, nil
	}
	sqlDB, err := l.db.DB()
	if err != nil {
		return nil, postgres.Failure("relay lock", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, postgres.Failure("relay lock", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, relayLockKey); err != nil {
		// The lock may have been granted as the wait was cancelled: ending
		// the session is the one way to be sure it is not kept.
		discard(conn)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, postgres.Failure("relay lock", err)
	}
	var once sync.Once
	return func() { //nolint:contextcheck // the release must run even when the caller's context has ended
		once.Do(func() {
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var released bool
			if err := conn.QueryRowContext(uctx, `SELECT pg_advisory_unlock($1)`, relayLockKey).Scan(&released); err != nil || !released {
				discard(conn)
				return
			}
			_ = conn.Close()
		})
	}, nil
}

// discard closes conn's session instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// Sequence moves up to limit outbox events into the log, numbered in outbox order.
func (l *EventLog) Sequence(ctx context.Context, limit int) (int, error) {
	var moved int64
	var err error
	if l.dialect == postgres.DialectPostgres {
		// One statement, so the rows deleted are exactly the rows inserted
		// even while writers commit outbox rows in between.
		res := postgres.Conn(ctx, l.db).Exec(`
WITH moved AS (
    DELETE FROM operation_outbox
    WHERE id IN (SELECT id FROM operation_outbox ORDER BY id LIMIT ?)
    RETURNING id, project_id, operation_id, type, at, data
), base AS (
    SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM operation_events), 0), published_seq, horizon_seq) AS seq
    FROM operation_event_relay WHERE id = 1
)
INSERT INTO operation_events (seq, project_id, operation_id, type, at, data)
SELECT base.seq + ROW_NUMBER() OVER (ORDER BY moved.id), moved.project_id, moved.operation_id, moved.type, moved.at, moved.data
FROM moved CROSS JOIN base`, limit)
		moved, err = res.RowsAffected, res.Error
	} else {
		// SQLite's transaction holds the write lock from its start, so the
		// DELETE sees the very rows the INSERT copied.
		err = postgres.InTx(ctx, l.db, func(tx *gorm.DB) error {
			res := tx.Exec(`
INSERT INTO operation_events (seq, project_id, operation_id, type, at, data)
SELECT (SELECT MAX(COALESCE((SELECT MAX(seq) FROM operation_events), 0), published_seq, horizon_seq)
        FROM operation_event_relay WHERE id = 1) + ROW_NUMBER() OVER (ORDER BY o.id),
       o.project_id, o.operation_id, o.type, o.at, o.data
FROM (SELECT * FROM operation_outbox ORDER BY id LIMIT ?) AS o
ORDER BY o.id`, limit)
			if res.Error != nil {
				return res.Error
			}
			moved = res.RowsAffected
			return tx.Exec(`DELETE FROM operation_outbox WHERE id IN (SELECT id FROM operation_outbox ORDER BY id LIMIT ?)`, limit).Error
		})
	}
	if err != nil {
		return 0, postgres.Failure("sequence events", err)
	}
	return int(moved), nil
}

// Unpublished returns sequenced events above the published watermark.
func (l *EventLog) Unpublished(ctx context.Context, limit int) ([]operation.Recorded, error) {
	return readEvents(postgres.Conn(ctx, l.db), "read unpublished events",
		`SELECT `+eventColumns+` FROM operation_events
		 WHERE seq > (SELECT published_seq FROM operation_event_relay WHERE id = 1) ORDER BY seq LIMIT ?`, limit)
}

// MarkPublished raises the published watermark to seq; it never lowers it.
func (l *EventLog) MarkPublished(ctx context.Context, seq int64) error {
	err := postgres.Conn(ctx, l.db).Exec(
		`UPDATE operation_event_relay SET published_seq = CASE WHEN published_seq < ? THEN ? ELSE published_seq END WHERE id = 1`,
		seq, seq).Error
	return postgres.Failure("mark events published", err)
}

// ReadAll returns every project's sequenced events after a sequence number.
func (l *EventLog) ReadAll(ctx context.Context, after int64, limit int) ([]operation.Recorded, error) {
	return readEvents(postgres.Conn(ctx, l.db), "read all events",
		`SELECT `+eventColumns+` FROM operation_events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

// Head returns the highest sequence number given so far: the newest
// event's, or the watermarks' once pruning emptied the log.
func (l *EventLog) Head(ctx context.Context) (int64, error) {
	var seq int64
	err := postgres.Conn(ctx, l.db).Raw(`
SELECT CASE WHEN m.seq >= r.published_seq AND m.seq >= r.horizon_seq THEN m.seq
            WHEN r.published_seq >= r.horizon_seq THEN r.published_seq
            ELSE r.horizon_seq END
FROM operation_event_relay r CROSS JOIN (SELECT COALESCE(MAX(seq), 0) AS seq FROM operation_events) m
WHERE r.id = 1`).Row().Scan(&seq)
	return seq, postgres.Failure("event log head", err)
}

// OldestUnpublished returns when the oldest event not yet published was accepted.
func (l *EventLog) OldestUnpublished(ctx context.Context) (time.Time, bool, error) {
	var at nullTime
	err := postgres.Conn(ctx, l.db).Raw(`
SELECT MIN(x.at) FROM (
    SELECT MIN(at) AS at FROM operation_outbox
    UNION ALL
    SELECT MIN(at) AS at FROM operation_events WHERE seq > (SELECT published_seq FROM operation_event_relay WHERE id = 1)
) AS x`).Row().Scan(&at)
	if err != nil {
		return time.Time{}, false, postgres.Failure("oldest unpublished event", err)
	}
	return at.t, at.ok, nil
}

// Prune deletes published events accepted before the given time and
// raises the horizon to the highest sequence number it deleted.
func (l *EventLog) Prune(ctx context.Context, before time.Time) (int64, error) {
	before = before.UTC()
	var deleted int64
	err := postgres.InTx(ctx, l.db, func(tx *gorm.DB) error {
		// Events are numbered in acceptance order, so the old ones are a
		// prefix of the log: everything below the first event still young
		// enough (and published). Walking the primary key from its start
		// touches only what is deleted, and no index on "at" is needed.
		var young, last, published sql.NullInt64
		err := tx.Raw(`SELECT
			(SELECT seq FROM operation_events WHERE at >= ? ORDER BY seq LIMIT 1),
			(SELECT MAX(seq) FROM operation_events),
			(SELECT published_seq FROM operation_event_relay WHERE id = 1)`, before).Row().Scan(&young, &last, &published)
		if err != nil {
			return err
		}
		top := last.Int64
		if young.Valid {
			top = young.Int64 - 1
		}
		top = min(top, published.Int64)
		if top <= 0 {
			return nil
		}
		res := tx.Exec(`DELETE FROM operation_events WHERE seq <= ?`, top)
		if res.Error != nil {
			return res.Error
		}
		deleted = res.RowsAffected
		return tx.Exec(`UPDATE operation_event_relay SET horizon_seq = CASE WHEN horizon_seq < ? THEN ? ELSE horizon_seq END WHERE id = 1`,
			top, top).Error
	})
	if err != nil {
		return 0, postgres.Failure("prune events", err)
	}
	return deleted, nil
}

// nullTime scans a timestamp that may be NULL; an aggregate over a SQLite
// DATETIME column arrives as the text the driver wrote.
type nullTime struct {
	t  time.Time
	ok bool
}

func (n *nullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*n = nullTime{}
		return nil
	case time.Time:
		*n = nullTime{t: v.UTC(), ok: true}
		return nil
	case []byte:
		return n.parse(string(v))
	case string:
		return n.parse(v)
	}
	return fmt.Errorf("cannot scan %T into a timestamp", v)
}

var textTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"}

func (n *nullTime) parse(s string) error {
	for _, layout := range textTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			*n = nullTime{t: t.UTC(), ok: true}
			return nil
		}
	}
	return errors.New("unrecognised timestamp text " + s)
}
