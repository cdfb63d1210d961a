package streaming

import (
	"errors"
	"testing"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// TestAStreamEndsWhenItsCallerLosesTheProject: a removal on this instance
// closes Revoked at once; one elsewhere shows at the recheck, which also
// refuses a role that cannot read and gives a gate that cannot answer one
// more interval.
func TestAStreamEndsWhenItsCallerLosesTheProject(t *testing.T) {
	w := newWorld(t, 16, 8)
	st, err := w.streams.Open(ctx, inA, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.watch.owner.every != time.Second {
		t.Fatalf("recheck every %v", st.watch.owner.every)
	}
	select {
	case <-st.Revoked():
		t.Fatal("revoked before anything happened")
	default:
	}
	if !st.watch.recheck() {
		t.Fatal("a member who may read is refused")
	}
	w.gate.answer(kernel.ReadProject, nil)
	if st.watch.recheck() {
		t.Fatal("an access that cannot read operations is still allowed")
	}
	w.gate.answer(kernel.AllPermissions, kernel.Unavailable("db.unavailable", "down", errors.New("x")))
	if !st.watch.recheck() {
		t.Fatal("one unanswered recheck ended the stream")
	}
	if st.watch.recheck() {
		t.Fatal("two unanswered rechecks in a row kept the stream")
	}
	w.gate.answer(kernel.AllPermissions, kernel.NotFound("project.not_found", "gone"))
	if st.watch.recheck() {
		t.Fatal("a caller who is no member any more is still allowed")
	}
	w.gate.revoke()
	waitClosed(t, st.Revoked(), "a removal on this instance did not close Revoked")
	st.Close()
	st.Close()
	eventually(t, func() bool { _, stopped, _ := w.gate.counts(); return stopped == 1 }, "the gate's watch was not released once")
}

// TestACallersStreamsShareOneRecheck: every stream a caller has open in a
// project waits on one watch, so the gate is asked once per interval for
// all of them, and the watch lives exactly as long as its last stream.
func TestACallersStreamsShareOneRecheck(t *testing.T) {
	w := newWorld(t, 16, 8)
	w.streams.watches = newWatches(w.gate, 5*time.Millisecond)
	var inA1 []*Stream
	for range 3 {
		st, err := w.streams.Open(ctx, inA, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		inA1 = append(inA1, st)
	}
	other, err := w.streams.Open(ctx, inB, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if watches, _, _ := w.gate.counts(); watches != 2 {
		t.Fatalf("the gate watches %d accesses for three streams in one project and one in another, want 2", watches)
	}
	if inA1[0].watch != inA1[2].watch || inA1[0].watch == other.watch {
		t.Fatal("streams of one caller and project do not share their watch, or share it across projects")
	}
	eventually(t, func() bool { _, _, r := w.gate.counts(); return r >= 20 }, "the watches do not recheck")
	w.gate.mu.Lock()
	before := w.gate.rechecks
	w.gate.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	_, _, after := w.gate.counts()
	// Two watches ticking every 5 ms ask about 20 times in 50 ms; four
	// streams on their own tickers would ask twice that.
	if asked := after - before; asked > 30 {
		t.Fatalf("asked the gate %d times in 50 ms for two watches every 5 ms", asked)
	}

	inA1[0].Close()
	inA1[1].Close()
	if _, stopped, _ := w.gate.counts(); stopped != 0 {
		t.Fatal("the watch stopped while a stream still holds it")
	}
	inA1[2].Close()
	eventually(t, func() bool { _, stopped, _ := w.gate.counts(); return stopped == 1 }, "the last stream's close did not stop its watch")

	// A refusal ends the other project's stream through its watch, and a
	// stream opened afterwards (granted again) starts a fresh one.
	w.gate.answer(kernel.AllPermissions, kernel.NotFound("project.not_found", "gone"))
	waitClosed(t, other.Revoked(), "a refused recheck did not end the stream")
	w.gate.answer(kernel.AllPermissions, nil)
	again, err := w.streams.Open(ctx, inB, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.watch == other.watch {
		t.Fatal("a stream opened after its caller's watch ended got the ended watch")
	}
	select {
	case <-again.Revoked():
		t.Fatal("a stream granted again starts revoked")
	default:
	}
	other.Close()
	again.Close()
	eventually(t, func() bool { _, stopped, _ := w.gate.counts(); return stopped == 3 }, "watches were not all released")
}

func waitClosed(t *testing.T, ch <-chan struct{}, failure string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal(failure)
	}
}

func eventually(t *testing.T, cond func() bool, failure string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal(failure)
		}
		time.Sleep(time.Millisecond)
	}
}
