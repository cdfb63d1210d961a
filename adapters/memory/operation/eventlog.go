package operation

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

var (
	errProjectMismatch = errors.New("operation repository: the operation's project differs from the access")
	errDuplicateID     = errors.New("operation repository: duplicate id")
)

// EventLog is the outbox the repository writes, the sequenced log the
// relay fills from it, and the relay's watermarks, in memory.
type EventLog struct {
	mu        sync.Mutex
	outbox    []operation.Event
	events    []operation.Recorded // in seq order
	published int64
	horizon   int64
}

var (
	_ ports.EventLog   = (*EventLog)(nil)
	_ ports.RelayStore = (*EventLog)(nil)
)

// NewEventLog returns an empty log.
func NewEventLog() *EventLog { return &EventLog{} }

// accept adds events to the outbox; the caller holds mu.
func (l *EventLog) accept(events []operation.Event) {
	for _, ev := range events {
		ev.State.Result = append([]byte(nil), ev.State.Result...)
		if len(ev.State.Result) == 0 {
			ev.State.Result = nil
		}
		l.outbox = append(l.outbox, ev)
	}
}

func (l *EventLog) head() int64 {
	h := max(l.published, l.horizon)
	if n := len(l.events); n > 0 {
		h = max(h, l.events[n-1].Seq)
	}
	return h
}

func matches(ev operation.Recorded, project kernel.ProjectID, op *operation.ID) bool {
	return ev.Project == project && (op == nil || ev.Operation == *op)
}

// Read returns the project's events (of one operation when op is non-nil) after a sequence number.
func (l *EventLog) Read(_ context.Context, access kernel.ProjectAccess, op *operation.ID, after int64, limit int) ([]operation.Recorded, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []operation.Recorded
	for _, ev := range l.events {
		if ev.Seq > after && matches(ev, access.Project(), op) {
			out = append(out, ev)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// LastSeq returns the sequence number of the project's (or operation's) newest event.
func (l *EventLog) LastSeq(_ context.Context, access kernel.ProjectAccess, op *operation.ID) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.events) - 1; i >= 0; i-- {
		if matches(l.events[i], access.Project(), op) {
			return l.events[i].Seq, nil
		}
	}
	return 0, nil
}

// Latest returns the newest event at or below upTo of each of the
// project's operations (of one when op is non-nil), newest first.
func (l *EventLog) Latest(_ context.Context, access kernel.ProjectAccess, op *operation.ID, upTo int64, limit int) ([]operation.Recorded, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[operation.ID]bool{}
	var out []operation.Recorded
	for i := len(l.events) - 1; i >= 0 && len(out) < limit; i-- {
		ev := l.events[i]
		if ev.Seq > upTo || !matches(ev, access.Project(), op) || seen[ev.Operation] {
			continue
		}
		seen[ev.Operation] = true
		out = append(out, ev)
	}
	return out, nil
}

// Unsequenced reports whether events of the operation wait in the outbox.
func (l *EventLog) Unsequenced(_ context.Context, access kernel.ProjectAccess, op operation.ID) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.outbox {
		if ev.Project == access.Project() && ev.Operation == op {
			return true, nil
		}
	}
	return false, nil
}

// Horizon returns the highest sequence number pruning removed.
func (l *EventLog) Horizon(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.horizon, nil
}

// Sequence moves up to limit outbox events into the log, numbered in
// outbox order, under the log's mutex.
func (l *EventLog) Sequence(_ context.Context, limit int, published ports.Range) (ports.Sequenced, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.markLocked(published.First, published.Last)
	head := l.head()
	out := ports.Sequenced{Backlog: l.published < head}
	n := min(limit, len(l.outbox))
	for i, ev := range l.outbox[:n] {
		r := operation.Recorded{Seq: head + int64(i) + 1, Event: ev}
		l.events = append(l.events, r)
		out.Events = append(out.Events, r)
	}
	l.outbox = append(l.outbox[:0:0], l.outbox[n:]...)
	return out, nil
}

// Unpublished returns sequenced events above the published watermark.
func (l *EventLog) Unpublished(_ context.Context, limit int) ([]operation.Recorded, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.after(l.published, limit), nil
}

// after returns up to limit events above seq; the caller holds mu.
func (l *EventLog) after(seq int64, limit int) []operation.Recorded {
	var out []operation.Recorded
	for _, ev := range l.events {
		if ev.Seq > seq {
			out = append(out, ev)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}

// MarkPublished raises the published watermark to last when everything
// below first is published; it never lowers it.
func (l *EventLog) MarkPublished(_ context.Context, first, last int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.markLocked(first, last)
	return nil
}

func (l *EventLog) markLocked(first, last int64) {
	if last > 0 && l.published >= first-1 {
		l.published = max(l.published, last)
	}
}

// ReadAll returns every project's sequenced events after a sequence number.
func (l *EventLog) ReadAll(_ context.Context, after int64, limit int) ([]operation.Recorded, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.after(after, limit), nil
}

// Head returns the highest sequence number given so far.
func (l *EventLog) Head(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head(), nil
}

// OldestUnpublished returns when the oldest event not yet published was accepted.
func (l *EventLog) OldestUnpublished(context.Context) (time.Time, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var oldest time.Time
	found := false
	consider := func(at time.Time) {
		if !found || at.Before(oldest) {
			oldest, found = at, true
		}
	}
	for _, ev := range l.outbox {
		consider(ev.At)
	}
	for _, ev := range l.events {
		if ev.Seq > l.published {
			consider(ev.At)
		}
	}
	return oldest.UTC(), found, nil
}

// Prune deletes published events accepted before the given time and
// raises the horizon to the highest sequence number it deleted. Events
// are numbered in acceptance order, so the old ones are a prefix.
func (l *EventLog) Prune(_ context.Context, before time.Time) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for n < len(l.events) && l.events[n].At.Before(before) && l.events[n].Seq <= l.published {
		n++
	}
	if n == 0 {
		return 0, nil
	}
	l.horizon = max(l.horizon, l.events[n-1].Seq)
	l.events = append(l.events[:0:0], l.events[n:]...)
	return int64(n), nil
}
