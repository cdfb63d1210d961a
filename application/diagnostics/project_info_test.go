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

type gate struct{ owner kernel.Subject }

func (g gate) Visible(_ context.Context, s kernel.Subject, _ kernel.ProjectID) error {
	if s != g.owner {
		return kernel.NotFound("project.not_found", "project not found")
	}
	return nil
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

type slowLog struct{ since time.Time }

func (l *slowLog) Recent(_ kernel.ProjectID, _ kernel.Subject, since time.Time) []ports.SlowStatement {
	l.since = since
	return []ports.SlowStatement{{Statement: "SELECT ?"}}
}

type ops struct{ err error }

func (o ops) CountByStatus(context.Context, kernel.Subject, kernel.ProjectID) (map[string]int64, error) {
	return map[string]int64{"running": 2, "succeeded": 5}, o.err
}

type streams struct{ err error }

func (s streams) StreamSummary(context.Context, kernel.Subject, kernel.ProjectID) (ports.StreamSummary, error) {
	if s.err != nil {
		return ports.StreamSummary{}, s.err
	}
	return ports.StreamSummary{Connected: 3, LastEventID: "42"}, nil
}

func TestProjectInfo(t *testing.T) {
	alice, _ := kernel.ParseSubject("alice")
	bob, _ := kernel.ParseSubject("bob")
	id := kernel.ProjectIDFrom(uuid.Must(uuid.NewV7()))
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	log := &slowLog{}
	settings := Settings{SlowStatementWindow: time.Hour, SlowStatementThreshold: 200 * time.Millisecond}

	// Only the slow-statement log is there: the rest is reported unavailable.
	svc := NewService(Sources{Gate: gate{alice}, Clock: fixedClock(now), SlowStatements: log}, settings)
	info, err := svc.ProjectInfo(context.Background(), alice, id)
	if err != nil || info.ProjectID != id || len(info.SlowStatements) != 1 || info.Operations != nil || info.Streams != nil ||
		!info.GeneratedAt.Equal(now) || !log.since.Equal(now.Add(-time.Hour)) || info.SlowStatementThreshold != 200*time.Millisecond {
		t.Fatalf("%+v %v", info, err)
	}
	if _, err := svc.ProjectInfo(context.Background(), bob, id); kernel.KindOf(err) != kernel.KindNotFound {
		t.Fatalf("someone else's project: %v", err)
	}

	// With the operation context's adapters.
	svc = NewService(Sources{Gate: gate{alice}, Clock: fixedClock(now), SlowStatements: log, Operations: ops{}, Streams: streams{}}, settings)
	info, err = svc.ProjectInfo(context.Background(), alice, id)
	if err != nil || info.Operations.ByStatus["succeeded"] != 5 || info.Streams.Connected != 3 || info.Streams.LastEventID != "42" {
		t.Fatalf("%+v %v", info, err)
	}
	boom := errors.New("boom")
	for _, src := range []Sources{
		{Operations: ops{err: boom}},
		{Streams: streams{err: boom}},
	} {
		src.Gate, src.Clock, src.SlowStatements = gate{alice}, fixedClock(now), log
		if _, err := NewService(src, settings).ProjectInfo(context.Background(), alice, id); !errors.Is(err, boom) {
			t.Errorf("a failing source must fail the call: %v", err)
		}
	}
}
