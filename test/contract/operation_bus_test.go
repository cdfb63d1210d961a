package contract

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	redisadapter "github.com/scoped-api/foundation/adapters/redis"
	redisoperation "github.com/scoped-api/foundation/adapters/redis/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/test/testkit"
)

// operationBuses gives, per adapter, a function returning the bus of one
// instance for a key prefix. For Redis every call is another instance
// (its own client); in memory, where there is only one instance, a prefix
// always gives the same bus.
var operationBuses = map[string]func(t *testing.T) func(prefix string) ports.Bus{
	"memory": func(*testing.T) func(string) ports.Bus {
		var mu sync.Mutex
		buses := map[string]*memoperation.Bus{}
		return func(prefix string) ports.Bus {
			mu.Lock()
			defer mu.Unlock()
			if buses[prefix] == nil {
				buses[prefix] = memoperation.NewBus()
			}
			return buses[prefix]
		}
	},
	"redis": func(t *testing.T) func(string) ports.Bus {
		return func(prefix string) ports.Bus {
			return redisoperation.NewBus(newRedisClient(t), prefix, zaptest.NewLogger(t))
		}
	},
}

func TestOperationBus(t *testing.T) {
	for name, newBuses := range operationBuses {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, c := range busCases {
				t.Run(c.name, func(t *testing.T) {
					c.run(t, newBuses(t), testkit.RandomName("opbus_")+":")
				})
			}
		})
	}
}

