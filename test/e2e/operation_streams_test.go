package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestStreamSnapshotFirstThenLiveEventsUntilTheEnd: a fresh connect gets
// the current state first, then every change in order; the terminal event
// ends the stream, and a client that has it is told to stop (204).
func TestStreamSnapshotFirstThenLiveEventsUntilTheEnd(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "stream")
	op := createOperation(t, app, alice, p.ID, "import")
	mustReport(t, app, alice, p.ID, op.ID, 5, "started")

	s := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice)
	if s.Status != http.StatusOK {
		t.Fatalf("open: %d %s", s.Status, s.Body)
	}
	for name, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := s.Header.Get(name); !strings.HasPrefix(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	snap := s.Next(t, 5*time.Second)
	if snap.Event != "snapshot" || !strings.Contains(snap.Data, `"id":"`+op.ID+`"`) {
		t.Fatalf("first message: %+v", snap)
	}
	last := seq(t, snap)
	// The snapshot is the state as of its id: a report whose event was
	// still on its way follows it.
	if !strings.Contains(snap.Data, `"percent":5`) {
		ev := s.Next(t, 5*time.Second)
		if e := decodeEvent(t, ev); e.Operation.Percent != 5 || seq(t, ev) <= last {
			t.Fatalf("after a snapshot without the first report: %+v", ev)
		}
		last = seq(t, ev)
	}
	for i, msg := range messages(5) {
		mustReport(t, app, alice, p.ID, op.ID, 10+i*10, msg)
	}
	res := report(t, app, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "failed", "error": "disk full"})
	if res.Status != http.StatusOK {
		t.Fatalf("fail: %d %s", res.Status, res.Body)
	}
	for i, msg := range messages(5) {
		ev := s.Next(t, 5*time.Second)
		e := decodeEvent(t, ev)
		if ev.Event != "progress" || e.Operation.Message != msg || e.Operation.Percent != 10+i*10 || seq(t, ev) <= last {
			t.Fatalf("event %d: %+v after id %d", i, ev, last)
		}
		last = seq(t, ev)
	}
	end := expectEvent(t, s, "failed", 5*time.Second)
	if end.Operation.Error != "disk full" || end.Operation.Status != "failed" {
		t.Fatalf("terminal event %+v", end)
	}
	if rest := s.WaitEnd(t, 5*time.Second); len(rest) != 0 {
		t.Fatalf("messages after the terminal event: %+v", rest)
	}
	if len(s.Retries()) == 0 {
		t.Error("no retry: hint")
	}
	again := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice, "Last-Event-ID", end.ID)
	if again.Status != http.StatusNoContent {
		t.Fatalf("resume after the end: %d, want 204", again.Status)
	}
	// A fresh connect to a finished operation gets its final state and ends.
	fresh := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice)
	if snap := fresh.Next(t, 5*time.Second); snap.Event != "snapshot" || !strings.Contains(snap.Data, `"status":"failed"`) {
		t.Fatalf("snapshot of a finished operation: %+v", snap)
	}
	fresh.WaitEnd(t, 5*time.Second)
}

// follow reads a stream like a browser does: on every end it reconnects
// with the last id it received, until the operation's terminal event. It
// returns the progress messages in the order received and the number of
// connections it needed. start runs once the first snapshot arrived: what
// was reported before is folded into the snapshot, not sent as events.
func follow(t *testing.T, url, token string, timeout time.Duration, start func()) (msgs []string, ids []int64, connections int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	lastID := ""
	for time.Now().Before(deadline) {
		var headers []string
		if lastID != "" {
			headers = []string{"Last-Event-ID", lastID}
		}
		s := testkit.OpenSSE(t, url, token, headers...)
		connections++
		if s.Status == http.StatusNoContent {
			return msgs, ids, connections
		}
		if s.Status != http.StatusOK {
			t.Fatalf("connect %d: %d %s", connections, s.Status, s.Body)
		}
		for {
			ev, ok := s.TryNext(time.Until(deadline))
			if !ok {
				break
			}
			if ev.Event == "snapshot" {
				if lastID != "" {
					t.Fatalf("a resume sent a snapshot: %+v", ev)
				}
				var snap struct {
					Operation operationJSON `json:"operation"`
				}
				if err := json.Unmarshal([]byte(ev.Data), &snap); err != nil {
					t.Fatalf("snapshot %q: %v", ev.Data, err)
				}
				if snap.Operation.Message != "" {
					msgs = append(msgs, snap.Operation.Message)
				}
				lastID = ev.ID
				start()
				continue
			}
			e := decodeEvent(t, ev)
			msgs = append(msgs, e.Operation.Message)
			ids = append(ids, seq(t, ev))
			lastID = ev.ID
			if ev.Event == "succeeded" {
				s.Close()
				return msgs, ids, connections
			}
		}
		s.Close()
	}
	t.Fatalf("the operation did not finish within %v; got %d messages", timeout, len(msgs))
	return nil, nil, 0
}

