package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/adapters/postgres/operation"
	"github.com/scoped-api/foundation/test/testkit"
)

// TestARelayThatCannotNumberSaysSoAndDeliversEverythingOnceFreed holds
// the relay's numbering lock from another session, the way a pooler that
// kept a session lock did: events are accepted but wait. The lag read from
// the database grows, readiness shows the relay degraded with the cause,
// the log says so once; freed, every event reaches the stream once, in
// order.
func TestARelayThatCannotNumberSaysSoAndDeliversEverythingOnceFreed(t *testing.T) {
	app, dbURL := startOperationsApp(t, "EVENTS_RELAY_INTERVAL", "100ms", "EVENTS_RELAY_MAX_LAG", "1s")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "stalled relay")
	s := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), alice)
	if s.Status != http.StatusOK {
		t.Fatalf("open: %d %s", s.Status, s.Body)
	}
	if snap := s.Next(t, 5*time.Second); snap.Event != "snapshot" {
		t.Fatalf("first message: %+v", snap)
	}
	if _, r := ready(t, app); r.Checks["relay"].Status != "ok" {
		t.Fatalf("relay before the stall: %+v", r.Checks["relay"])
	}

	release := holdAdvisoryLock(t, dbURL, operation.RelayLockKey)
	op := createOperation(t, app, alice, p.ID, "import")
	for i, msg := range messages(5) {
		mustReport(t, app, alice, p.ID, op.ID, 10+i*10, msg)
	}
	var r readiness
	if !testkit.Eventually(15*time.Second, func() bool {
		_, r = ready(t, app)
		return r.Checks["relay"].Status == "degraded"
	}) {
		t.Fatalf("readiness never showed the stall: %+v", r.Checks["relay"])
	}
	relay := r.Checks["relay"]
	if relay.Required || r.Status != "ok" || !strings.Contains(relay.Error, "EVENTS_RELAY_MAX_LAG") ||
		!strings.Contains(relay.Error, "numbering lock") || relay.Since == nil {
		t.Fatalf("degraded relay: overall %q, check %+v; want optional, the setting and the held lock named", r.Status, relay)
	}
	if lag, found := metricSum(string(app.Do("GET", "/metrics", "", nil).Body), "streams_relay_lag_seconds"); !found || lag <= 1 {
		t.Fatalf("streams_relay_lag_seconds = %v (found %v), want more than EVENTS_RELAY_MAX_LAG", lag, found)
	}
	if ev, ok := s.TryNext(200 * time.Millisecond); ok {
		t.Fatalf("an event reached the stream while numbering was blocked: %+v", ev)
	}
	warned := app.Logs.FilterMessageSnippet("longer than EVENTS_RELAY_MAX_LAG")
	if warned.Len() != 1 || !strings.Contains(warned.All()[0].ContextMap()["cause"].(string), "numbering lock") {
		t.Fatalf("stall log lines: %d %+v, want one naming the lock", warned.Len(), warned.All())
	}

	release()
	created := expectEvent(t, s, "created", 10*time.Second)
	if created.OperationID != op.ID {
		t.Fatalf("first event after the stall: %+v", created)
	}
	last := int64(0)
	for i, msg := range messages(5) {
		ev := s.Next(t, 5*time.Second)
		e := decodeEvent(t, ev)
		if ev.Event != "progress" || e.Operation.Message != msg || e.Operation.Percent != 10+i*10 || seq(t, ev) <= last {
			t.Fatalf("event %d after the stall: %s %+v (previous id %d)", i, ev.Event, e, last)
		}
		last = seq(t, ev)
	}
	if ev, ok := s.TryNext(500 * time.Millisecond); ok {
		t.Fatalf("an event came twice or from nowhere: %+v", ev)
	}
	if !testkit.Eventually(10*time.Second, func() bool { _, r = ready(t, app); return r.Checks["relay"].Status == "ok" }) {
		t.Fatalf("relay after the stall: %+v", r.Checks["relay"])
	}
	if app.Logs.FilterMessage("the relay caught up").Len() != 1 {
		t.Fatal("the recovery was not logged")
	}
}

// holdAdvisoryLock takes a session-level advisory lock on a connection of
// its own and keeps it until release ends that session.
func holdAdvisoryLock(t *testing.T, dbURL string, key int64) (release func()) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(context.Background(), `SELECT pg_advisory_lock($1)`, key); err != nil {
		t.Fatal(err)
	}
	// The pool's one connection holds the lock; closing the pool ends it.
	return func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
