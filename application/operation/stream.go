package operation

import (
	"context"

	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// stream implements ports.Stream over a hub subscriber.
type stream struct {
	sub      *subscriber
	initial  []ports.Message
	finished bool
}

func (s *stream) Initial() []ports.Message           { return s.initial }
func (s *stream) Finished() bool                     { return s.finished }
func (s *stream) Ready() <-chan struct{}             { return s.sub.ready }
func (s *stream) Take() ([]operation.Recorded, bool) { return s.sub.take() }
func (s *stream) Close()                             { s.sub.hub.remove(s.sub, nil) }
func (s *stream) Err() error {
	s.sub.mu.Lock()
	defer s.sub.mu.Unlock()
	return s.sub.err
}

// maxSnapshotOperations bounds a project stream's snapshot.
const maxSnapshotOperations = 100

// OpenStream subscribes first and reads afterwards, so that nothing
// accepted in between is missed: every event above what the initial
// messages cover arrives through Live, and nothing at or below it does.
func (s *Service) OpenStream(ctx context.Context, req ports.StreamRequest) (ports.Stream, error) {
	if err := s.visible(ctx, req.Subject, req.Project); err != nil {
		return nil, err
	}
	if req.Operation != nil {
		if _, err := s.d.Repo.Get(ctx, req.Project, *req.Operation); err != nil {
			return nil, err
		}
	}
	sub, err := s.d.Hub.subscribe(req.Subject, req.Project, req.Operation)
	if err != nil {
		return nil, err
	}
	st := &stream{sub: sub}
	if err := s.fill(ctx, req, st); err != nil {
		st.Close()
		return nil, err
	}
	if st.finished {
		st.Close()
	}
	return st, nil
}

// fill computes the initial messages and the floor below which live
// events are already covered.
func (s *Service) fill(ctx context.Context, req ports.StreamRequest, st *stream) error {
	if req.LastEventID != nil {
		horizon, err := s.d.Log.Horizon(ctx)
		if err != nil {
			return err
		}
		head, err := s.d.Hub.head(ctx)
		if err != nil {
			return err
		}
		// An id above the head was not issued by this log (a reset
		// database, a forged header): it is treated like a pruned one.
		if *req.LastEventID >= horizon && *req.LastEventID <= head {
			return s.resume(ctx, req, st, *req.LastEventID)
		}
		st.initial = append(st.initial, ports.Message{Event: ports.MessageHistoryExpired})
	}
	// The snapshot is built from the log, not from the operations table:
	// a change can be committed while its event still waits in the outbox,
	// and a snapshot ahead of the events that follow it would make clients
	// see an older state after a newer one. Taken from the log at head, it
	// is exactly the state every event at or below head led to.
	head, err := s.d.Log.LastSeq(ctx, req.Project, nil)
	if err != nil {
		return err
	}
	snapshot := ports.Message{ID: head, Event: ports.MessageSnapshot}
	if req.Operation != nil {
		state, at, err := s.operationSnapshot(ctx, req, head)
		if err != nil {
			return err
		}
		head, snapshot.ID, snapshot.Operation = at, at, &state
		st.finished = state.Status.Terminal()
	} else {
		latest, err := s.d.Log.Latest(ctx, req.Project, nil, head, maxSnapshotOperations)
		if err != nil {
			return err
		}
		snapshot.Operations = []operation.State{}
		for _, ev := range latest {
			if !ev.State.Status.Terminal() {
				snapshot.Operations = append(snapshot.Operations, ev.State)
			}
		}
	}
	if len(st.initial) > 0 {
		st.initial[0].ID = head
	}
	st.initial = append(st.initial, snapshot)
	s.d.Hub.setFloor(st.sub, head)
	return nil
}

// operationSnapshot is the state of the operation's newest event at or
// below head, and the head it is consistent with.
func (s *Service) operationSnapshot(ctx context.Context, req ports.StreamRequest, head int64) (operation.State, int64, error) {
	latest, err := s.d.Log.Latest(ctx, req.Project, req.Operation, head, 1)
	if err != nil {
		return operation.State{}, 0, err
	}
	if len(latest) == 1 {
		return latest[0].State, head, nil
	}
	// None at or below head: the operation is so new that its events still
	// wait in the outbox (it exists, so they are committed), or its history
	// was pruned. Number what waits (publishing is the relay's business:
	// the bus may be down), and look again.
	if err := s.d.Relay.Sequence(ctx); err != nil {
		return operation.State{}, 0, err
	}
	if head, err = s.d.Log.LastSeq(ctx, req.Project, nil); err != nil {
		return operation.State{}, 0, err
	}
	if latest, err = s.d.Log.Latest(ctx, req.Project, req.Operation, head, 1); err != nil {
		return operation.State{}, 0, err
	}
	if len(latest) == 1 {
		return latest[0].State, head, nil
	}
	// Pruned: the row is the only record of its state.
	op, err := s.d.Repo.Get(ctx, req.Project, *req.Operation)
	if err != nil {
		return operation.State{}, 0, err
	}
	return op.State(), head, nil
}

// resume sends what was missed after last, page by page.
func (s *Service) resume(ctx context.Context, req ports.StreamRequest, st *stream, last int64) error {
	floor := last
	for {
		page, err := s.d.Log.Read(ctx, req.Project, req.Operation, floor, s.settings.HistoryPage)
		if err != nil {
			return err
		}
		for i := range page {
			ev := page[i]
			st.initial = append(st.initial, ports.Message{ID: ev.Seq, Event: string(ev.Type), Record: &ev})
			floor = ev.Seq
			if req.Operation != nil && ev.Type.Terminal() {
				st.finished = true
			}
		}
		if len(page) < s.settings.HistoryPage || st.finished {
			break
		}
	}
	if req.Operation != nil && !st.finished && len(st.initial) == 0 {
		// Nothing missed: the operation may have finished with an event at
		// or before last, in which case the stream has nothing more to say.
		op, err := s.d.Repo.Get(ctx, req.Project, *req.Operation)
		if err != nil {
			return err
		}
		if op.Status().Terminal() {
			lastOp, err := s.d.Log.LastSeq(ctx, req.Project, req.Operation)
			if err != nil {
				return err
			}
			st.finished = lastOp <= last
		}
	}
	s.d.Hub.setFloor(st.sub, floor)
	return nil
}
