package streaming

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

func TestProjectStreamOpensWithTheLoggedStateThenGoesLive(t *testing.T) {
	w := newWorld(t, 16, 8)
	running, done := w.create(inA), w.create(inA)
	w.report(inA, running, percent(30))
	w.report(inA, done, operation.Report{Percent: 100, Status: ptr(operation.StatusCancelled)})
	w.publish() // 1..4
	w.report(inA, running, percent(40))
	// 40 is accepted but not numbered: the snapshot must not show it.
	st, err := w.streams.Open(ctx, inA, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	init := st.Initial()
	if len(init) != 1 || init[0].Event != MessageSnapshot || init[0].ID != 4 || len(init[0].Operations) != 1 ||
		init[0].Operations[0].ID != running.ID() || init[0].Operations[0].Percent != 30 {
		t.Fatalf("initial %+v", init)
	}
	w.publish() // 5: the report of 40 arrives live
	select {
	case <-st.Ready():
	case <-time.After(time.Second):
		t.Fatal("no live event")
	}
	if evs, ended := st.Take(); ended || !equal(seqs(evs), []int64{5}) || evs[0].State.Percent != 40 {
		t.Fatalf("live %v ended=%v", seqs(evs), ended)
	}
	// Another project's events never reach it.
	other := w.create(inB)
	w.report(inB, other, percent(1))
	w.publish()
	if evs, _ := st.Take(); len(evs) != 0 {
		t.Fatalf("project B's events reached project A's stream: %v", seqs(evs))
	}
}

// TestOperationStreamWaitsForTheRelayToNumberANewOperation: an operation
// whose events all wait in the outbox opens with the state they lead to,
// once the relay (woken by the opening) has numbered them, and none of
// them arrives again live.
func TestOperationStreamWaitsForTheRelayToNumberANewOperation(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	w.report(inA, op, percent(40))
	w.onWake = func() { w.publish() }
	st, err := w.streams.Open(ctx, inA, ptr(op.ID()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	init := st.Initial()
	if w.woken == 0 || len(init) != 1 || init[0].Event != MessageSnapshot || init[0].ID != 2 || init[0].Operation.Percent != 40 {
		t.Fatalf("woken %d, initial %+v", w.woken, init)
	}
	if evs, _ := st.Take(); len(evs) != 0 {
		t.Fatalf("events the snapshot covers arrived live: %v", seqs(evs))
	}
}

// TestOperationStreamWaitsForNumberingEvenWithoutTheBus: with the bus
// down the relay still numbers events; the opening finds them by looking
// again.
func TestOperationStreamWaitsForNumberingEvenWithoutTheBus(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	w.onWake = func() {
		if w.woken == 3 { // the relay gets to it on its third wake-up
			w.sequence()
		}
	}
	st, err := w.streams.Open(ctx, inA, ptr(op.ID()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if init := st.Initial(); len(init) != 1 || init[0].ID != 1 || init[0].Operation.Status != operation.StatusPending {
		t.Fatalf("initial %+v", init)
	}
}

func TestOperationStreamGivesUpAtTheDeadlineWhenNothingIsNumbered(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := w.streams.Open(short, inA, ptr(op.ID()), nil); kernel.KindOf(err) != kernel.KindUnavailable {
		t.Fatalf("a relay that never numbers: %v, want unavailable", err)
	}
	if w.hub.Connected(projA) != 0 {
		t.Fatal("a failed opening left its subscription behind")
	}
}

func TestOperationStreamOfAPrunedHistoryShowsTheStoredState(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	w.report(inA, op, percent(70))
	evs := w.publish()
	if err := w.log.MarkPublished(ctx, evs[0].Seq, evs[len(evs)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if n, err := w.log.Prune(ctx, t0.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("prune: %d %v", n, err)
	}
	st, err := w.streams.Open(ctx, inA, ptr(op.ID()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if init := st.Initial(); len(init) != 1 || init[0].Operation.Percent != 70 || init[0].ID != 0 {
		t.Fatalf("initial %+v", init)
	}
	// A resume from before the horizon is told the history expired.
	res, err := w.streams.Open(ctx, inA, ptr(op.ID()), ptr(int64(0)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if init := res.Initial(); len(init) != 2 || init[0].Event != MessageHistoryExpired || init[1].Event != MessageSnapshot || init[0].ID != init[1].ID {
		t.Fatalf("resume below the horizon %+v", init)
	}
}

func TestResumeSendsWhatWasMissedAndEndsFinishedOperations(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	w.report(inA, op, percent(10))
	w.report(inA, op, percent(20))
	w.report(inA, op, operation.Report{Percent: 100, Status: ptr(operation.StatusSucceeded)})
	w.publish() // 1..4
	st, err := w.streams.Open(ctx, inA, ptr(op.ID()), ptr(int64(2)))
	if err != nil {
		t.Fatal(err)
	}
	init := st.Initial()
	if !st.Finished() || len(init) != 2 || init[0].ID != 3 || init[1].ID != 4 || init[1].Event != string(operation.EventSucceeded) {
		t.Fatalf("resume after 2: finished=%v %+v", st.Finished(), init)
	}
	// Resumed after its terminal event: nothing left to say.
	st, err = w.streams.Open(ctx, inA, ptr(op.ID()), ptr(int64(4)))
	if err != nil || !st.Finished() || len(st.Initial()) != 0 {
		t.Fatalf("resume after the end: %v finished=%v %+v", err, st.Finished(), st.Initial())
	}
	// An id this log never issued is treated like a pruned one.
	st, err = w.streams.Open(ctx, inA, nil, ptr(int64(99)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if init := st.Initial(); len(init) != 2 || init[0].Event != MessageHistoryExpired || init[1].ID != 4 {
		t.Fatalf("resume after a forged id %+v", init)
	}
	if w.hub.Connected(projA) != 1 {
		t.Fatalf("finished streams stay subscribed: %d", w.hub.Connected(projA))
	}
}

func TestStreamsNeedAnAccessAndAnOperationOfTheProject(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	if _, err := w.streams.Open(ctx, kernel.ProjectAccess{}, nil, nil); err == nil || kernel.KindOf(err) != kernel.KindUnknown {
		t.Fatalf("no access: %v", err)
	}
	if _, err := w.streams.Open(ctx, inB, ptr(op.ID()), nil); !errors.Is(err, operation.ErrNotFound) {
		t.Fatalf("project A's operation through project B: %v", err)
	}
	if _, err := w.streams.Issue(ctx, inB, ptr(op.ID()), time.Time{}); !errors.Is(err, operation.ErrNotFound) {
		t.Fatalf("a ticket for project A's operation through project B: %v", err)
	}
	if _, err := w.streams.Issue(ctx, kernel.ProjectAccess{}, nil, time.Time{}); err == nil {
		t.Fatal("a ticket without an access")
	}
}

func TestTicketsWorkOnceAndExpire(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	tokenExp := t0.Add(20 * time.Second)
	issued, err := w.streams.Issue(ctx, inA, ptr(op.ID()), tokenExp)
	if err != nil {
		t.Fatal(err)
	}
	code, ticket := issued.TicketCode, issued.Ticket
	if len(code) < 40 || ticket.Subject != alice || ticket.Project != projA || *ticket.Operation != op.ID() ||
		!ticket.ExpiresAt.Equal(tokenExp) || !ticket.TokenExpiresAt.Equal(tokenExp) {
		t.Fatalf("ticket %q %+v: it must expire with the token when that comes first", code, ticket)
	}
	got, err := w.streams.RedeemTicket(ctx, code)
	if err != nil || got.Subject != alice || *got.Operation != op.ID() {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	if _, err := w.streams.RedeemTicket(ctx, code); !errors.Is(err, operation.ErrTicketInvalid) {
		t.Fatalf("second redemption: %v", err)
	}
	issued, _ = w.streams.Issue(ctx, inA, nil, time.Time{})
	code, ticket = issued.TicketCode, issued.Ticket
	if !ticket.ExpiresAt.Equal(t0.Add(time.Minute)) || ticket.Operation != nil {
		t.Fatalf("project ticket %+v", ticket)
	}
	w.clock.Advance(time.Minute)
	if _, err := w.streams.RedeemTicket(ctx, code); !errors.Is(err, operation.ErrTicketInvalid) {
		t.Fatalf("expired ticket: %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("x", 129), "never-issued"} {
		if _, err := w.streams.RedeemTicket(ctx, bad); !errors.Is(err, operation.ErrTicketInvalid) {
			t.Errorf("code %q: %v", bad, err)
		}
	}
}

// racingLog numbers and publishes what waits just before it is asked
// whether anything waits: the relay winning the race with an opening.
type racingLog struct {
	*memoperation.EventLog
	w *world
}

func (r racingLog) Unsequenced(ctx context.Context, access kernel.ProjectAccess, op operation.ID) (bool, error) {
	r.w.publish() //nolint:contextcheck // the world uses its own background context, as the relay would
	return r.EventLog.Unsequenced(ctx, access, op)
}

// TestOperationStreamOpeningLosesTheRaceWithTheRelay: events numbered
// between the opening's read of the log and its look at the outbox are
// in the snapshot, not sent again live.
func TestOperationStreamOpeningLosesTheRaceWithTheRelay(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	w.report(inA, op, percent(30))
	w.streams = NewStreams(Deps{Hub: w.hub, Repo: w.repo, Log: racingLog{EventLog: w.log, w: w}, Tickets: memoperation.NewTicketStore(),
		Trigger: triggerFunc(func() {}), Clock: w.clock, Gate: w.gate, Recheck: time.Second}, Lifetimes{Ticket: time.Minute, Pass: 15 * time.Minute})
	st, err := w.streams.Open(ctx, inA, ptr(op.ID()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if init := st.Initial(); len(init) != 1 || init[0].ID != 2 || init[0].Operation.Percent != 30 {
		t.Fatalf("initial %+v", init)
	}
	if evs, _ := st.Take(); len(evs) != 0 {
		t.Fatalf("events the snapshot covers arrived again live: %v", seqs(evs))
	}
}

// TestAResumeAfterTheLastNumberedEventWaitsForATerminalOneInTheOutbox: an
// operation that finished while its terminal event waits for the relay is
// not "finished, nothing more to say" to a client resuming at the last
// numbered event: its stream stays open and gets the terminal event.
func TestAResumeAfterTheLastNumberedEventWaitsForATerminalOneInTheOutbox(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	w.report(inA, op, percent(30))
	numbered := w.publish()
	last := numbered[len(numbered)-1].Seq
	w.report(inA, op, operation.Report{Percent: 100, Status: ptr(operation.StatusSucceeded)})
	st, err := w.streams.Open(ctx, inA, ptr(op.ID()), &last)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Finished() {
		t.Fatal("the stream ended before the terminal event in the outbox was numbered")
	}
	w.publish()
	evs, _ := st.Take()
	if len(evs) != 1 || !evs[0].Type.Terminal() {
		t.Fatalf("after the relay: %v", seqs(evs))
	}
}

// TestPassesOpenTheirStreamUntilTheyExpireAndRenewWithEachUse: a pass is
// not a ticket (neither works as the other), opens only its own stream,
// works again and again, is renewed by each use but never beyond the
// token, and expires when it is not used for a pass lifetime.
func TestPassesOpenTheirStreamUntilTheyExpireAndRenewWithEachUse(t *testing.T) {
	w := newWorld(t, 16, 8)
	op := w.create(inA)
	tokenExp := t0.Add(40 * time.Minute)
	issued, err := w.streams.Issue(ctx, inA, ptr(op.ID()), tokenExp)
	if err != nil {
		t.Fatal(err)
	}
	if issued.PassCode == issued.TicketCode || len(issued.PassCode) < 40 || !issued.Pass.Pass || issued.Ticket.Pass ||
		!issued.Pass.ExpiresAt.Equal(t0.Add(15*time.Minute)) || *issued.Pass.Operation != op.ID() || issued.Pass.Subject != alice {
		t.Fatalf("issued %+v: a pass with its own code, for the stream, for the pass lifetime", issued)
	}
	ours := func(p kernel.ProjectID, o *operation.ID) bool { return p == projA && o != nil && *o == op.ID() }
	other := func(p kernel.ProjectID, o *operation.ID) bool { return o == nil }
	if _, err := w.streams.PresentPass(ctx, issued.PassCode, other); !errors.Is(err, operation.ErrPassInvalid) {
		t.Fatalf("the pass on another stream: %v", err)
	}
	if _, err := w.streams.PresentPass(ctx, issued.TicketCode, ours); !errors.Is(err, operation.ErrPassInvalid) {
		t.Fatalf("a ticket presented as a pass: %v", err)
	}
	if _, err := w.streams.RedeemTicket(ctx, issued.PassCode); !errors.Is(err, operation.ErrTicketInvalid) {
		t.Fatalf("a pass redeemed as a ticket: %v", err)
	}
	for i := range 3 { // reusable (redeeming it as a ticket did not use it up); each use renews it
		w.clock.Advance(10 * time.Minute)
		got, err := w.streams.PresentPass(ctx, issued.PassCode, ours)
		want := t0.Add(time.Duration(i+1)*10*time.Minute + 15*time.Minute)
		if want.After(tokenExp) {
			want = tokenExp
		}
		if err != nil || !got.ExpiresAt.Equal(want) || got.Subject != alice || !got.TokenExpiresAt.Equal(tokenExp) {
			t.Fatalf("use %d at +%v: %+v %v, want it renewed to %v", i+1, time.Duration(i+1)*10*time.Minute, got, err, want)
		}
	}
	w.clock.Advance(10 * time.Minute) // +40m: the token's expiry
	if _, err := w.streams.PresentPass(ctx, issued.PassCode, ours); !errors.Is(err, operation.ErrPassInvalid) {
		t.Fatalf("the pass after its token expired: %v", err)
	}
	// Unused for a lifetime, it lapses.
	issued, _ = w.streams.Issue(ctx, inA, nil, time.Time{})
	w.clock.Advance(15 * time.Minute)
	if _, err := w.streams.PresentPass(ctx, issued.PassCode, func(kernel.ProjectID, *operation.ID) bool { return true }); !errors.Is(err, operation.ErrPassInvalid) {
		t.Fatalf("a pass unused for its lifetime: %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("x", 129), "never-issued"} {
		if _, err := w.streams.PresentPass(ctx, bad, ours); !errors.Is(err, operation.ErrPassInvalid) {
			t.Errorf("code %q: %v", bad, err)
		}
	}
}

// TestNoTicketForATokenPastItsExpiry: a token the verifier still accepts
// (inside its leeway) but that has expired gets no ticket or pass, which
// would be born expired, but the token's own problem.
func TestNoTicketForATokenPastItsExpiry(t *testing.T) {
	w := newWorld(t, 16, 8)
	for _, exp := range []time.Time{t0, t0.Add(-time.Second)} {
		if _, err := w.streams.Issue(ctx, inA, nil, exp); !errors.Is(err, kernel.ErrTokenExpired) {
			t.Fatalf("token expired at %v, now %v: %v, want kernel.ErrTokenExpired", exp, t0, err)
		}
	}
}
