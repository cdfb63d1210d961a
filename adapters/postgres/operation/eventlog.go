package operation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// RelayLockKey is the PostgreSQL advisory lock numbering takes ("opevrlay"):
// a holder shows in pg_locks as locktype advisory, classid 1869636982,
// objid 1919705465, objsubid 1.
const RelayLockKey int64 = 0x6f706576726c6179

// EventLog is the outbox the repository writes, the sequenced log the
// relay fills from it, and the relay's watermarks.
type EventLog struct {
	db      *gorm.DB
	dialect postgres.Dialect
	// sqliteLock serialises numbering on SQLite, which one instance serves:
	// a one-slot semaphore, so that waiting for it respects ctx.
	sqliteLock chan struct{}
}

var (
	_ ports.EventLog   = (*EventLog)(nil)
	_ ports.RelayStore = (*EventLog)(nil)
)

// NewEventLog returns the event log over db. On SQLite numbering is
// serialised by the value, so an instance builds one EventLog.
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
		rec, err := record(rec.Seq, project, op, typ, at, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, postgres.Failure(what, err)
	}
	return out, nil
}

// record rebuilds one logged event from its columns.
func record(seq int64, project, op uuid.UUID, typ string, at time.Time, data []byte) (operation.Recorded, error) {
	state, err := decodeState(data)
	if err != nil {
		return operation.Recorded{}, fmt.Errorf("decode event %d: %w", seq, err)
	}
	return operation.Recorded{Seq: seq, Event: operation.Event{Type: operation.EventType(typ), Project: kernel.ProjectIDFrom(project),
		Operation: operation.IDFrom(op), At: at.UTC(), State: state}}, nil
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

// Sequence waits sequenceRetry before trying again when another session
// holds the numbering lock, doubling up to sequenceRetryMax: another
// instance numbers for milliseconds, while a lock held from outside must
// not make the relay spin.
const (
	sequenceRetry    = time.Millisecond
	sequenceRetryMax = 100 * time.Millisecond
)

// lockHeld is what Sequence returns when ctx ends before it got the
// numbering lock: the cause a stalled relay reports.
func lockHeld(err error) error {
	return kernel.Unavailable("operation.relay_lock_held",
		fmt.Sprintf("the relay's numbering lock (advisory lock %d) is held by another database session", RelayLockKey), err)
}

// Sequence moves up to limit outbox events into the log, numbered in
// outbox order, and returns them.
//
// On PostgreSQL one statement numbers and moves them, taking the
// transaction-scoped advisory lock RelayLockKey for its own length (so it
// works behind a pooler in transaction mode): while another instance holds
// it, the statement moves nothing and is tried again. The statement's view
// of the log may predate that other instance's commit; the numbers it then
// gives clash with the log's key and it is tried again too, so no number is
// ever given twice. On SQLite, which one instance serves, a semaphore of
// this value and one transaction do the same. When ctx ends before the
// lock was obtained, the error says that the lock is held.
func (l *EventLog) Sequence(ctx context.Context, limit int, published ports.Range) (ports.Sequenced, error) {
	if l.dialect == postgres.DialectSQLite {
		return l.sequenceSQLite(ctx, limit, published)
	}
	wait := sequenceRetry
	for {
		out, locked, err := l.sequenceOnce(ctx, limit, published)
		switch {
		case err == nil && locked:
			return out, nil
		case err != nil && !postgres.IsDuplicate(err):
			return ports.Sequenced{}, postgres.Failure("sequence events", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				return ports.Sequenced{}, lockHeld(ctx.Err())
			}
			return ports.Sequenced{}, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, sequenceRetryMax)
	}
}

// sequenceStatement numbers and moves the outbox's oldest rows and marks
// the caller's published range. All its parts see the log as the
// statement found it, so the watermark it reports is the greater of the
// one it found and the one it set.
const sequenceStatement = `
WITH lk AS (SELECT pg_try_advisory_xact_lock(?) AS ok),
mark AS (
    UPDATE operation_event_relay SET published_seq = ?
    WHERE id = 1 AND published_seq >= ? AND published_seq < ?
    RETURNING published_seq
),
base AS (
    SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM operation_events), 0), published_seq, horizon_seq) AS head,
           GREATEST(published_seq, COALESCE((SELECT published_seq FROM mark), 0)) AS published_seq
    FROM operation_event_relay WHERE id = 1
),
moved AS (
    DELETE FROM operation_outbox
    WHERE (SELECT ok FROM lk) AND id IN (SELECT id FROM operation_outbox ORDER BY id LIMIT ?)
    RETURNING id, project_id, operation_id, type, at, data
),
ins AS (
    INSERT INTO operation_events (seq, project_id, operation_id, type, at, data)
    SELECT base.head + ROW_NUMBER() OVER (ORDER BY moved.id), moved.project_id, moved.operation_id, moved.type, moved.at, moved.data
    FROM moved CROSS JOIN base
    RETURNING seq, project_id, operation_id, type, at, data
)
SELECT (SELECT ok FROM lk), base.head, base.published_seq, ins.seq, ins.project_id, ins.operation_id, ins.type, ins.at, ins.data
FROM base LEFT JOIN ins ON true ORDER BY ins.seq`

func (l *EventLog) sequenceOnce(ctx context.Context, limit int, published ports.Range) (ports.Sequenced, bool, error) {
	rows, err := postgres.Conn(ctx, l.db).Raw(sequenceStatement, RelayLockKey,
		published.Last, published.First-1, published.Last, limit).Rows()
	if err != nil {
		return ports.Sequenced{}, false, err
	}
	defer func() { _ = rows.Close() }()
	var out ports.Sequenced
	locked := false
	for rows.Next() {
		var (
			head, published int64
			seq             sql.NullInt64
			project, op     uuid.NullUUID
			typ             sql.NullString
			at              sql.NullTime
			data            []byte
		)
		if err := rows.Scan(&locked, &head, &published, &seq, &project, &op, &typ, &at, &data); err != nil {
			return ports.Sequenced{}, false, err
		}
		out.Backlog = published < head
		if !seq.Valid {
			continue
		}
		rec, err := record(seq.Int64, project.UUID, op.UUID, typ.String, at.Time, data)
		if err != nil {
			return ports.Sequenced{}, false, err
		}
		out.Events = append(out.Events, rec)
	}
	return out, locked, rows.Err()
}

func (l *EventLog) sequenceSQLite(ctx context.Context, limit int, published ports.Range) (ports.Sequenced, error) {
	select {
	case l.sqliteLock <- struct{}{}:
	case <-ctx.Done():
		return ports.Sequenced{}, ctx.Err()
	}
	defer func() { <-l.sqliteLock }()
	var out ports.Sequenced
	err := postgres.InTx(ctx, l.db, func(tx *gorm.DB) error {
		// The transaction holds the write lock from its start, so the
		// DELETE removes the very rows the INSERT copied.
		if err := markPublished(tx, published.First, published.Last); err != nil {
			return err
		}
		var head, watermark int64
		err := tx.Raw(`SELECT MAX(COALESCE((SELECT MAX(seq) FROM operation_events), 0), published_seq, horizon_seq), published_seq
FROM operation_event_relay WHERE id = 1`).Row().Scan(&head, &watermark)
		if err != nil {
			return err
		}
		out.Backlog = watermark < head
		err = tx.Exec(`
INSERT INTO operation_events (seq, project_id, operation_id, type, at, data)
SELECT ? + ROW_NUMBER() OVER (ORDER BY o.id), o.project_id, o.operation_id, o.type, o.at, o.data
FROM (SELECT * FROM operation_outbox ORDER BY id LIMIT ?) AS o
ORDER BY o.id`, head, limit).Error
		if err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM operation_outbox WHERE id IN (SELECT id FROM operation_outbox ORDER BY id LIMIT ?)`, limit).Error; err != nil {
			return err
		}
		out.Events, err = readEvents(tx, "read numbered events",
			`SELECT `+eventColumns+` FROM operation_events WHERE seq > ? ORDER BY seq`, head)
		return err
	})
	if err != nil {
		return ports.Sequenced{}, postgres.Failure("sequence events", err)
	}
	return out, nil
}

// Unpublished returns sequenced events above the published watermark.
func (l *EventLog) Unpublished(ctx context.Context, limit int) ([]operation.Recorded, error) {
	return readEvents(postgres.Conn(ctx, l.db), "read unpublished events",
		`SELECT `+eventColumns+` FROM operation_events
		 WHERE seq > (SELECT published_seq FROM operation_event_relay WHERE id = 1) ORDER BY seq LIMIT ?`, limit)
}

// MarkPublished raises the published watermark to last when everything
// below first is published; it never lowers it.
func (l *EventLog) MarkPublished(ctx context.Context, first, last int64) error {
	return postgres.Failure("mark events published", markPublished(postgres.Conn(ctx, l.db), first, last))
}

func markPublished(tx *gorm.DB, first, last int64) error {
	return tx.Exec(`UPDATE operation_event_relay SET published_seq = ? WHERE id = 1 AND published_seq >= ? AND published_seq < ?`,
		last, first-1, last).Error
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
