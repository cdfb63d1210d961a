package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/adapters/postgres/idempotency"
	pgoperation "github.com/scoped-api/foundation/adapters/postgres/operation"
	pgproject "github.com/scoped-api/foundation/adapters/postgres/project"
	"github.com/scoped-api/foundation/bootstrap"
	"github.com/scoped-api/foundation/test/testkit"
)

// behindPgBouncer is a fresh database reached through a pooler of the
// test's own in transaction mode with two server connections, and the
// direct URL of the same database.
func behindPgBouncer(t *testing.T) (pooled, direct string) {
	t.Helper()
	direct = testkit.NewPostgresDatabase(t)
	return testkit.StartPgBouncer(t, 2).URL(t, direct), direct
}

// TestBehindPgBouncerInTransactionModeEverythingWorks runs, with the
// default settings, two instances through PgBouncer in transaction
// pooling: they migrate the fresh database together, then the project
// flow, the isolation matrix, a stream fed from both instances, many
// concurrent requests, and a relay that goes on when one instance stops.
func TestBehindPgBouncerInTransactionModeEverythingWorks(t *testing.T) {
	pooled, direct := behindPgBouncer(t)
	migrateTogether(t, pooled)
	prefix := testkit.RandomName("e2e_") + ":"
	one := testkit.StartApp(t, operationsEnv(t, pooled, prefix))
	two := testkit.StartApp(t, operationsEnv(t, pooled, prefix))

	t.Run("project flow", func(t *testing.T) { projectCRUD(t, one, direct) })
	t.Run("isolation", func(t *testing.T) { isolationMatrix(t, two) })
	t.Run("a stream fed from both instances", func(t *testing.T) { twoInstancesShareOneStream(t, one, two) })
	t.Run("concurrent requests", func(t *testing.T) {
		if failed := hammer(t, []string{one.URL, two.URL}, 100); len(failed) > 0 {
			t.Fatalf("%d requests failed behind PgBouncer, for example %v", len(failed), failed[0])
		}
	})
	t.Run("the relay goes on when an instance stops", func(t *testing.T) {
		alice := testkit.Token(t, "alice", time.Hour)
		p := create(t, one, alice, "relay hand-over")
		op := createOperation(t, one, alice, p.ID, "import")
		s := testkit.OpenSSE(t, two.URL+opStreamPath(p.ID, op.ID), alice)
		last := seq(t, s.Next(t, 5*time.Second))
		for i := range 5 {
			mustReport(t, one, alice, p.ID, op.ID, 1+i, fmt.Sprintf("before the stop %d", i))
		}
		if err := one.Stop(); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			mustReport(t, two, alice, p.ID, op.ID, 10+i, fmt.Sprintf("after the stop %d", i))
		}
		want := []int{1, 2, 3, 4, 5, 10, 11, 12, 13, 14}
		for i, percent := range want {
			ev := s.Next(t, 10*time.Second)
			if ev.Event == "created" && i == 0 {
				ev = s.Next(t, 10*time.Second)
			}
			e := decodeEvent(t, ev)
			if e.Operation.Percent != percent || seq(t, ev) <= last {
				t.Fatalf("event %d: %s %+v after id %d, want percent %d", i, ev.Event, e.Operation, last, percent)
			}
			last = seq(t, ev)
		}
		if ev, ok := s.TryNext(500 * time.Millisecond); ok {
			t.Fatalf("an event came twice: %+v", ev)
		}
	})
}

// TestPgxsStatementCacheBreaksBehindPgBouncer is the failure the
// DB_QUERY_EXEC_MODE default prevents: pgx's cache_statement names
// prepared statements per client connection, and a pooler in transaction
// mode hands one server connection to several clients (SQLSTATE 42P05).
// Instances fail to start, or their requests fail.
func TestPgxsStatementCacheBreaksBehindPgBouncer(t *testing.T) {
	pooled, _ := behindPgBouncer(t)
	migrateTogether(t, pooled) // with cache_statement even the migrations break
	prefix := testkit.RandomName("e2e_") + ":"
	var started []string
	var failures []string
	for range 2 {
		cfg, err := bootstrap.LoadConfig(operationsEnv(t, pooled, prefix, "DB_QUERY_EXEC_MODE", "cache_statement", "DB_MIGRATE_ON_START", "false"))
		if err != nil {
			t.Fatal(err)
		}
		var srv *bootstrap.Server
		app := bootstrap.App(cfg, fx.NopLogger, fx.Decorate(func() *zap.Logger { return zap.NewNop() }), fx.Populate(&srv))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = app.Start(ctx)
		cancel()
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		t.Cleanup(func() { _ = app.Stop(context.Background()) })
		started = append(started, srv.URL())
	}
	if len(started) == 2 {
		failures = append(failures, hammer(t, started, 100)...)
	}
	if len(failures) == 0 {
		t.Fatal("everything worked with cache_statement behind PgBouncer in transaction mode: this test no longer shows what the default prevents")
	}
	t.Logf("%d failures with cache_statement, for example: %s", len(failures), failures[0])
}

