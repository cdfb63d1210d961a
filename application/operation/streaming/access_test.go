package streaming

import (
	"errors"
	"testing"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// TestAStreamEndsWhenItsCallerLosesTheProject: a removal on this instance
// closes Revoked at once; one elsewhere shows in StillAllowed, which also
// refuses a role that cannot read and gives a gate that cannot answer one
// more interval.
func TestAStreamEndsWhenItsCallerLosesTheProject(t *testing.T) {
	w := newWorld(t, 16, 8)
	st, err := w.streams.Open(ctx, inA, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.RecheckEvery() != time.Second {
		t.Fatalf("recheck every %v", st.RecheckEvery())
	}
	select {
	case <-st.Revoked():
		t.Fatal("revoked before anything happened")
	default:
	}
	if !st.StillAllowed(ctx) {
		t.Fatal("a member who may read is refused")
	}
	w.gate.answer(kernel.ReadProject, nil)
	if st.StillAllowed(ctx) {
		t.Fatal("an access that cannot read operations is still allowed")
	}
	w.gate.answer(kernel.AllPermissions, kernel.Unavailable("db.unavailable", "down", errors.New("x")))
	if !st.StillAllowed(ctx) {
		t.Fatal("one unanswered recheck ended the stream")
	}
	if st.StillAllowed(ctx) {
		t.Fatal("two unanswered rechecks in a row kept the stream")
	}
	w.gate.answer(kernel.AllPermissions, kernel.NotFound("project.not_found", "gone"))
	if st.StillAllowed(ctx) {
		t.Fatal("a caller who is no member any more is still allowed")
	}
	w.gate.revoke()
	select {
	case <-st.Revoked():
	default:
		t.Fatal("a removal on this instance did not close Revoked")
	}
	st.Close()
	if w.gate.stopped != 1 {
		t.Fatalf("close released the watch %d times, want 1", w.gate.stopped)
	}
}

func TestStreamsRefuseAnAccessThatCannotReadOperations(t *testing.T) {
	w := newWorld(t, 16, 8)
	viewerless := kernel.GrantProjectAccess(alice, projA, kernel.ReadProject)
	if _, err := w.streams.Open(ctx, viewerless, nil, nil); !errors.Is(err, kernel.ErrForbidden) {
		t.Fatalf("open = %v, want forbidden", err)
	}
	if _, err := w.streams.Issue(ctx, viewerless, nil, t0.Add(time.Hour)); !errors.Is(err, kernel.ErrForbidden) {
		t.Fatalf("issue = %v, want forbidden", err)
	}
}