// TestStreamResumesExactlyOnceAfterServerForcedReconnects: the server ends
// every stream after SSE_MAX_DURATION while a worker keeps reporting; the
// client resumes with Last-Event-ID each time and receives every event
// exactly once, in order.
func TestStreamResumesExactlyOnceAfterServerForcedReconnects(t *testing.T) {
	app, _ := startOperationsApp(t, "SSE_MAX_DURATION", "400ms")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "resume")
	op := createOperation(t, app, alice, p.ID, "import")
	want := messages(60)

	var wg sync.WaitGroup
	wg.Add(1)
	worker := func() {
		defer wg.Done()
		for i, msg := range want {
			mustReport(t, app, alice, p.ID, op.ID, i, msg)
			time.Sleep(25 * time.Millisecond)
		}
		res := report(t, app, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded", "message": "done"})
		if res.Status != http.StatusOK {
			t.Errorf("succeed: %d %s", res.Status, res.Body)
		}
	}
	got, ids, connections := follow(t, app.URL+opStreamPath(p.ID, op.ID), alice, 30*time.Second, func() { go worker() })
	wg.Wait()
	if connections < 3 {
		t.Errorf("only %d connections: the max duration did not end streams", connections)
	}
	if strings.Join(got, ",") != strings.Join(append(want, "done"), ",") {
		t.Fatalf("received %d messages %v, want the %d reported, once each, in order", len(got), got, len(want)+1)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids not increasing: %v", ids)
		}
	}
}

// TestStreamSaysWhenHistoryIsTooOld: a resume from an id whose successors
// were pruned is told so, explicitly, and gets a fresh snapshot.
func TestStreamSaysWhenHistoryIsTooOld(t *testing.T) {
	app, _ := startOperationsApp(t, "SSE_HISTORY_RETENTION", "1s")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "history")
	op := createOperation(t, app, alice, p.ID, "import")
	mustReport(t, app, alice, p.ID, op.ID, 10, "old")
	time.Sleep(1500 * time.Millisecond)
	var first testkit.SSEEvent
	ok := testkit.Eventually(10*time.Second, func() bool {
		mustReport(t, app, alice, p.ID, op.ID, 20, "new") // each report lets the relay prune
		s := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice, "Last-Event-ID", "1")
		defer s.Close()
		first = s.Next(t, 5*time.Second)
		if first.Event != "history_expired" {
			return false
		}
		snap := s.Next(t, 5*time.Second)
		if snap.Event != "snapshot" || !strings.Contains(snap.Data, `"percent":20`) {
			t.Fatalf("after history_expired: %+v", snap)
		}
		return true
	})
	if !ok {
		t.Fatalf("a resume from a pruned id got %+v, want history_expired", first)
	}
	// A resume from a retained id still works without a snapshot.
	live := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice)
	snap := live.Next(t, 5*time.Second)
	mustReport(t, app, alice, p.ID, op.ID, 30, "newer")
	for {
		if e := decodeEvent(t, live.Next(t, 5*time.Second)); e.Operation.Message == "newer" {
			break
		}
	}
	s := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice, "Last-Event-ID", snap.ID)
	for {
		ev := s.Next(t, 5*time.Second)
		if ev.Event != "progress" {
			t.Fatalf("resume from a retained id: %+v", ev)
		}
		if decodeEvent(t, ev).Operation.Message == "newer" {
			break
		}
	}
	// An id this log never issued is treated like a pruned one.
	future := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice, "Last-Event-ID", "999999")
	if ev := future.Next(t, 5*time.Second); ev.Event != "history_expired" {
		t.Fatalf("resume from a future id: %+v", ev)
	}
}

