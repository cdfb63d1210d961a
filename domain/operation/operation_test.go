package operation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func newOp(t *testing.T) *operation.Operation {
	t.Helper()
	op, err := operation.New(operation.IDFrom(uuid.Must(uuid.NewV7())), kernel.ProjectIDFrom(uuid.Must(uuid.NewV7())), " import ", "queued", t0)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func status(s operation.Status) *operation.Status { return &s }
func text(s string) *string                       { return &s }

func TestNewRecordsCreatedAndValidatesKind(t *testing.T) {
	op := newOp(t)
	if op.Kind() != "import" || op.Status() != operation.StatusPending || op.Percent() != 0 || op.Message() != "queued" {
		t.Fatalf("new operation %+v", op.State())
	}
	ev := op.PullEvents()
	if len(ev) != 1 || ev[0].Type != operation.EventCreated || ev[0].Operation != op.ID() || ev[0].Project != op.Project() || ev[0].State.Status != operation.StatusPending {
		t.Fatalf("created events %+v", ev)
	}
	if again := op.PullEvents(); len(again) != 0 {
		t.Fatalf("events pulled twice: %+v", again)
	}
	for _, kind := range []string{"", "Import", "1run", "has space", strings.Repeat("a", 65), "ünicode"} {
		_, err := operation.New(operation.IDFrom(uuid.New()), kernel.ProjectIDFrom(uuid.New()), kind, "", t0)
		if kernel.KindOf(err) != kernel.KindInvalid {
			t.Errorf("kind %q: %v", kind, err)
		}
	}
	for _, kind := range []string{"import", "agent.run", "a-b_c.9"} {
		if _, err := operation.New(operation.IDFrom(uuid.New()), kernel.ProjectIDFrom(uuid.New()), kind, "", t0); err != nil {
			t.Errorf("kind %q refused: %v", kind, err)
		}
	}
	if _, err := operation.New(operation.ID{}, kernel.ProjectIDFrom(uuid.New()), "x", "", t0); kernel.KindOf(err) != kernel.KindInvalid {
		t.Errorf("missing id: %v", err)
	}
	if _, err := operation.New(operation.IDFrom(uuid.New()), kernel.ProjectID{}, "x", "", t0); kernel.KindOf(err) != kernel.KindInvalid {
		t.Errorf("missing project: %v", err)
	}
}

func TestStateMachine(t *testing.T) {
	cases := []struct {
		name  string
		path  []operation.Status // statuses reported in order (nil-status reports are "")
		final operation.Status
		err   error
	}{
		{"first report starts it", []operation.Status{""}, operation.StatusRunning, nil},
		{"run then succeed", []operation.Status{operation.StatusRunning, operation.StatusSucceeded}, operation.StatusSucceeded, nil},
		{"run then fail", []operation.Status{operation.StatusRunning, operation.StatusFailed}, operation.StatusFailed, nil},
		{"run then cancel", []operation.Status{operation.StatusRunning, operation.StatusCancelled}, operation.StatusCancelled, nil},
		{"fail before running", []operation.Status{operation.StatusFailed}, operation.StatusFailed, nil},
		{"succeed before running", []operation.Status{operation.StatusSucceeded}, operation.StatusPending, operation.ErrIllegalTransition},
		{"back to pending", []operation.Status{operation.StatusRunning, operation.StatusPending}, operation.StatusRunning, operation.ErrIllegalTransition},
		{"after success", []operation.Status{operation.StatusRunning, operation.StatusSucceeded, operation.StatusRunning}, operation.StatusSucceeded, operation.ErrFinished},
		{"after failure", []operation.Status{operation.StatusFailed, ""}, operation.StatusFailed, operation.ErrFinished},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := newOp(t)
			op.PullEvents()
			var err error
			for i, st := range c.path {
				r := operation.Report{Percent: 10 * (i + 1)}
				if st != "" {
					r.Status = status(st)
				}
				if st == operation.StatusFailed {
					r.Error = "boom"
				}
				if err = op.Apply(r, t0.Add(time.Duration(i+1)*time.Second)); err != nil {
					break
				}
			}
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if op.Status() != c.final {
				t.Fatalf("status %s, want %s", op.Status(), c.final)
			}
		})
	}
}

