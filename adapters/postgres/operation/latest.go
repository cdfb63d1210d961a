package operation

import (
	"context"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// Latest returns the newest event at or below upTo of each of the
// project's operations (of one when op is non-nil), newest first.
func (l *EventLog) Latest(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, upTo int64, limit int) ([]operation.Recorded, error) {
	q := `SELECT ` + eventColumns + ` FROM operation_events e
WHERE e.project_id = ? AND e.seq <= ?`
	args := []any{access.Project().String(), upTo}
	if op != nil {
		q += ` AND e.operation_id = ?`
		args = append(args, op.String())
	}
	q += ` AND e.seq = (SELECT MAX(i.seq) FROM operation_events i
WHERE i.project_id = e.project_id AND i.operation_id = e.operation_id AND i.seq <= ?)
ORDER BY e.seq DESC LIMIT ?`
	args = append(args, upTo, limit)
	return readEvents(postgres.Conn(ctx, l.db), "latest operation events", q, args...)
}