// TestStreamTwoInstancesShareOneStream: two API instances on the same
// PostgreSQL and Redis; an event reported to one reaches a stream on the other.
func TestStreamTwoInstancesShareOneStream(t *testing.T) {
	one, two := startTwoOperationsApps(t)
	twoInstancesShareOneStream(t, one, two)
}

func twoInstancesShareOneStream(t *testing.T, one, two *testkit.App) {
	t.Helper()
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, one, alice, "shared")
	op := createOperation(t, one, alice, p.ID, "import")

	onTwo := testkit.OpenSSE(t, two.URL+opStreamPath(p.ID, op.ID), alice)
	onOne := testkit.OpenSSE(t, one.URL+projectStreamPath(p.ID), alice)
	onTwo.Next(t, 5*time.Second)
	onOne.Next(t, 5*time.Second)
	for i := range 10 {
		app := one
		if i%2 == 1 {
			app = two
		}
		mustReport(t, app, alice, p.ID, op.ID, i*10, fmt.Sprintf("from instance %d", i%2+1))
	}
	for _, s := range []*testkit.SSE{onTwo, onOne} {
		var last int64
		for i := range 10 {
			ev := s.Next(t, 5*time.Second)
			if ev.Event == "created" { // a project stream may open before the created event left
				ev = s.Next(t, 5*time.Second)
			}
			e := decodeEvent(t, ev)
			if e.Operation.Percent != i*10 || seq(t, ev) <= last {
				t.Fatalf("event %d: %+v", i, ev)
			}
			last = seq(t, ev)
		}
	}
}

// startBehindRedisProxy starts an app whose Redis is reached through a
// proxy the test can cut or freeze, with one operation of a new project
// and a stream on it past its snapshot.
func startBehindRedisProxy(t *testing.T, name string) (*testkit.App, *testkit.Proxy, string, projectJSON, operationJSON, *testkit.SSE) {
	t.Helper()
	testkit.RequireRedis(t)
	proxy := testkit.NewProxy(t, testkit.RedisAddr())
	env := operationsEnv(t, testkit.NewPostgresDatabase(t), testkit.RandomName("e2e_")+":")
	env["REDIS_URL"] = "redis://" + proxy.Addr() + "/0"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, name)
	op := createOperation(t, app, alice, p.ID, "import")
	s := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice)
	s.Next(t, 5*time.Second)
	return app, proxy, alice, p, op, s
}