func TestReportRules(t *testing.T) {
	op := newOp(t)
	op.PullEvents()
	if err := op.Apply(operation.Report{Percent: 40, Message: text("half")}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := op.Apply(operation.Report{Percent: 39}, t0.Add(2*time.Second)); !errors.Is(err, operation.ErrProgressBackwards) {
		t.Fatalf("progress down: %v", err)
	}
	for _, r := range []operation.Report{
		{Percent: 101}, {Percent: -1},
		{Percent: 50, Message: text(strings.Repeat("m", operation.MaxMessageLength+1))},
		{Percent: 50, Message: text("\xff")},
		{Percent: 50, Result: []byte(`{"a":1}`)},                                       // result without success
		{Percent: 50, Error: "why"},                                                    // error without failure
		{Percent: 100, Status: status(operation.StatusSucceeded), Result: []byte(`{`)}, // not JSON
		{Percent: 100, Status: status(operation.StatusSucceeded), Result: make([]byte, operation.MaxResultBytes+1)},
	} {
		if err := op.Apply(r, t0.Add(3*time.Second)); kernel.KindOf(err) != kernel.KindInvalid {
			t.Errorf("report %+v: %v", r, err)
		}
	}
	if op.Percent() != 40 || op.Message() != "half" || op.Status() != operation.StatusRunning || len(op.PullEvents()) != 1 {
		t.Fatalf("a refused report changed the operation: %+v", op.State())
	}
	// The same percent again is fine; a message-less report keeps the message.
	if err := op.Apply(operation.Report{Percent: 40}, t0.Add(4*time.Second)); err != nil || op.Message() != "half" {
		t.Fatalf("equal percent: %v %q", err, op.Message())
	}
	if err := op.Apply(operation.Report{Percent: 90, Status: status(operation.StatusSucceeded), Result: []byte(`{"rows":3}`)}, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if op.Percent() != 100 || string(op.Result()) != `{"rows":3}` || !op.UpdatedAt().Equal(t0.Add(5*time.Second)) {
		t.Fatalf("succeeded %+v", op.State())
	}
	ev := op.PullEvents()
	if len(ev) != 2 || ev[0].Type != operation.EventProgress || ev[1].Type != operation.EventSucceeded || !ev[1].Type.Terminal() || ev[0].Type.Terminal() {
		t.Fatalf("events %+v", ev)
	}
	if ev[1].State.Percent != 100 || ev[1].State.Status != operation.StatusSucceeded {
		t.Fatalf("terminal event state %+v", ev[1].State)
	}
}

func TestCancel(t *testing.T) {
	op := newOp(t)
	op.PullEvents()
	if err := op.Cancel(t0.Add(time.Second)); err != nil || op.Status() != operation.StatusCancelled {
		t.Fatalf("cancel: %v %s", err, op.Status())
	}
	if err := op.Cancel(t0.Add(2 * time.Second)); !errors.Is(err, operation.ErrFinished) {
		t.Fatalf("cancel twice: %v", err)
	}
	if ev := op.PullEvents(); len(ev) != 1 || ev[0].Type != operation.EventCancelled {
		t.Fatalf("events %+v", ev)
	}
}

func TestParse(t *testing.T) {
	if _, err := operation.ParseID("nope"); kernel.KindOf(err) != kernel.KindInvalid {
		t.Errorf("ParseID: %v", err)
	}
	id := uuid.New()
	if got, err := operation.ParseID(id.String()); err != nil || got.UUID() != id || got.String() != id.String() || got.IsZero() {
		t.Errorf("ParseID(%s) = %v, %v", id, got, err)
	}
	if _, err := operation.ParseStatus("status", "paused"); kernel.KindOf(err) != kernel.KindInvalid {
		t.Errorf("ParseStatus: %v", err)
	}
	for _, s := range operation.Statuses {
		if got, err := operation.ParseStatus("status", string(s)); err != nil || got != s {
			t.Errorf("ParseStatus(%s) = %v, %v", s, got, err)
		}
	}
	r := operation.Rehydrate(operation.IDFrom(id), kernel.ProjectIDFrom(id), "k", operation.StatusFailed, 7, "m", nil, "e", t0, t0, 4)
	if r.ErrorDetail() != "e" || r.Percent() != 7 || !r.CreatedAt().Equal(t0) || len(r.PullEvents()) != 0 || r.Version() != 4 {
		t.Errorf("rehydrated %+v", r.State())
	}
}

// TestVersionCountsAcceptedChanges: a new operation is version 0; every
// accepted report or cancel adds one (one per event it records), a
// refused one adds nothing.
func TestVersionCountsAcceptedChanges(t *testing.T) {
	op, err := operation.New(operation.IDFrom(uuid.New()), kernel.ProjectIDFrom(uuid.New()), "import", "", t0)
	if err != nil || op.Version() != 0 {
		t.Fatalf("new: version %d, %v", op.Version(), err)
	}
	if err := op.Apply(operation.Report{Percent: 10}, t0); err != nil || op.Version() != 1 {
		t.Fatalf("report: version %d, %v", op.Version(), err)
	}
	if err := op.Apply(operation.Report{Percent: 5}, t0); err == nil || op.Version() != 1 {
		t.Fatalf("a refused report moved the version to %d", op.Version())
	}
	if err := op.Cancel(t0); err != nil || op.Version() != 2 {
		t.Fatalf("cancel: version %d, %v", op.Version(), err)
	}
	if err := op.Cancel(t0); err == nil || op.Version() != 2 {
		t.Fatalf("a refused cancel moved the version to %d", op.Version())
	}
}
