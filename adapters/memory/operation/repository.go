package operation

import (
	"bytes"
	"context"
	"sort"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// Repository stores operations in a map and their events in an EventLog's
// outbox, both under the log's mutex, so that an event exists exactly when
// its change does.
type Repository struct {
	log *EventLog
	ops map[operation.ID]stored
}

// stored is an operation as kept: its state and its version.
type stored struct {
	state   operation.State
	version kernel.Version
}

func store(op *operation.Operation) stored { return stored{state: op.State(), version: op.Version()} }

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns an empty repository writing its events to log.
func NewRepository(log *EventLog) *Repository {
	return &Repository{log: log, ops: map[operation.ID]stored{}}
}

func rebuild(st stored) *operation.Operation {
	s := st.state
	return operation.Rehydrate(s.ID, s.Project, s.Kind, s.Status, s.Percent, s.Message, bytes.Clone(s.Result), s.Error, s.CreatedAt, s.UpdatedAt, st.version)
}

// Add stores op and the events it recorded.
func (r *Repository) Add(_ context.Context, access kernel.ProjectAccess, op *operation.Operation) error {
	if op.Project() != access.Project() {
		return errProjectMismatch
	}
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	if _, exists := r.ops[op.ID()]; exists {
		return errDuplicateID
	}
	r.ops[op.ID()] = store(op)
	r.log.accept(op.PullEvents())
	return nil
}

// Get returns one operation of the access's project.
func (r *Repository) Get(_ context.Context, access kernel.ProjectAccess, id operation.ID) (*operation.Operation, error) {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	s, ok := r.ops[id]
	if !ok || s.state.Project != access.Project() {
		return nil, operation.ErrNotFound
	}
	return rebuild(s), nil
}

// List returns one page of the project's operations, newest first.
func (r *Repository) List(_ context.Context, access kernel.ProjectAccess, q ports.ListQuery) (ports.Page, error) {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	var all []stored
	for _, s := range r.ops {
		if s.state.Project == access.Project() && (q.Status == nil || s.state.Status == *q.Status) {
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return newer(key(all[i].state), key(all[j].state)) })
	var page ports.Page
	for _, s := range all {
		if q.After != nil && !newer(*q.After, key(s.state)) {
			continue
		}
		if len(page.Items) == q.Limit {
			next := key(page.Items[len(page.Items)-1].State())
			page.Next = &next
			break
		}
		page.Items = append(page.Items, rebuild(s))
	}
	return page, nil
}

func key(s operation.State) kernel.Cursor { return kernel.Cursor{At: s.CreatedAt, ID: s.ID.UUID()} }

// newer orders keyset positions by (time, id) descending.
func newer(a, b kernel.Cursor) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}

// Update applies fn to one operation of the project and stores the change
// with its events; the mutex makes the state fn saw the stored one.
func (r *Repository) Update(_ context.Context, access kernel.ProjectAccess, id operation.ID, fn func(op *operation.Operation) error) (*operation.Operation, error) {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	s, ok := r.ops[id]
	if !ok || s.state.Project != access.Project() {
		return nil, operation.ErrNotFound
	}
	op := rebuild(s)
	if err := fn(op); err != nil {
		return nil, err
	}
	r.ops[id] = store(op)
	r.log.accept(op.PullEvents())
	return rebuild(r.ops[id]), nil
}

// CountByStatus counts the project's operations in each status present.
func (r *Repository) CountByStatus(_ context.Context, access kernel.ProjectAccess) (map[operation.Status]int64, error) {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	counts := map[operation.Status]int64{}
	for _, s := range r.ops {
		if s.state.Project == access.Project() {
			counts[s.state.Status]++
		}
	}
	return counts, nil
}