// expectMessagesOnce reads the stream's next events: their messages must
// be want, in order, with rising ids, and nothing may follow.
func expectMessagesOnce(t *testing.T, s *testkit.SSE, want []string) {
	t.Helper()
	var got []string
	var last int64
	for len(got) < len(want) {
		ev := s.Next(t, 20*time.Second)
		if seq(t, ev) <= last {
			t.Fatalf("id %d after %d", seq(t, ev), last)
		}
		last = seq(t, ev)
		got = append(got, decodeEvent(t, ev).Operation.Message)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
	if extra, ok := s.TryNext(500 * time.Millisecond); ok {
		t.Fatalf("duplicate or extra event: %+v", extra)
	}
}

// TestStreamLosesNothingWhileRedisIsDown: progress is accepted and stored
// while Redis is unreachable, readiness says so, and when Redis is back
// every stored event reaches the stream, in order, once.
func TestStreamLosesNothingWhileRedisIsDown(t *testing.T) {
	app, proxy, alice, p, op, s := startBehindRedisProxy(t, "outage")
	mustReport(t, app, alice, p.ID, op.ID, 1, "before")
	if e := expectEvent(t, s, "progress", 5*time.Second); e.Operation.Message != "before" {
		t.Fatalf("before the outage: %+v", e)
	}

	proxy.Cut()
	want := []string{"before"}
	for i := range 20 {
		msg := fmt.Sprintf("during %02d", i)
		mustReport(t, app, alice, p.ID, op.ID, 2+i, msg)
		want = append(want, msg)
	}
	if !testkit.Eventually(5*time.Second, func() bool {
		res := app.Do("GET", "/health/ready", "", nil)
		return res.Status == http.StatusServiceUnavailable && strings.Contains(string(res.Body), `"redis":{"status":"down"`)
	}) {
		t.Fatalf("readiness did not report Redis down: %s", app.Do("GET", "/health/ready", "", nil).Body)
	}
	time.Sleep(500 * time.Millisecond)
	proxy.Restore()
	mustReport(t, app, alice, p.ID, op.ID, 50, "after")
	want = append(want, "after")

	expectMessagesOnce(t, s, want[1:])
	if res := app.Do("GET", "/health/ready", "", nil); res.Status != http.StatusOK {
		t.Fatalf("readiness after Redis came back: %d %s", res.Status, res.Body)
	}
}

// TestStreamLosesNothingWhileRedisHangs: a Redis that accepts connections
// and never answers (not one that is down) costs no accepted report and no
// event; a request that needs Redis itself gets a 503 within about twice
// REDIS_COMMAND_TIMEOUT, well before the request's own deadline.
func TestStreamLosesNothingWhileRedisHangs(t *testing.T) {
	app, proxy, alice, p, op, s := startBehindRedisProxy(t, "hang")

	proxy.Freeze()
	var want []string
	for i := range 5 {
		msg := fmt.Sprintf("hung %d", i)
		mustReport(t, app, alice, p.ID, op.ID, 1+i, msg)
		want = append(want, msg)
	}
	start := time.Now()
	res := app.Do("POST", "/api/v1/projects/"+p.ID+"/events/tickets", alice, nil)
	if elapsed := time.Since(start); res.Status != http.StatusServiceUnavailable || elapsed > 6*time.Second {
		t.Fatalf("a ticket while Redis hangs: %d after %v (REDIS_COMMAND_TIMEOUT %v, HTTP_REQUEST_TIMEOUT %v) %s",
			res.Status, elapsed, app.Config.Redis.CommandTimeout, app.Config.HTTP.RequestTimeout, res.Body)
	}
	assertProblem(t, res, http.StatusServiceUnavailable)
	start = time.Now()
	res = app.Do("GET", "/health/ready", "", nil)
	if elapsed := time.Since(start); res.Status != http.StatusServiceUnavailable || elapsed > 3*time.Second ||
		!strings.Contains(string(res.Body), `"redis":{"status":"down"`) {
		t.Fatalf("readiness while Redis hangs: %d after %v %s", res.Status, elapsed, res.Body)
	}

	proxy.Restore()
	expectMessagesOnce(t, s, want)
	if !testkit.Eventually(10*time.Second, func() bool {
		return app.Do("POST", "/api/v1/projects/"+p.ID+"/events/tickets", alice, nil).Status == http.StatusCreated
	}) {
		t.Fatal("no ticket after Redis came back")
	}
}

// TestStreamSlowConsumerIsDisconnectedWithoutSlowingOthers: a consumer
// that stops reading falls behind its bounded buffer and is disconnected;
// a fast one on the same operation gets everything; the slow one resumes
// from its last id and loses nothing.
func TestStreamSlowConsumerIsDisconnectedWithoutSlowingOthers(t *testing.T) {
	app, _ := startOperationsApp(t, "SSE_SUBSCRIBER_BUFFER", "64", "EVENTS_RELAY_BATCH", "16", "SSE_WRITE_TIMEOUT", "1s")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "slow")
	op := createOperation(t, app, alice, p.ID, "import")
	slow := testkit.RawStream(t, app.URL, opStreamPath(p.ID, op.ID), alice)
	slowReader := bufio.NewReader(slow)
	// The slow consumer reads its response head and snapshot, then stops reading.
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := slowReader.ReadString('\n')
		if err != nil {
			t.Fatalf("slow consumer's snapshot: %v", err)
		}
		if strings.HasPrefix(line, "event: snapshot") {
			break
		}
	}
	const n = 600
	floodPastASlowConsumer(t, app, alice, p.ID, op.ID, n)

	// The slow consumer now reads what it was sent before the server hung up.
	_ = slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	data, err := io.ReadAll(slowReader)
	if err != nil {
		t.Fatalf("the slow consumer was not disconnected: %v after %d bytes", err, len(data))
	}
	resumeAfterEviction(t, app, alice, p.ID, op.ID, data, n)
}