// migrateTogether applies every migration from two handles at once through
// the pooler, as two instances starting together do, and checks that each
// was applied once.
func migrateTogether(t *testing.T, dbURL string) {
	t.Helper()
	sets := []postgres.MigrationSet{pgproject.Migrations(), pgoperation.Migrations(), idempotency.Migrations()}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		db, err := postgres.Open(postgres.Config{URL: dbURL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		m, err := postgres.NewMigrator(db, sets)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, errs[i] = m.Up(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
	}
	var applied, distinct int
	testkit.QueryRow(t, dbURL, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`, nil, &applied, &distinct)
	if applied != distinct || applied == 0 {
		t.Fatalf("goose_db_version: %d rows for %d versions", applied, distinct)
	}
}

// hammer sends n creates, n reads and n progress reports, spread over the
// instances at urls, 16 at a time, and returns the ones that did not
// succeed.
func hammer(t *testing.T, urls []string, n int) (failed []string) {
	t.Helper()
	alice := testkit.Token(t, "alice", time.Hour)
	do := func(base, method, path string, body any) (int, string) {
		res := testkit.Do(t, method, base+path, alice, body)
		return res.Status, string(res.Body)
	}
	status, body := do(urls[0], "POST", "/api/v1/projects", map[string]any{"name": testkit.RandomName("hammer ")})
	var p, op struct{ ID string }
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &p) != nil {
		return []string{fmt.Sprintf("create the project: %d %s", status, body)}
	}
	status, body = do(urls[0], "POST", "/api/v1/projects/"+p.ID+"/operations", map[string]any{"kind": "import"})
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &op) != nil {
		return []string{fmt.Sprintf("create the operation: %d %s", status, body)}
	}
	var mu sync.Mutex
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range 3 * n {
		base := urls[i%len(urls)]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var status int
			var body string
			want := http.StatusOK
			switch i % 3 {
			case 0:
				status, body = do(base, "POST", "/api/v1/projects", map[string]any{"name": fmt.Sprintf("p%d", i)})
				want = http.StatusCreated
			case 1:
				status, body = do(base, "GET", "/api/v1/projects/"+p.ID, nil)
			case 2:
				status, body = do(base, "POST", "/api/v1/projects/"+p.ID+"/operations/"+op.ID+"/progress", map[string]any{"percent": 0, "message": fmt.Sprint(i)})
			}
			if status != want {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%d: %s", status, body))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// TestBehindPgBouncerAKilledInstancesEventsReachTheStreams: an instance
// accepts reports while it cannot reach Redis (they wait in the database)
// and is then killed (SIGKILL, no shutdown). The other instance's relay
// publishes them: the stream on it gets each once, in order, without the
// killed instance ever coming back.
func TestBehindPgBouncerAKilledInstancesEventsReachTheStreams(t *testing.T) {
	pooled, _ := behindPgBouncer(t)
	prefix := testkit.RandomName("e2e_") + ":"
	survivor := testkit.StartApp(t, operationsEnv(t, pooled, prefix))

	bin := filepath.Join(t.TempDir(), "api")
	buildAPI(t, bin)
	proxy := testkit.NewProxy(t, testkit.RedisAddr())
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "HTTP_ADDR=" + addr,
		"REDIS_URL=redis://" + proxy.Addr() + "/0"}
	for k, v := range operationsEnv(t, pooled, prefix) {
		if k != "HTTP_ADDR" && k != "REDIS_URL" {
			env = append(env, k+"="+v)
		}
	}
	base := "http://" + addr
	victim, _ := serveProcess(t, bin, t.TempDir(), env, base)

	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, survivor, alice, "killed instance")
	op := createOperation(t, survivor, alice, p.ID, "import")
	s := testkit.OpenSSE(t, survivor.URL+opStreamPath(p.ID, op.ID), alice)
	last := seq(t, s.Next(t, 5*time.Second))

	proxy.Cut() // the victim's events can reach the database only
	for i := range 5 {
		res := testkit.Do(t, "POST", base+"/api/v1/projects/"+p.ID+"/operations/"+op.ID+"/progress", alice,
			map[string]any{"percent": 10 + i, "message": fmt.Sprintf("from the killed instance %d", i)})
		if res.Status != http.StatusOK {
			t.Fatalf("report %d on the instance to kill: %d %s", i, res.Status, res.Body)
		}
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.Wait()

	for i := range 5 {
		ev := s.Next(t, 15*time.Second)
		if ev.Event == "created" && i == 0 {
			ev = s.Next(t, 15*time.Second)
		}
		e := decodeEvent(t, ev)
		if e.Operation.Percent != 10+i || seq(t, ev) <= last {
			t.Fatalf("event %d after the kill: %s %+v after id %d", i, ev.Event, e.Operation, last)
		}
		last = seq(t, ev)
	}
	if ev, ok := s.TryNext(500 * time.Millisecond); ok {
		t.Fatalf("an event came twice: %+v", ev)
	}
}
