package streaming

import (
	"context"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

// maxSnapshotOperations bounds a project stream's snapshot.
const maxSnapshotOperations = 100

// sequenceWait is how long an operation stream's opening waits between
// looks at the log for an operation whose first events the relay has not
// numbered yet: the hub wakes it sooner when they arrive.
const sequenceWait = 50 * time.Millisecond

// Open subscribes to a stream of the access's project — of one operation
// when op is non-nil — and returns what to send first. last is the last
// event id the client received (Last-Event-ID), nil on a fresh connect.
//
// It subscribes first and reads afterwards, so that nothing accepted in
// between is missed: every event above what the initial messages cover
// arrives live, and nothing at or below it does.
func (s *Streams) Open(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, last *int64) (*Stream, error) {
	if err := requireRead(access); err != nil {
		return nil, err
	}
	if op != nil {
		if _, err := s.repo.Get(ctx, access, *op); err != nil {
			return nil, err
		}
	}
	sub, err := s.hub.subscribe(access.Subject(), access.Project(), op)
	if err != nil {
		return nil, err
	}
	// The watch outlives this request: its rechecks are bounded by their
	// own interval, not by ctx.
	st := &Stream{sub: sub, watch: s.watches.hold(access)} //nolint:contextcheck // see above
	if err := s.fill(ctx, access, op, last, st); err != nil {
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
func (s *Streams) fill(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, last *int64, st *Stream) error {
	if last != nil {
		horizon, err := s.log.Horizon(ctx)
		if err != nil {
			return err
		}
		head, err := s.hub.store.Head(ctx)
		if err != nil {
			return err
		}
		// An id above the head was not issued by this log (a reset
		// database, a forged header): it is treated like a pruned one.
		if *last >= horizon && *last <= head {
			return s.resume(ctx, access, op, st, *last)
		}
		st.initial = append(st.initial, Message{Event: MessageHistoryExpired})
	}
	// The snapshot is built from the log, not from the operations table:
	// a change can be committed while its event still waits in the outbox,
	// and a snapshot ahead of the events that follow it would make clients
	// see an older state after a newer one. Taken from the log at head, it
	// is exactly the state every event at or below head led to.
	head, err := s.log.LastSeq(ctx, access, nil)
	if err != nil {
		return err
	}
	snapshot := Message{ID: head, Event: MessageSnapshot}
	if op != nil {
		state, at, err := s.operationSnapshot(ctx, access, *op, head, st.sub)
		if err != nil {
			return err
		}
		head, snapshot.ID, snapshot.Operation = at, at, &state
		st.finished = state.Status.Terminal()
	} else {
		latest, err := s.log.Latest(ctx, access, nil, head, maxSnapshotOperations)
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
	s.hub.setFloor(st.sub, head)
	return nil
}

// operationSnapshot is the state of the operation's newest event at or
// below a head of the log, and that head.
//
// An operation so new that its events still wait in the outbox has none
// yet: the relay is woken, and the opening waits for it to number them —
// woken by the hub when they arrive, looking again every sequenceWait
// when the bus cannot bring them — within the request's deadline.
func (s *Streams) operationSnapshot(ctx context.Context, access kernel.ProjectAccess, op operation.ID, head int64, sub *subscriber) (operation.State, int64, error) {
	for {
		latest, err := s.log.Latest(ctx, access, &op, head, 1)
		if err != nil {
			return operation.State{}, 0, err
		}
		if len(latest) == 1 {
			return latest[0].State, head, nil
		}
		waiting, err := s.log.Unsequenced(ctx, access, op)
		if err != nil {
			return operation.State{}, 0, err
		}
		if !waiting {
			// Nothing waits: either the relay numbered its events after the
			// log was read — then the head moved, and the log is read again —
			// or its history was pruned, and the row is the only record of
			// its state.
			moved, err := s.log.LastSeq(ctx, access, nil)
			if err != nil {
				return operation.State{}, 0, err
			}
			if moved != head {
				head = moved
				continue
			}
			o, err := s.repo.Get(ctx, access, op)
			if err != nil {
				return operation.State{}, 0, err
			}
			return o.State(), head, nil
		}
		s.trigger.EventsAccepted()
		wait := time.NewTimer(sequenceWait)
		select {
		case <-sub.ready:
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return operation.State{}, 0, kernel.Unavailable("stream.events_pending",
				"the operation's first events are not published yet; retry", ctx.Err())
		}
		wait.Stop()
		if head, err = s.log.LastSeq(ctx, access, nil); err != nil {
			return operation.State{}, 0, err
		}
	}
}

// resume sends what was missed after last, page by page.
func (s *Streams) resume(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, st *Stream, last int64) error {
	floor := last
	for {
		page, err := s.log.Read(ctx, access, op, floor, logPage)
		if err != nil {
			return err
		}
		for i := range page {
			ev := page[i]
			st.initial = append(st.initial, Message{ID: ev.Seq, Event: string(ev.Type), Record: &ev})
			floor = ev.Seq
			if op != nil && ev.Type.Terminal() {
				st.finished = true
			}
		}
		if len(page) < logPage || st.finished {
			break
		}
	}
	if op != nil && !st.finished && len(st.initial) == 0 {
		// Nothing missed: the operation may have finished with an event at
		// or before last, in which case the stream has nothing more to say.
		o, err := s.repo.Get(ctx, access, *op)
		if err != nil {
			return err
		}
		if o.Status().Terminal() {
			// A terminal event still in the outbox is not in the log yet:
			// the stream stays open for it rather than ending without it.
			waiting, err := s.log.Unsequenced(ctx, access, *op)
			if err != nil {
				return err
			}
			lastOp, err := s.log.LastSeq(ctx, access, op)
			if err != nil {
				return err
			}
			st.finished = !waiting && lastOp <= last
		}
	}
	s.hub.setFloor(st.sub, floor)
	return nil
}