// floodPastASlowConsumer sends n numbered reports of about 2 KB while a
// fast stream, opened now, must get every one in order: a slow consumer
// that stopped reading falls behind meanwhile.
func floodPastASlowConsumer(t *testing.T, app *testkit.App, token, project, op string, n int) {
	t.Helper()
	fast := testkit.OpenSSE(t, app.URL+opStreamPath(project, op), token)
	fast.Next(t, 5*time.Second)
	pad := strings.Repeat("x", 1900)
	for i := range n {
		mustReport(t, app, token, project, op, i*99/n, fmt.Sprintf("%04d %s", i, pad))
	}
	for i := range n {
		e := expectEvent(t, fast, "progress", 10*time.Second)
		if !strings.HasPrefix(e.Operation.Message, fmt.Sprintf("%04d ", i)) {
			t.Fatalf("fast consumer: event %d is %q", i, e.Operation.Message[:4])
		}
	}
}

// resumeAfterEviction checks what an evicted slow consumer received of n
// numbered reports — in order, from the first, not all of them — and that
// a resume after the last complete message gets exactly the rest.
func resumeAfterEviction(t *testing.T, app *testkit.App, token, project, op string, data []byte, n int) {
	t.Helper()
	// Only complete messages count: the connection may end inside one.
	lastID, lastIndex := "", -1
	blocks := strings.Split(string(data), "\n\n")
	for _, block := range blocks[:len(blocks)-1] {
		ev := testkit.SSEEvent{}
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				ev.ID = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				ev.Data = v
			}
		}
		if ev.ID == "" {
			continue
		}
		idx, err := strconv.Atoi(decodeEvent(t, ev).Operation.Message[:4])
		if err != nil || idx != lastIndex+1 {
			t.Fatalf("slow consumer: message %q after index %d", decodeEvent(t, ev).Operation.Message[:4], lastIndex)
		}
		lastID, lastIndex = ev.ID, idx
	}
	if lastIndex >= n-1 {
		t.Fatalf("the slow consumer received all %d messages; it was never behind", n)
	}
	rest, _, _ := followFrom(t, app.URL+opStreamPath(project, op), token, lastID, n-1-lastIndex)
	for i, msg := range rest {
		if !strings.HasPrefix(msg, fmt.Sprintf("%04d ", lastIndex+1+i)) {
			t.Fatalf("resumed event %d is %q, want %04d", i, msg[:4], lastIndex+1+i)
		}
	}
}

// followFrom resumes after lastID and reads want progress events.
func followFrom(t *testing.T, url, token, lastID string, want int) ([]string, []int64, int) {
	t.Helper()
	s := testkit.OpenSSE(t, url, token, "Last-Event-ID", lastID)
	if s.Status != http.StatusOK {
		t.Fatalf("resume: %d %s", s.Status, s.Body)
	}
	var msgs []string
	var ids []int64
	for len(msgs) < want {
		ev := s.Next(t, 10*time.Second)
		if ev.Event == "snapshot" {
			t.Fatalf("a resume sent a snapshot")
		}
		msgs = append(msgs, decodeEvent(t, ev).Operation.Message)
		ids = append(ids, seq(t, ev))
	}
	if extra, ok := s.TryNext(200 * time.Millisecond); ok {
		t.Fatalf("more than %d events: %+v", want, extra)
	}
	return msgs, ids, 1
}

