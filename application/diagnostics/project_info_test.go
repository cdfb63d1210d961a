package diagnostics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/diagnostics"
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

type slowLog struct {
	access kernel.ProjectAccess
	since  time.Time
}

func (l *slowLog) Recent(access kernel.ProjectAccess, since time.Time) []ports.SlowStatement {
	l.access, l.since = access, since
	return []ports.SlowStatement{{Statement: "SELECT ?"}}
}

type ops struct {
	calls int
	err   error
}

func (o *ops) Figures(context.Context, kernel.ProjectAccess) (ports.OperationFigures, error) {
	o.calls++
	return ports.OperationFigures{ByStatus: map[string]int64{"running": 2, "succeeded": 5}, ConnectedStreams: 3, LastEventID: "42"}, o.err
}

func TestProjectInfo(t *testing.T) {
	alice, _ := kernel.ParseSubject("alice")
	id := kernel.ProjectIDFrom(uuid.Must(uuid.NewV7()))
	access := kernel.GrantProjectAccess(alice, id, kernel.AllPermissions)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	log := &slowLog{}
	settings := Settings{SlowStatementWindow: time.Hour, SlowStatementThreshold: 200 * time.Millisecond}
	figures := &ops{}

	svc := NewService(fixedClock(now), log, figures, settings)
	info, err := svc.ProjectInfo(context.Background(), access)
	if err != nil || info.ProjectID != id || len(info.SlowStatements) != 1 || log.access != access ||
		!info.GeneratedAt.Equal(now) || !log.since.Equal(now.Add(-time.Hour)) || info.SlowStatementThreshold != 200*time.Millisecond {
		t.Fatalf("%+v %v", info, err)
	}
	if info.Operations.ByStatus["succeeded"] != 5 || info.Operations.ConnectedStreams != 3 || info.Operations.LastEventID != "42" {
		t.Fatalf("figures %+v", info.Operations)
	}
	if figures.calls != 1 {
		t.Fatalf("the figures took %d calls, want one", figures.calls)
	}
	if _, err := svc.ProjectInfo(context.Background(), kernel.ProjectAccess{}); err == nil || kernel.KindOf(err) != kernel.KindUnknown {
		t.Fatalf("no access: %v, want an internal error", err)
	}
	boom := errors.New("boom")
	if _, err := NewService(fixedClock(now), log, &ops{err: boom}, settings).ProjectInfo(context.Background(), access); !errors.Is(err, boom) {
		t.Errorf("a failing source must fail the call: %v", err)
	}
}

func TestNewServicePanicsOnMissingDependency(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewService with a nil source must panic")
		}
	}()
	NewService(fixedClock(time.Now()), nil, &ops{}, Settings{})
}