var busCases = []struct {
	name string
	run  func(t *testing.T, bus func(prefix string) ports.Bus, prefix string)
}{
	{"subscribe calls Resync before anything else", func(t *testing.T, bus func(string) ports.Bus, prefix string) {
		sink := subscribe(t, bus(prefix))
		sink.waitResyncs(t, 1)
		settle()
		if calls := sink.snapshot(); len(calls) != 1 || !calls[0].resync {
			t.Fatalf("calls after subscribing = %v, want exactly one Resync", calls)
		}
	}},
	{"published events arrive in order, exactly once, intact", func(t *testing.T, bus func(string) ports.Bus, prefix string) {
		sink := subscribe(t, bus(prefix))
		project := newProjectID()
		events := busEvents(project, 1)
		publisher := bus(prefix)
		for _, batch := range [][]operation.Recorded{events[:2], events[2:3], events[3:]} {
			if err := publisher.Publish(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
		}
		sink.waitEvents(t, len(events))
		settle()
		sink.expect(t, events)
		if calls := sink.snapshot(); !calls[0].resync {
			t.Fatalf("first call = %v, want Resync", calls[0])
		}
	}},
	{"publishing nothing is no error", func(t *testing.T, bus func(string) ports.Bus, prefix string) {
		if err := bus(prefix).Publish(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}},
	{"every instance receives everything", func(t *testing.T, bus func(string) ports.Bus, prefix string) {
		first, second := subscribe(t, bus(prefix)), subscribe(t, bus(prefix))
		events := busEvents(newProjectID(), 1)
		if err := bus(prefix).Publish(context.Background(), events); err != nil {
			t.Fatal(err)
		}
		first.waitEvents(t, len(events))
		second.waitEvents(t, len(events))
		settle()
		first.expect(t, events)
		second.expect(t, events)
	}},
	{"events of every project are delivered, routing is the hub's job", func(t *testing.T, bus func(string) ports.Bus, prefix string) {
		sink := subscribe(t, bus(prefix))
		a, b := busEvents(newProjectID(), 1), busEvents(newProjectID(), 100)
		var mixed []operation.Recorded
		for i := range a {
			mixed = append(mixed, a[i], b[i])
		}
		if err := bus(prefix).Publish(context.Background(), mixed); err != nil {
			t.Fatal(err)
		}
		sink.waitEvents(t, len(mixed))
		settle()
		sink.expect(t, mixed)
	}},
	{"a subscriber under another key prefix receives nothing", func(t *testing.T, bus func(string) ports.Bus, prefix string) {
		// Glob metacharacters in a prefix match only themselves: the
		// subscriber under prefix+"*" would otherwise hear everything. The
		// one without a prefix listens to progress:*:*, which the channels
		// of the prefix "progress:…:" also match.
		others := []*recordingSink{subscribe(t, bus(prefix+"other:")), subscribe(t, bus(prefix+"*")), subscribe(t, bus(""))}
		globbed := prefix + `[a]?*\:`
		control, globControl := subscribe(t, bus(prefix)), subscribe(t, bus(globbed))
		events := busEvents(newProjectID(), 1)
		for _, p := range []string{prefix, globbed, "progress:" + prefix} {
			if err := bus(p).Publish(context.Background(), events); err != nil {
				t.Fatal(err)
			}
		}
		control.waitEvents(t, len(events))
		globControl.waitEvents(t, len(events))
		settle()
		control.expect(t, events)
		globControl.expect(t, events)
		for _, o := range others {
			if got := o.events(); len(got) != 0 {
				t.Fatalf("a subscriber under another prefix received %d events", len(got))
			}
		}
	}},
	{"nothing is delivered once the subscription's context ends", func(t *testing.T, bus func(string) ports.Bus, prefix string) {
		ctx, cancel := context.WithCancel(context.Background())
		sink := newRecordingSink()
		if err := bus(prefix).Subscribe(ctx, sink); err != nil {
			t.Fatal(err)
		}
		sink.waitResyncs(t, 1)
		cancel()
		settle()
		if err := bus(prefix).Publish(context.Background(), busEvents(newProjectID(), 1)); err != nil {
			t.Fatal(err)
		}
		settle()
		if got := sink.events(); len(got) != 0 {
			t.Fatalf("%d events delivered after the subscription ended", len(got))
		}
	}},
}

// TestRedisBusPublishesToProjectChannels: tools watching one project read
// its channel; each event is published there too, once.
func TestRedisBusPublishesToProjectChannels(t *testing.T) {
	t.Parallel()
	client, prefix := newRedisClient(t), testkit.RandomName("opbus_")+":"
	project := newProjectID()
	events := busEvents(project, 1)
	watcher := client.Subscribe(context.Background(), prefix+"progress:"+project.String())
	t.Cleanup(func() { _ = watcher.Close() })
	if _, err := watcher.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := redisoperation.NewBus(client, prefix, zaptest.NewLogger(t)).Publish(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	for i, want := range events {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		msg, err := watcher.ReceiveMessage(ctx)
		cancel()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !strings.Contains(msg.Payload, fmt.Sprintf(`"seq":%d`, want.Seq)) {
			t.Fatalf("message %d = %s, want seq %d", i, msg.Payload, want.Seq)
		}
	}
}

// TestRedisBusResyncsAfterReconnecting kills the subscriber's connection
// in Redis: go-redis reconnects, the bus calls Resync again, later events
// arrive, and the connection is gone once the context ends.
func TestRedisBusResyncsAfterReconnecting(t *testing.T) {
	t.Parallel()
	prefix, name := testkit.RandomName("opbus_")+":", testkit.RandomName("opbus_sub_")
	admin := newRedisClient(t)
	named := newRedisClient(t, func(o *redis.Options) {
		o.OnConnect = func(ctx context.Context, cn *redis.Conn) error { return cn.ClientSetName(ctx, name).Err() }
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sink := newRecordingSink()
	if err := redisoperation.NewBus(named, prefix, zaptest.NewLogger(t)).Subscribe(ctx, sink); err != nil {
		t.Fatal(err)
	}
	sink.waitResyncs(t, 1)

	ids := pubsubClientIDs(t, admin, name)
	if len(ids) != 1 {
		t.Fatalf("pub/sub connections named %s = %v, want one", name, ids)
	}
	if err := admin.Do(context.Background(), "CLIENT", "KILL", "ID", ids[0]).Err(); err != nil {
		t.Fatal(err)
	}
	sink.waitResyncs(t, 2)

	events := busEvents(newProjectID(), 1)
	if err := redisoperation.NewBus(admin, prefix, zaptest.NewLogger(t)).Publish(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	sink.waitEvents(t, len(events))
	sink.expect(t, events)

	cancel()
	if !testkit.Eventually(5*time.Second, func() bool { return len(pubsubClientIDs(t, admin, name)) == 0 }) {
		t.Fatalf("the subscription's connection is still open after its context ended: %v", pubsubClientIDs(t, admin, name))
	}
}

// TestRedisBusSurvivesAnOutage cuts Redis off behind a proxy: the
// subscriber redials with a backoff instead of spinning, resyncs when Redis
// is back, and stops dialling once its context ends, even while Redis is
// still down.
func TestRedisBusSurvivesAnOutage(t *testing.T) {
	t.Parallel()
	prefix := testkit.RandomName("opbus_") + ":"
	admin := newRedisClient(t)
	proxy := testkit.NewProxy(t, admin.Options().Addr)
	var dials atomic.Int64
	client := newRedisClient(t, func(o *redis.Options) {
		o.Addr = proxy.Addr()
		o.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sink := newRecordingSink()
	// Every failed attempt is logged: the log counts them.
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))
	if err := redisoperation.NewBus(client, prefix, log).Subscribe(ctx, sink); err != nil {
		t.Fatal(err)
	}
	sink.waitResyncs(t, 1)

	proxy.Cut()
	beforeDials, beforeLogs := dials.Load(), logs.Len()
	time.Sleep(3 * time.Second)
	if n, attempts := dials.Load()-beforeDials, logs.Len()-beforeLogs; n > 15 || attempts > 15 {
		t.Fatalf("%d dials and %d failed attempts in 3s of outage: the subscriber spins instead of backing off", n, attempts)
	}
	proxy.Restore()
	sink.waitResyncs(t, 2)
	events := busEvents(newProjectID(), 1)
	if err := redisoperation.NewBus(admin, prefix, zaptest.NewLogger(t)).Publish(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	sink.waitEvents(t, len(events))
	sink.expect(t, events)

	proxy.Cut()
	time.Sleep(300 * time.Millisecond)
	cancel()
	time.Sleep(300 * time.Millisecond)
	stoppedDials, stoppedLogs := dials.Load(), logs.Len()
	time.Sleep(maxBusBackoff + time.Second)
	if n, attempts := dials.Load()-stoppedDials, logs.Len()-stoppedLogs; n != 0 || attempts != 0 {
		t.Fatalf("%d dials and %d failed attempts after the subscription's context ended", n, attempts)
	}
}

// maxBusBackoff is the adapter's longest pause between reconnection attempts.
const maxBusBackoff = 5 * time.Second

func TestRedisBusSubscribeFailsWhenRedisIsUnreachable(t *testing.T) {
	t.Parallel()
	client, err := redisadapter.Open("redis://"+testkit.ClosedPort(t), redisadapter.Settings{PoolSize: 2, ConnectTimeout: time.Second, CommandTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sink := newRecordingSink()
	if err := redisoperation.NewBus(client, "x:", zaptest.NewLogger(t)).Subscribe(ctx, sink); err == nil {
		t.Fatal("Subscribe succeeded without Redis")
	}
	if calls := sink.snapshot(); len(calls) != 0 {
		t.Fatalf("a failed Subscribe called the sink: %v", calls)
	}
}

// pubsubClientIDs lists the ids of the pub/sub connections named name.
func pubsubClientIDs(t *testing.T, admin *redis.Client, name string) []string {
	t.Helper()
	list, err := admin.Do(context.Background(), "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		fields := map[string]string{}
		for _, f := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(f, "="); ok {
				fields[k] = v
			}
		}
		if fields["name"] == name {
			ids = append(ids, fields["id"])
		}
	}
	return ids
}

// newRedisClient returns a client of the test Redis, closed when the test
// ends; configure adjusts its options. The test fails, with directions,
// when Redis is not running.
func newRedisClient(t *testing.T, configure ...func(*redis.Options)) *redis.Client {
	t.Helper()
	var client *redis.Client
	if len(configure) == 0 {
		c, err := redisadapter.Open(testkit.RedisURL(), redisadapter.Settings{PoolSize: 4, ConnectTimeout: 2 * time.Second, CommandTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		client = c.(*redis.Client) // single mode
	} else {
		opt, err := redis.ParseURL(testkit.RedisURL())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range configure {
			c(opt)
		}
		client = redis.NewClient(opt)
	}
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s is not reachable (%v); start it with: %s", testkit.RedisURL(), err, testkit.RedisStartHint)
	}
	return client
}

func newProjectID() kernel.ProjectID { return kernel.ProjectIDFrom(uuid.Must(uuid.NewV7())) }

// busEvents is a realistic history of two operations of project: one
// that succeeds with a result, one that fails with an error, sequenced
// from seq0.
func busEvents(project kernel.ProjectID, seq0 int64) []operation.Recorded {
	at := time.Date(2026, 11, 25, 9, 0, 0, 123456000, time.UTC)
	ok, bad := operation.IDFrom(uuid.Must(uuid.NewV7())), operation.IDFrom(uuid.Must(uuid.NewV7()))
	state := func(id operation.ID, status operation.Status, percent int, message string, step int) operation.State {
		return operation.State{ID: id, Project: project, Kind: "import.csv", Status: status, Percent: percent,
			Message: message, CreatedAt: at, UpdatedAt: at.Add(time.Duration(step) * 1500 * time.Microsecond)}
	}
	okDone := state(ok, operation.StatusSucceeded, 100, "done: 1 200 rows", 3)
	// Spacing and HTML characters in the result must survive as they are.
	okDone.Result = []byte(`{"rows": 1200, "report": "https://example.com/r?a=1&b=<2>", "tags": ["a", "b"], "ratio": 0.5}`)
	badDone := state(bad, operation.StatusFailed, 40, "Zürich ✓ — halfway", 4)
	badDone.Error = "upstream said: \"quota exceeded\"\nretry after 10:00 <UTC>"
	steps := []struct {
		typ operation.EventType
		op  operation.ID
		s   operation.State
	}{
		{operation.EventCreated, ok, state(ok, operation.StatusPending, 0, "", 0)},
		{operation.EventProgress, ok, state(ok, operation.StatusRunning, 40, "copying rows", 1)},
		{operation.EventCreated, bad, state(bad, operation.StatusPending, 0, "", 2)},
		{operation.EventSucceeded, ok, okDone},
		{operation.EventFailed, bad, badDone},
	}
	out := make([]operation.Recorded, len(steps))
	for i, s := range steps {
		out[i] = operation.Recorded{Seq: seq0 + int64(i), Event: operation.Event{
			Type: s.typ, Project: project, Operation: s.op, At: s.s.UpdatedAt, State: s.s}}
	}
	return out
}

// settle gives a wrong delivery (a duplicate, a late event) time to show.
func settle() { time.Sleep(300 * time.Millisecond) }

type sinkCall struct {
	resync bool
	ev     operation.Recorded
}

func (c sinkCall) String() string {
	if c.resync {
		return "Resync"
	}
	return fmt.Sprintf("Deliver(seq %d)", c.ev.Seq)
}

// recordingSink records every call and fails the test if two overlap.
type recordingSink struct {
	mu       sync.Mutex
	calls    []sinkCall
	inFlight atomic.Int32
	overlap  atomic.Bool
}

func newRecordingSink() *recordingSink { return &recordingSink{} }

func subscribe(t *testing.T, bus ports.Bus) *recordingSink {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sink := newRecordingSink()
	if err := bus.Subscribe(ctx, sink); err != nil {
		t.Fatal(err)
	}
	sink.waitResyncs(t, 1)
	return sink
}

func (s *recordingSink) record(c sinkCall) {
	if s.inFlight.Add(1) != 1 {
		s.overlap.Store(true)
	}
	defer s.inFlight.Add(-1)
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

func (s *recordingSink) Deliver(ev operation.Recorded) { s.record(sinkCall{ev: ev}) }
func (s *recordingSink) Resync()                       { s.record(sinkCall{resync: true}) }

func (s *recordingSink) snapshot() []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkCall(nil), s.calls...)
}

func (s *recordingSink) events() []operation.Recorded {
	var out []operation.Recorded
	for _, c := range s.snapshot() {
		if !c.resync {
			out = append(out, c.ev)
		}
	}
	return out
}

func (s *recordingSink) resyncs() int {
	n := 0
	for _, c := range s.snapshot() {
		if c.resync {
			n++
		}
	}
	return n
}

func (s *recordingSink) waitEvents(t *testing.T, n int) {
	t.Helper()
	if !testkit.Eventually(10*time.Second, func() bool { return len(s.events()) >= n }) {
		t.Fatalf("received %d events, want %d; calls: %v", len(s.events()), n, s.snapshot())
	}
}

func (s *recordingSink) waitResyncs(t *testing.T, n int) {
	t.Helper()
	if !testkit.Eventually(10*time.Second, func() bool { return s.resyncs() >= n }) {
		t.Fatalf("Resync called %d times, want %d; calls: %v", s.resyncs(), n, s.snapshot())
	}
}

// expect checks that exactly want was delivered, in order, field for field.
func (s *recordingSink) expect(t *testing.T, want []operation.Recorded) {
	t.Helper()
	if s.overlap.Load() {
		t.Fatal("the bus called the sink from two goroutines at once")
	}
	got := s.events()
	if len(got) != len(want) {
		t.Fatalf("received %d events, want exactly %d; calls: %v", len(got), len(want), s.snapshot())
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("event %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
		if string(got[i].State.Result) != string(want[i].State.Result) {
			t.Fatalf("event %d result = %s, want %s", i, got[i].State.Result, want[i].State.Result)
		}
	}
}