// TestStreamTickets: a browser's EventSource opens a stream with a
// single-use ticket bound to the caller and the stream; tickets never
// appear in the logs.
func TestStreamTickets(t *testing.T) {
	app, _ := startOperationsApp(t, "SSE_TICKET_TTL", "1s", "LOG_LEVEL", "debug")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "tickets")
	op := createOperation(t, app, alice, p.ID, "import")
	issue := func(path string) (ticket, url string) {
		res := app.Do("POST", path, alice, nil)
		if res.Status != http.StatusCreated {
			t.Fatalf("ticket: %d %s", res.Status, res.Body)
		}
		m := res.Map(t)
		return m["ticket"].(string), m["url"].(string)
	}
	ticket, url := issue("/api/v1/projects/" + p.ID + "/operations/" + op.ID + "/events/tickets")
	if url != opStreamPath(p.ID, op.ID)+"?ticket="+ticket {
		t.Fatalf("ticket url %q", url)
	}
	s := testkit.OpenSSE(t, app.URL+url, "")
	if s.Status != http.StatusOK {
		t.Fatalf("stream with a ticket: %d %s", s.Status, s.Body)
	}
	if snap := s.Next(t, 5*time.Second); snap.Event != "snapshot" {
		t.Fatalf("first message %+v", snap)
	}
	mustReport(t, app, alice, p.ID, op.ID, 10, "live")
	if e := expectEvent(t, s, "progress", 5*time.Second); e.Operation.Message != "live" {
		t.Fatalf("live event %+v", e)
	}
	if again := testkit.OpenSSE(t, app.URL+url, ""); again.Status != http.StatusUnauthorized {
		t.Fatalf("second use of a ticket: %d", again.Status)
	}
	// A ticket is bound to its stream.
	projectTicket, _ := issue("/api/v1/projects/" + p.ID + "/events/tickets")
	if other := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID)+"?ticket="+projectTicket, ""); other.Status != http.StatusUnauthorized {
		t.Fatalf("a project ticket on an operation stream: %d", other.Status)
	}
	// It expires.
	_, expiring := issue("/api/v1/projects/" + p.ID + "/events/tickets")
	time.Sleep(1200 * time.Millisecond)
	if late := testkit.OpenSSE(t, app.URL+expiring, ""); late.Status != http.StatusUnauthorized {
		t.Fatalf("an expired ticket: %d", late.Status)
	}
	if none := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), ""); none.Status != http.StatusUnauthorized {
		t.Fatalf("no token and no ticket: %d", none.Status)
	}
	for _, entry := range app.Logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(line, ticket) || strings.Contains(line, projectTicket) || strings.Contains(line, alice) {
			t.Fatalf("a ticket or token is in the logs: %s", line)
		}
	}
}

// TestStreamEndsWhenTheTokenExpires.
func TestStreamEndsWhenTheTokenExpires(t *testing.T) {
	app, _ := startOperationsApp(t)
	long := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, long, "expiry")
	short := testkit.Token(t, "alice", 2*time.Second)
	s := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), short)
	s.Next(t, 5*time.Second)
	rest := s.WaitEnd(t, 10*time.Second)
	if len(rest) != 1 || rest[0].Event != "token_expired" {
		t.Fatalf("end of stream: %+v", rest)
	}
}

// TestStreamCapPerSubject: beyond SSE_MAX_STREAMS_PER_SUBJECT, 429.
func TestStreamCapPerSubject(t *testing.T) {
	app, _ := startOperationsApp(t, "SSE_MAX_STREAMS_PER_SUBJECT", "2", "SSE_KEEPALIVE", "100ms")
	alice := testkit.Token(t, "alice", time.Hour)
	bob := testkit.Token(t, "bob", time.Hour)
	p := create(t, app, alice, "cap")
	pb := create(t, app, bob, "cap")
	a1 := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), alice)
	a2 := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), alice)
	if a1.Status != http.StatusOK || a2.Status != http.StatusOK {
		t.Fatalf("first two: %d %d", a1.Status, a2.Status)
	}
	a3 := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), alice)
	if a3.Status != http.StatusTooManyRequests || !strings.Contains(string(a3.Body), "stream.too_many") {
		t.Fatalf("third: %d %s", a3.Status, a3.Body)
	}
	if b := testkit.OpenSSE(t, app.URL+projectStreamPath(pb.ID), bob); b.Status != http.StatusOK {
		t.Fatalf("another caller: %d", b.Status)
	}
	a1.Close()
	if !testkit.Eventually(5*time.Second, func() bool {
		s := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), alice)
		defer s.Close()
		return s.Status == http.StatusOK
	}) {
		t.Fatal("a closed stream still counts against the cap")
	}
}

