package contract

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

func TestOperationStore(t *testing.T) {
	for name, newStore := range operationStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, c := range operationCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
			}
		})
	}
}

var operationCases = []struct {
	name string
	run  func(t *testing.T, s operationStore)
}{
	{"get returns exactly what was added and updated", func(t *testing.T, s operationStore) {
		op := addOp(t, s, newOp(t, projectA, "import", t0))
		got, err := s.repo.Get(ctx, in(projectA), op.ID())
		if err != nil {
			t.Fatal(err)
		}
		opCheckSame(t, got, op)
		running := opReport(t, s, op, operation.Report{Percent: 40, Message: opPtr("halfway")}, t0.Add(time.Second))
		done := opReport(t, s, op, operation.Report{Percent: 100, Status: opPtr(operation.StatusSucceeded),
			Result: []byte(`{"rows": 12, "names": ["a", "b"], "nested": {"ok": true}}`)}, t0.Add(2*time.Second))
		if running.Status() != operation.StatusRunning || done.Status() != operation.StatusSucceeded {
			t.Fatalf("update returned %s then %s", running.Status(), done.Status())
		}
		got, err = s.repo.Get(ctx, in(projectA), op.ID())
		if err != nil {
			t.Fatal(err)
		}
		opCheckSame(t, got, done)
		if got.Message() != "halfway" || got.Result() == nil || !got.UpdatedAt().Equal(t0.Add(2*time.Second)) {
			t.Fatalf("stored %+v", got.State())
		}

		failed := addOp(t, s, newOp(t, projectA, "agent.run", t0))
		opReport(t, s, failed, operation.Report{Percent: 10, Status: opPtr(operation.StatusFailed), Error: "disk full"}, t0.Add(time.Second))
		got, _ = s.repo.Get(ctx, in(projectA), failed.ID())
		if got == nil || got.Status() != operation.StatusFailed || got.ErrorDetail() != "disk full" || got.Result() != nil {
			t.Fatalf("failed operation stored as %+v", got)
		}
	}},
	{"another project's operation is not found and not counted", func(t *testing.T, s operationStore) {
		op := addOp(t, s, newOp(t, projectA, "secret", t0))
		if _, err := s.repo.Get(ctx, in(projectB), op.ID()); !errors.Is(err, operation.ErrNotFound) {
			t.Fatalf("get under B = %v", err)
		}
		_, err := s.repo.Update(ctx, in(projectB), op.ID(), func(*operation.Operation) error {
			t.Error("fn must not run for another project's operation")
			return nil
		})
		if !errors.Is(err, operation.ErrNotFound) {
			t.Fatalf("update under B = %v", err)
		}
		page, err := s.repo.List(ctx, in(projectB), ports.ListQuery{Limit: 10})
		if err != nil || len(page.Items) != 0 || page.Next != nil {
			t.Fatalf("list under B = %d items, next %v, %v", len(page.Items), page.Next, err)
		}
		counts, err := s.repo.CountByStatus(ctx, in(projectB))
		if err != nil || len(counts) != 0 {
			t.Fatalf("counts under B = %v, %v", counts, err)
		}
		if n := opSequenceAll(t, s, 10); n != 1 {
			t.Fatalf("sequenced %d events, want the created event only (the refused update stores none)", n)
		}
		if evs, err := s.log.Read(ctx, in(projectB), nil, 0, 10); err != nil || len(evs) != 0 {
			t.Fatalf("read under B = %d events, %v", len(evs), err)
		}
		id := op.ID()
		if evs, err := s.log.Read(ctx, in(projectB), &id, 0, 10); err != nil || len(evs) != 0 {
			t.Fatalf("read of A's operation under B = %d events, %v", len(evs), err)
		}
		if seq, err := s.log.LastSeq(ctx, in(projectB), &id); err != nil || seq != 0 {
			t.Fatalf("last seq of A's operation under B = %d, %v", seq, err)
		}
		if seq, err := s.log.LastSeq(ctx, in(projectA), &id); err != nil || seq == 0 {
			t.Fatalf("last seq under A = %d, %v", seq, err)
		}
	}},
	{"a missing operation is not found", func(t *testing.T, s operationStore) {
		missing := operation.IDFrom(uuid.New())
		if _, err := s.repo.Get(ctx, in(projectA), missing); !errors.Is(err, operation.ErrNotFound) {
			t.Fatalf("get = %v", err)
		}
		if _, err := s.repo.Update(ctx, in(projectA), missing, func(*operation.Operation) error { return nil }); !errors.Is(err, operation.ErrNotFound) {
			t.Fatalf("update = %v", err)
		}
	}},
	{"add refuses an operation of another project than the scope", func(t *testing.T, s operationStore) {
		op := newOp(t, projectA, "import", t0)
		if err := s.repo.Add(ctx, in(projectB), op); err == nil {
			t.Fatal("add under the wrong scope succeeded")
		}
		for _, p := range []kernel.ProjectID{projectA, projectB} {
			if _, err := s.repo.Get(ctx, in(p), op.ID()); !errors.Is(err, operation.ErrNotFound) {
				t.Fatalf("the refused operation was stored: %v", err)
			}
		}
		if n := opSequenceAll(t, s, 10); n != 0 {
			t.Fatalf("the refused operation left %d events", n)
		}
	}},
	{"add stores the created event with the operation", func(t *testing.T, s operationStore) {
		op := newOp(t, projectA, "import", t0)
		want := op.State()
		addOp(t, s, op)
		if n := opSequenceAll(t, s, 10); n != 1 {
			t.Fatalf("sequenced %d events, want 1", n)
		}
		evs, err := s.log.Read(ctx, in(projectA), nil, 0, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("read = %d events, %v", len(evs), err)
		}
		e := evs[0]
		if e.Seq != 1 || e.Type != operation.EventCreated || e.Project != projectA || e.Operation != op.ID() || !e.At.Equal(t0) || e.At.Location() != time.UTC {
			t.Fatalf("event = %+v", e)
		}
		opCheckState(t, e.State, want)
	}},
	{"list pages newest first with no gaps or duplicates, ties broken by id", func(t *testing.T, s operationStore) {
		want := map[operation.ID]bool{}
		for i := range 11 {
			op := addOp(t, s, newOp(t, projectA, fmt.Sprintf("k%02d", i), t0.Add(time.Duration(i/2)*time.Second)))
			want[op.ID()] = true
		}
		addOp(t, s, newOp(t, projectB, "other", t0.Add(time.Hour)))
		seen := allPages(t, 3, func(after *kernel.Cursor) ([]*operation.Operation, *kernel.Cursor, error) {
			page, err := s.repo.List(ctx, in(projectA), ports.ListQuery{Limit: 3, After: after})
			return page.Items, page.Next, err
		})
		assertNewestFirstOnce(t, seen, want)
	}},
	{"list filters by status and pages within the filter", func(t *testing.T, s operationStore) {
		var running []operation.ID
		for i := range 7 {
			op := addOp(t, s, newOp(t, projectA, fmt.Sprintf("k%d", i), t0.Add(time.Duration(i)*time.Minute)))
			if i%2 == 0 {
				opReport(t, s, op, operation.Report{Percent: i}, t0.Add(time.Hour))
				running = append([]operation.ID{op.ID()}, running...) // newest first
			}
		}
		other := addOp(t, s, newOp(t, projectB, "other", t0))
		opReport(t, s, other, operation.Report{Percent: 1}, t0.Add(time.Hour))
		listed := allPages(t, 2, func(after *kernel.Cursor) ([]*operation.Operation, *kernel.Cursor, error) {
			page, err := s.repo.List(ctx, in(projectA), ports.ListQuery{Limit: 2, Status: opPtr(operation.StatusRunning), After: after})
			return page.Items, page.Next, err
		})
		var got []operation.ID
		for _, op := range listed {
			if op.Status() != operation.StatusRunning {
				t.Fatalf("filter let through a %s operation", op.Status())
			}
			got = append(got, op.ID())
		}
		if !slices.Equal(got, running) {
			t.Fatalf("running operations listed as %v, want %v", got, running)
		}
		page, err := s.repo.List(ctx, in(projectA), ports.ListQuery{Limit: 10, Status: opPtr(operation.StatusCancelled)})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("cancelled list = %d items, %v", len(page.Items), err)
		}
	}},
	{"count by status counts the project's operations", func(t *testing.T, s operationStore) {
		for i := range 5 {
			op := addOp(t, s, newOp(t, projectA, "k", t0))
			switch i {
			case 0, 1:
				opReport(t, s, op, operation.Report{Percent: 5}, t0)
			case 2:
				if _, err := s.repo.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error { return o.Cancel(t0) }); err != nil {
					t.Fatal(err)
				}
			}
		}
		addOp(t, s, newOp(t, projectB, "k", t0))
		counts, err := s.repo.CountByStatus(ctx, in(projectA))
		if err != nil {
			t.Fatal(err)
		}
		want := map[operation.Status]int64{operation.StatusPending: 2, operation.StatusRunning: 2, operation.StatusCancelled: 1}
		for _, st := range operation.Statuses {
			if counts[st] != want[st] {
				t.Fatalf("counts = %v, want %v", counts, want)
			}
		}
	}},
	{"update stores fn's change and events; a failing fn stores nothing", func(t *testing.T, s operationStore) {
		op := addOp(t, s, newOp(t, projectA, "import", t0))
		opReport(t, s, op, operation.Report{Percent: 30}, t0.Add(time.Second))
		boom := errors.New("boom")
		_, err := s.repo.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
			if err := o.Apply(operation.Report{Percent: 90}, t0.Add(time.Minute)); err != nil {
				t.Error(err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("update with failing fn = %v", err)
		}
		_, err = s.repo.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
			return o.Apply(operation.Report{Percent: 10}, t0.Add(time.Minute))
		})
		if !errors.Is(err, operation.ErrProgressBackwards) || kernel.KindOf(err) != kernel.KindConflict {
			t.Fatalf("update with a refused report = %v (kind %v)", err, kernel.KindOf(err))
		}
		got, err := s.repo.Get(ctx, in(projectA), op.ID())
		if err != nil || got.Percent() != 30 || !got.UpdatedAt().Equal(t0.Add(time.Second)) {
			t.Fatalf("stored = %+v, %v", got, err)
		}
		if n := opSequenceAll(t, s, 10); n != 2 {
			t.Fatalf("sequenced %d events, want created and one progress", n)
		}
		evs, _ := s.log.Read(ctx, in(projectA), nil, 0, 10)
		if len(evs) != 2 || evs[0].Type != operation.EventCreated || evs[1].Type != operation.EventProgress ||
			evs[1].State.Percent != 30 || evs[1].State.Status != operation.StatusRunning || !evs[1].At.Equal(t0.Add(time.Second)) {
			t.Fatalf("events = %+v", evs)
		}
	}},
	{"events are sequenced in acceptance order with increasing seqs", func(t *testing.T, s operationStore) {
		type accepted struct {
			op      operation.ID
			typ     operation.EventType
			percent int
		}
		var want []accepted
		a := addOp(t, s, newOp(t, projectA, "a", t0))
		want = append(want, accepted{a.ID(), operation.EventCreated, 0})
		b := addOp(t, s, newOp(t, projectB, "b", t0))
		want = append(want, accepted{b.ID(), operation.EventCreated, 0})
		for i := 1; i <= 3; i++ {
			opReport(t, s, b, operation.Report{Percent: i * 10}, t0.Add(time.Duration(i)*time.Second))
			want = append(want, accepted{b.ID(), operation.EventProgress, i * 10})
			opReport(t, s, a, operation.Report{Percent: i * 20}, t0.Add(time.Duration(i)*time.Second))
			want = append(want, accepted{a.ID(), operation.EventProgress, i * 20})
		}
		opReport(t, s, a, operation.Report{Percent: 100, Status: opPtr(operation.StatusSucceeded), Result: []byte(`{"n":1}`)}, t0.Add(time.Minute))
		want = append(want, accepted{a.ID(), operation.EventSucceeded, 100})
		if n := opSequenceAll(t, s, 3); n != len(want) {
			t.Fatalf("sequenced %d events, want %d", n, len(want))
		}
		evs := opReadAll(t, s, 0)
		if len(evs) != len(want) {
			t.Fatalf("log holds %d events, want %d", len(evs), len(want))
		}
		opCheckIncreasing(t, evs)
		for i, e := range evs {
			w := want[i]
			if e.Operation != w.op || e.Type != w.typ || e.State.Percent != w.percent || e.State.ID != w.op {
				t.Fatalf("event %d = %s %s %d%%, want %s %s %d%%", i, e.Operation, e.Type, e.State.Percent, w.op, w.typ, w.percent)
			}
		}
		last := evs[len(evs)-1]
		if !last.Type.Terminal() || !opSameJSON(last.State.Result, []byte(`{"n":1}`)) {
			t.Fatalf("succeeded event = %+v (result %s)", last, last.State.Result)
		}
		if n := opSequenceAll(t, s, 3); n != 0 {
			t.Fatalf("a second pass sequenced %d events again", n)
		}
	}},
	{"read is scoped to the project and the operation, after a seq, up to a limit", func(t *testing.T, s operationStore) {
		a1 := addOp(t, s, newOp(t, projectA, "a1", t0))
		a2 := addOp(t, s, newOp(t, projectA, "a2", t0))
		b1 := addOp(t, s, newOp(t, projectB, "b1", t0))
		for i := 1; i <= 2; i++ {
			for _, op := range []*operation.Operation{a1, a2, b1} {
				opReport(t, s, op, operation.Report{Percent: i}, t0)
			}
		}
		opSequenceAll(t, s, 100)
		check := func(p kernel.ProjectID, op *operation.ID, after int64, limit int, wantN int) []operation.Recorded {
			t.Helper()
			evs, err := s.log.Read(ctx, in(p), op, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != wantN {
				t.Fatalf("read(%s, %v, %d, %d) = %d events, want %d", p, op, after, limit, len(evs), wantN)
			}
			opCheckIncreasing(t, evs)
			for _, e := range evs {
				if e.Project != p || e.State.Project != p || (op != nil && e.Operation != *op) || e.Seq <= after {
					t.Fatalf("read(%s, %v, %d) returned %+v", p, op, after, e)
				}
			}
			return evs
		}
		all := check(projectA, nil, 0, 100, 6)
		check(projectA, nil, 0, 4, 4)
		check(projectA, nil, all[2].Seq, 100, 3)
		id := a2.ID()
		ofA2 := check(projectA, &id, 0, 100, 3)
		check(projectA, &id, ofA2[0].Seq, 100, 2)
		check(projectA, &id, 0, 1, 1)
		check(projectB, nil, 0, 100, 3)
		check(projectB, &id, 0, 100, 0)

		last, err := s.log.LastSeq(ctx, in(projectA), nil)
		if err != nil || last != all[len(all)-1].Seq {
			t.Fatalf("last seq of A = %d, %v; want %d", last, err, all[len(all)-1].Seq)
		}
		last, err = s.log.LastSeq(ctx, in(projectA), &id)
		if err != nil || last != ofA2[len(ofA2)-1].Seq {
			t.Fatalf("last seq of a2 = %d, %v; want %d", last, err, ofA2[len(ofA2)-1].Seq)
		}
		other := operation.IDFrom(uuid.New())
		if last, err := s.log.LastSeq(ctx, in(projectA), &other); err != nil || last != 0 {
			t.Fatalf("last seq of an operation without events = %d, %v", last, err)
		}
		unknown := kernel.ProjectIDFrom(uuid.New())
		if last, err := s.log.LastSeq(ctx, in(unknown), nil); err != nil || last != 0 {
			t.Fatalf("last seq of a project without events = %d, %v", last, err)
		}
	}},
	{"unpublished, mark published, read all and head follow the watermark", func(t *testing.T, s operationStore) {
		if head, err := s.relay.Head(ctx); err != nil || head != 0 {
			t.Fatalf("head of an empty log = %d, %v", head, err)
		}
		for _, p := range []kernel.ProjectID{projectA, projectB, projectA} {
			addOp(t, s, newOp(t, p, "k", t0))
		}
		if evs, err := s.relay.Unpublished(ctx, 10); err != nil || len(evs) != 0 {
			t.Fatalf("unpublished before sequencing = %d, %v", len(evs), err)
		}
		opSequenceAll(t, s, 10)
		unpublished := func(limit int) []int64 {
			t.Helper()
			evs, err := s.relay.Unpublished(ctx, limit)
			if err != nil {
				t.Fatal(err)
			}
			return opSeqs(evs)
		}
		if got := unpublished(10); !slices.Equal(got, []int64{1, 2, 3}) {
			t.Fatalf("unpublished = %v", got)
		}
		if got := unpublished(2); !slices.Equal(got, []int64{1, 2}) {
			t.Fatalf("unpublished(2) = %v", got)
		}
		mark := func(seq int64) {
			t.Helper()
			if err := s.relay.MarkPublished(ctx, 1, seq); err != nil {
				t.Fatal(err)
			}
		}
		mark(2)
		if got := unpublished(10); !slices.Equal(got, []int64{3}) {
			t.Fatalf("unpublished after marking 2 = %v", got)
		}
		mark(1)
		if got := unpublished(10); !slices.Equal(got, []int64{3}) {
			t.Fatalf("marking 1 after 2 lowered the watermark: unpublished = %v", got)
		}
		mark(3)
		if got := unpublished(10); len(got) != 0 {
			t.Fatalf("unpublished after marking all = %v", got)
		}
		if got := opSeqs(opReadAll(t, s, 1)); !slices.Equal(got, []int64{2, 3}) {
			t.Fatalf("read all after 1 = %v", got)
		}
		evs, err := s.relay.ReadAll(ctx, 0, 2)
		if err != nil || !slices.Equal(opSeqs(evs), []int64{1, 2}) || evs[1].Project != projectB {
			t.Fatalf("read all(0, 2) = %v, %v", opSeqs(evs), err)
		}
		if head, err := s.relay.Head(ctx); err != nil || head != 3 {
			t.Fatalf("head = %d, %v", head, err)
		}
	}},
	{"prune deletes only published events older than the cut and raises the horizon", func(t *testing.T, s operationStore) {
		for i := range 4 {
			addOp(t, s, newOp(t, projectA, "k", t0.Add(time.Duration(i)*time.Minute)))
		}
		opSequenceAll(t, s, 10)
		if h, err := s.log.Horizon(ctx); err != nil || h != 0 {
			t.Fatalf("horizon before pruning = %d, %v", h, err)
		}
		prune := func(before time.Time, want int64) {
			t.Helper()
			n, err := s.relay.Prune(ctx, before)
			if err != nil || n != want {
				t.Fatalf("prune(%v) = %d, %v; want %d", before, n, err, want)
			}
		}
		prune(t0.Add(time.Hour), 0) // nothing is published yet
		if err := s.relay.MarkPublished(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		prune(t0.Add(time.Hour), 2)
		if got := opSeqs(opReadAll(t, s, 0)); !slices.Equal(got, []int64{3, 4}) {
			t.Fatalf("log after pruning = %v", got)
		}
		if h, err := s.log.Horizon(ctx); err != nil || h != 2 {
			t.Fatalf("horizon = %d, %v; want 2", h, err)
		}
		if err := s.relay.MarkPublished(ctx, 3, 4); err != nil {
			t.Fatal(err)
		}
		prune(t0.Add(2*time.Minute), 0) // seq 3 was accepted at exactly the cut: not before it
		prune(t0.Add(2*time.Minute+time.Microsecond), 1)
		if got := opSeqs(opReadAll(t, s, 0)); !slices.Equal(got, []int64{4}) {
			t.Fatalf("log after the second prune = %v", got)
		}
		if h, _ := s.log.Horizon(ctx); h != 3 {
			t.Fatalf("horizon = %d; want 3", h)
		}
		evs, err := s.log.Read(ctx, in(projectA), nil, 0, 10)
		if err != nil || !slices.Equal(opSeqs(evs), []int64{4}) {
			t.Fatalf("project read after pruning = %v, %v", opSeqs(evs), err)
		}
	}},
	{"seqs keep increasing after pruning empties the log", func(t *testing.T, s operationStore) {
		for range 3 {
			addOp(t, s, newOp(t, projectA, "k", t0))
		}
		opSequenceAll(t, s, 10)
		if err := s.relay.MarkPublished(ctx, 1, 3); err != nil {
			t.Fatal(err)
		}
		if n, err := s.relay.Prune(ctx, t0.Add(time.Hour)); err != nil || n != 3 {
			t.Fatalf("prune = %d, %v", n, err)
		}
		if evs := opReadAll(t, s, 0); len(evs) != 0 {
			t.Fatalf("log not empty: %v", opSeqs(evs))
		}
		if head, err := s.relay.Head(ctx); err != nil || head != 3 {
			t.Fatalf("head of the emptied log = %d, %v; want 3", head, err)
		}
		if h, err := s.log.Horizon(ctx); err != nil || h != 3 {
			t.Fatalf("horizon = %d, %v; want 3", h, err)
		}
		if last, err := s.log.LastSeq(ctx, in(projectA), nil); err != nil || last != 0 {
			t.Fatalf("last seq of a pruned project = %d, %v", last, err)
		}
		addOp(t, s, newOp(t, projectA, "k", t0.Add(2*time.Hour)))
		addOp(t, s, newOp(t, projectB, "k", t0.Add(2*time.Hour)))
		opSequenceAll(t, s, 10)
		if got := opSeqs(opReadAll(t, s, 0)); !slices.Equal(got, []int64{4, 5}) {
			t.Fatalf("seqs after the log was emptied = %v, want [4 5]", got)
		}
		if got, _ := s.relay.Unpublished(ctx, 10); !slices.Equal(opSeqs(got), []int64{4, 5}) {
			t.Fatalf("unpublished = %v", opSeqs(got))
		}
	}},
	{"oldest unpublished covers the outbox and the unpublished log", func(t *testing.T, s operationStore) {
		oldest := func(wantOK bool, want time.Time) {
			t.Helper()
			at, ok, err := s.relay.OldestUnpublished(ctx)
			if err != nil || ok != wantOK || (ok && !at.Equal(want)) {
				t.Fatalf("oldest unpublished = %v, %v, %v; want %v, %v", at, ok, err, want, wantOK)
			}
			if ok && at.Location() != time.UTC {
				t.Fatalf("oldest unpublished in %v, want UTC", at.Location())
			}
		}
		oldest(false, time.Time{})
		addOp(t, s, newOp(t, projectA, "k", t0.Add(time.Minute)))
		addOp(t, s, newOp(t, projectB, "k", t0)) // accepted later, but happened earlier
		oldest(true, t0)
		opSequenceAll(t, s, 10)
		oldest(true, t0)
		if err := s.relay.MarkPublished(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		oldest(true, t0)
		if err := s.relay.MarkPublished(ctx, 2, 2); err != nil {
			t.Fatal(err)
		}
		oldest(false, time.Time{})
		addOp(t, s, newOp(t, projectA, "k", t0.Add(time.Hour)))
		oldest(true, t0.Add(time.Hour))
	}},
	{"concurrent updates of one operation are sequenced in the order they were applied", func(t *testing.T, s operationStore) {
		op := addOp(t, s, newOp(t, projectA, "race", t0))
		const writers, each = 6, 5
		stop := make(chan struct{})
		relayDone := make(chan error, 1)
		go func() { // the relay sequences while the writers write
			for {
				select {
				case <-stop:
					relayDone <- nil
					return
				default:
				}
				_, err := s.relay.Sequence(ctx, 2, ports.Range{})
				if err != nil {
					relayDone <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for range writers {
			wg.Go(func() {
				for range each {
					_, err := s.repo.Update(ctx, in(projectA), op.ID(), func(o *operation.Operation) error {
						return o.Apply(operation.Report{Percent: o.Percent() + 1}, t0)
					})
					errs <- err
				}
			})
		}
		wg.Wait()
		close(stop)
		if err := <-relayDone; err != nil {
			t.Fatal(err)
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		opSequenceAll(t, s, 7)
		id := op.ID()
		evs, err := s.log.Read(ctx, in(projectA), &id, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1+writers*each {
			t.Fatalf("%d events, want %d", len(evs), 1+writers*each)
		}
		opCheckIncreasing(t, evs)
		for i, e := range evs {
			if e.State.Percent != i {
				t.Fatalf("event %d (seq %d) carries %d%%: events are out of order or updates were lost; percents by seq: %v",
					i, e.Seq, e.State.Percent, opPercents(evs))
			}
		}
		got, err := s.repo.Get(ctx, in(projectA), op.ID())
		if err != nil || got.Percent() != writers*each {
			t.Fatalf("final percent = %v, %v; want %d", got, err, writers*each)
		}
	}},
	{"unsequenced tells whether an operation's events wait in the outbox", func(t *testing.T, s operationStore) {
		op := addOp(t, s, newOp(t, projectA, "import", t0))
		other := addOp(t, s, newOp(t, projectA, "import", t0))
		waiting := func(access kernel.ProjectAccess, id operation.ID) bool {
			t.Helper()
			w, err := s.log.Unsequenced(ctx, access, id)
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		if !waiting(in(projectA), op.ID()) || waiting(in(projectB), op.ID()) {
			t.Fatal("a new operation's created event waits, and only in its own project")
		}
		opSequenceAll(t, s, 10)
		if waiting(in(projectA), op.ID()) || waiting(in(projectA), other.ID()) {
			t.Fatal("numbered events still wait")
		}
		opReport(t, s, other, operation.Report{Percent: 5}, t0.Add(time.Second))
		if waiting(in(projectA), op.ID()) || !waiting(in(projectA), other.ID()) {
			t.Fatal("a report waits for its own operation only")
		}
	}},
	{"two instances numbering at once give every event one number, without gaps", func(t *testing.T, s operationStore) {
		other, otherDB := s.instance(t)
		const ops = 120
		for range ops {
			addOp(t, s, newOp(t, projectA, "k", t0))
		}
		var mu sync.Mutex
		var got []operation.Recorded
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, relay := range []ports.RelayStore{s.relay, other} {
			wg.Go(func() {
				for {
					n, err := relay.Sequence(ctx, 7, ports.Range{})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					got = append(got, n.Events...)
					mu.Unlock()
					if len(n.Events) == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b operation.Recorded) int { return int(a.Seq - b.Seq) })
		ids := map[operation.ID]bool{}
		for i, ev := range got {
			if ev.Seq != int64(i+1) || ids[ev.Operation] {
				t.Fatalf("event %d has seq %d (operation seen before: %v): numbers must be 1..%d, each once", i, ev.Seq, ids[ev.Operation], ops)
			}
			ids[ev.Operation] = true
		}
		if len(got) != ops {
			t.Fatalf("numbered %d events, want %d", len(got), ops)
		}
		if otherDB != nil {
			if inUse := otherDB.Stats().InUse; inUse != 0 {
				t.Fatalf("numbering keeps %d connections", inUse)
			}
		}
		// The watermark covers a contiguous published range only.
		if err := s.relay.MarkPublished(ctx, 3, 5); err != nil {
			t.Fatal(err)
		}
		if evs, _ := s.relay.Unpublished(ctx, 1); len(evs) != 1 || evs[0].Seq != 1 {
			t.Fatalf("marking 3..5 before 1..2 moved the watermark: unpublished starts at %v", opSeqs(evs))
		}
		if err := s.relay.MarkPublished(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.relay.MarkPublished(ctx, 3, 5); err != nil {
			t.Fatal(err)
		}
		if evs, _ := s.relay.Unpublished(ctx, 1); len(evs) != 1 || evs[0].Seq != 6 {
			t.Fatalf("after 1..2 and 3..5 unpublished starts at %v, want 6", opSeqs(evs))
		}
		if n, err := s.relay.Sequence(ctx, 7, ports.Range{}); err != nil || !n.Backlog || len(n.Events) != 0 {
			t.Fatalf("with 6.. unpublished, sequence says backlog=%v (%d events, %v)", n.Backlog, len(n.Events), err)
		}
	}},
}

func opPercents(evs []operation.Recorded) []int {
	out := make([]int, len(evs))
	for i, e := range evs {
		out[i] = e.State.Percent
	}
	return out
}