// TestShutdownSpreadsTheEndsOfStreams: at stop, each stream ends at a
// moment of its own, drawn from the first half of the shutdown timeout,
// so that a fleet's clients do not reconnect in one burst; every one ends
// with its retry hint before the stop returns. The moments are read from
// the closing comment each stream gets, not measured.
func TestShutdownSpreadsTheEndsOfStreams(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "spread")
	op := createOperation(t, app, alice, p.ID, "import")
	const n = 12
	var streams []*testkit.SSE
	for range n {
		s := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice)
		if s.Status != http.StatusOK {
			t.Fatalf("open: %d %s", s.Status, s.Body)
		}
		s.Next(t, 10*time.Second)
		streams = append(streams, s)
	}
	if err := app.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	window := app.Config.HTTP.ShutdownTimeout / 2
	closing := regexp.MustCompile(`^shutting down \(this stream ends (\S+) into the (\S+) drain window\); resume with Last-Event-ID$`)
	var offsets []time.Duration
	for i, s := range streams {
		s.WaitEnd(t, 10*time.Second)
		if n := len(s.Retries()); n < 2 {
			t.Fatalf("stream %d ended with %d retry hints, want the opening one and a closing one", i, n)
		}
		var found bool
		for _, c := range s.Comments() {
			m := closing.FindStringSubmatch(c)
			if m == nil {
				continue
			}
			d, err := time.ParseDuration(m[1])
			if err != nil || m[2] != window.String() || d < 0 || d >= window {
				t.Fatalf("stream %d: %q; want a moment inside the %v window", i, c, window)
			}
			offsets = append(offsets, d)
			found = true
		}
		if !found {
			t.Fatalf("stream %d ended without the shutdown comment", i)
		}
	}
	low, high := offsets[0], offsets[0]
	for _, d := range offsets {
		low, high = min(low, d), max(high, d)
	}
	// Twelve uniform draws all fall within a quarter of the window less
	// than once in 400,000 runs.
	if high-low < window/4 {
		t.Fatalf("the streams' ends are bunched: %v within %v", offsets, window)
	}
	t.Logf("%d streams ended at %v into a %v window", n, offsets, window)
}

// TestShutdownDrainsStreams: stopping an instance ends its streams with a
// retry hint inside the shutdown timeout, and their clients resume on
// another instance with no loss.
func TestShutdownDrainsStreams(t *testing.T) {
	one, two := startTwoOperationsApps(t)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, one, alice, "drain")
	op := createOperation(t, one, alice, p.ID, "import")
	var streams []*testkit.SSE
	for range 3 {
		s := testkit.OpenSSE(t, one.URL+opStreamPath(p.ID, op.ID), alice)
		s.Next(t, 5*time.Second)
		streams = append(streams, s)
	}
	mustReport(t, two, alice, p.ID, op.ID, 10, "before stop")
	var lastID string
	for _, s := range streams {
		ev := s.Next(t, 5*time.Second)
		lastID = ev.ID
	}
	start := time.Now()
	if err := one.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took := time.Since(start); took > one.Config.HTTP.ShutdownTimeout {
		t.Fatalf("stop took %v, beyond the shutdown timeout", took)
	}
	for _, s := range streams {
		s.WaitEnd(t, time.Second)
		if n := len(s.Retries()); n < 2 {
			t.Fatalf("stream ended with %d retry hints, want the opening one and a closing one", n)
		}
	}
	mustReport(t, two, alice, p.ID, op.ID, 20, "after stop")
	msgs, _, _ := followFrom(t, two.URL+opStreamPath(p.ID, op.ID), alice, lastID, 1)
	if msgs[0] != "after stop" {
		t.Fatalf("resumed on the other instance: %v", msgs)
	}
}
