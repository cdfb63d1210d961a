package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "streams", run: streams}) }

// The figures' names (-figures selects on them).
const (
	figIdle       = "idle streams memory"
	figIdleH2     = "idle HTTP/2 streams memory"
	figFanOne     = "fan-out p99, one instance"
	figFanH2      = "fan-out p99 over HTTP/2, one instance"
	figFanTwo     = "fan-out p99, two instances via Redis"
	figThroughput = "POST .../progress throughput (vs bare pgx+gin)"
)

// streams measures the operation context's Server-Sent Events: the memory
// an idle stream costs the server, how fast one event reaches many
// streams on one instance and across two, and how many progress reports
// the API accepts (and delivers, every one) against a bare INSERT.
func streams(ctx context.Context, o options) (res []result, err error) {
	tb := &benchTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	testkit.RequireRedis(tb)
	wantIdle, wantFan := o.wants(figIdle) || o.wants(figIdleH2), o.wants(figFanOne) || o.wants(figFanTwo) || o.wants(figFanH2)
	if wantIdle || wantFan {
		raiseFileLimit()
		warn("  streams: building cmd/api")
		bin, removeBin, err := buildAPI(ctx)
		if err != nil {
			return nil, err
		}
		defer removeBin()
		for _, h2 := range []bool{false, true} {
			if name := map[bool]string{false: figIdle, true: figIdleH2}[h2]; !o.wants(name) {
				continue
			}
			r, err := idleStreams(ctx, o, tb, bin, h2)
			if err != nil {
				return nil, fmt.Errorf("idle streams: %w", err)
			}
			res = append(res, r...)
		}
		if wantFan {
			r, err := fanOut(ctx, o, tb, bin)
			if err != nil {
				return nil, fmt.Errorf("fan-out: %w", err)
			}
			res = append(res, r...)
		}
	}
	if o.wants(figThroughput) {
		r, err := progressThroughput(ctx, o, tb)
		if err != nil {
			return nil, fmt.Errorf("progress throughput: %w", err)
		}
		res = append(res, r)
	}
	return res, nil
}

// childEnv is a separate API process's environment: PostgreSQL, Redis
// under prefix, streams that neither time out nor hit the per-caller cap
// during a benchmark, and keepalives rare enough to leave idle streams idle.
func childEnv(dbURL, prefix string) map[string]string {
	env := testkit.BaseEnv(dbURL)
	env["APP_ENV"] = "production"
	env["LOG_LEVEL"] = "warn"
	env["LOG_FORMAT"] = "json"
	env["REDIS_URL"] = testkit.RedisURL()
	env["REDIS_KEY_PREFIX"] = prefix
	env["SSE_KEEPALIVE"] = "5m"
	env["SSE_MAX_DURATION"] = "1h"
	env["SSE_PASS_TTL"] = "2h" // must outlive a stream
	env["SSE_MAX_STREAMS_PER_SUBJECT"] = "100000"
	return env
}

// api is the little of the API the benchmark calls outside load().
type api struct {
	url    string
	token  string
	client *http.Client
}

func newAPI(url, token string) *api {
	return &api{url: url, token: token, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
}

// close drops the client's idle connections.
func (a *api) close() { a.client.CloseIdleConnections() }

func (a *api) post(path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, a.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = res.Body.Close() }()
	var b bytes.Buffer
	_, err = b.ReadFrom(res.Body)
	return res.StatusCode, b.Bytes(), err
}

// create POSTs body to path, wants 201 and returns the new id.
func (a *api) create(path, body string) (string, error) {
	status, b, err := a.post(path, body)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("POST %s: %d %s", path, status, b)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

func (a *api) project(name string) (string, error) {
	return a.create("/api/v1/projects", `{"name":"`+name+`"}`)
}

func (a *api) operation(project string) (string, error) {
	return a.create("/api/v1/projects/"+project+"/operations", `{"kind":"import"}`)
}

func progressPath(project, op string) string {
	return "/api/v1/projects/" + project + "/operations/" + op + "/progress"
}

func eventsPath(project, op string) string {
	return "/api/v1/projects/" + project + "/operations/" + op + "/events"
}

func (a *api) report(project, op string, percent int, message string) error {
	status, b, err := a.post(progressPath(project, op), fmt.Sprintf(`{"percent":%d,"message":%q}`, percent, message))
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("report %d%%: %d %s", percent, status, b)
	}
	return nil
}

type opRef struct{ project, op string }

// idleStreams opens many streams on one API process that does nothing
// else and reads how much its resident memory grew per stream. Each stream
// is a bare TCP connection of the benchmark that reads only the response's
// head, so the client costs the server nothing but the stream. It does so
// twice: on the fresh process, and again after closing every stream, as
// if all had reconnected once (they do every SSE_MAX_DURATION): memory
// the process already used and must clear for reuse is then resident,
// where a fresh process's untouched pages are not. Between the two, the
// closed streams must end without an event or a keepalive: each looks
// whether its client left every min(SSE_KEEPALIVE/2, 5 s).
//
// Over HTTP/2 (h2) the streams share cleartext HTTP/2 connections (250
// to a connection, as the server allows): each is the server's handler
// goroutine writing through http.ResponseController, not a hijacked
// connection, and the budget is the 32 KiB.
func idleStreams(ctx context.Context, o options, tb *benchTB, bin string, h2 bool) ([]result, error) {
	n := 10000
	if o.smoke {
		n = 50
	}
	budgetKiB, fig := 16, figIdle
	var client *http.Client
	env := childEnv(testkit.NewPostgresDatabase(tb), testkit.RandomName("bench_")+":")
	if h2 {
		budgetKiB, fig, client = 32, figIdleH2, h2Client()
		env["HTTP_H2C"] = "true"
		defer client.CloseIdleConnections()
	}
	c, err := startChild(ctx, bin, env)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	a := newAPI(c.url, testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", 2*time.Hour))
	defer a.close()
	var ops []opRef
	for p := range 4 {
		pid, err := a.project(fmt.Sprintf("idle-%d", p))
		if err != nil {
			return nil, err
		}
		for range 2 {
			oid, err := a.operation(pid)
			if err != nil {
				return nil, err
			}
			ops = append(ops, opRef{pid, oid})
		}
	}
	// One stream first, so that everything the first stream initialises
	// once (routes, statements, pools) is in the baseline, not per stream.
	open := func(path string) (*rawStream, error) {
		if h2 {
			return openH2(ctx, client, c.addr, path, a.token, 1024)
		}
		return openRaw(ctx, c.addr, path, a.token, "", 1024)
	}
	warm, err := open(eventsPath(ops[0].project, ops[0].op))
	if err != nil {
		return nil, err
	}
	defer warm.close()
	time.Sleep(time.Second)
	gauges := []string{"go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines"}
	before, err := c.rssKiB()
	if err != nil {
		return nil, err
	}
	mBefore := goMetrics(c.url, gauges...)

	var res []result
	for wave, label := range []string{"fresh process", "after every stream reconnected"} {
		begin := time.Now()
		conns, err := openManyWith(ctx, client, c.addr, a.token, n, 16, 1024, func(i int) string {
			return eventsPath(ops[i%len(ops)].project, ops[i%len(ops)].op)
		})
		if err != nil {
			return nil, err
		}
		closeAll := func() {
			for _, s := range conns {
				s.close()
			}
			if client != nil {
				// Streams closed, their connections are idle: close those too,
				// as the HTTP/1.1 streams' connections are.
				client.CloseIdleConnections()
			}
		}
		opened := time.Since(begin)
		// Let the allocations of the opening settle; the child's GC runs
		// on its own schedule and cannot be forced from here.
		time.Sleep(2 * time.Second)
		after, err := c.rssKiB()
		if err != nil {
			closeAll()
			return nil, err
		}
		mAfter := goMetrics(c.url, gauges...)
		perStream := float64(after-before) / float64(n)
		// What idle streams cost the CPU: over one departure interval
		// each stream wakes once to look at its connection.
		if u0, err := readUsage(c.cmd.Process.Pid); err == nil && !o.smoke {
			time.Sleep(departureInterval)
			if u1, err := readUsage(c.cmd.Process.Pid); err == nil {
				warn("  idle streams, %s: %v of CPU over %v (%.2f %% of a core) for %d idle streams", label,
					u1.cpu-u0.cpu, departureInterval, 100*float64(u1.cpu-u0.cpu)/float64(departureInterval), n)
			}
		}
		warn("  idle streams, %s: %d opened in %v; VmRSS %d → %d KiB (%.1f KiB/stream)", label, n, opened.Round(time.Millisecond), before, after, perStream)
		if len(mBefore) == len(gauges) && len(mAfter) == len(gauges) {
			warn("  idle streams, %s: per stream, Go heap in use %+.1f KiB, stacks %+.1f KiB; goroutines %+.0f", label,
				(mAfter[gauges[0]]-mBefore[gauges[0]])/1024/float64(n), (mAfter[gauges[1]]-mBefore[gauges[1]])/1024/float64(n),
				mAfter[gauges[2]]-mBefore[gauges[2]])
		}
		// Idle is not dead: one event per operation must reach a sample.
		got, sampled, err := idleCheck(a, ops, conns, wave)
		closeAll()
		if err != nil {
			return nil, err
		}
		ratio := perStream / float64(budgetKiB)
		res = append(res, result{
			Name: fig + ", " + label,
			Measured: fmt.Sprintf("%.1f KiB × %d streams, VmRSS %d → %d KiB, event reached %d/%d sampled (%d errors)",
				perStream, n, before, after, got, sampled, sampled-got),
			Baseline: fmt.Sprintf("%d KiB budget", budgetKiB),
			Ratio:    max(ratio, 1e-6),
			Target:   fmt.Sprintf("≤ 1.0 (under %d KiB per stream)", budgetKiB),
			Pass:     ratio <= 1,
			Errors:   sampled - got,
			Noise:    "noisy: resident memory, as the garbage collector left it",
		})
		if wave == 0 {
			// No event and no keepalive (5 minutes away here) reaches the
			// closed streams: each must notice by itself that its client
			// left, within the departure interval (plus the time to close
			// them all and to end as many pumps on a loaded machine).
			left := time.Now()
			ended := false
			for !ended && time.Since(left) < departureInterval+departureSlack {
				time.Sleep(100 * time.Millisecond)
				if client != nil {
					// A connection whose streams were reset is idle once the
					// server has acknowledged them (Go's client pings first).
					client.CloseIdleConnections()
				}
				g := goMetrics(c.url, gauges[2])
				ended = g[gauges[2]] <= mBefore[gauges[2]]+2
			}
			if !ended {
				return nil, fmt.Errorf("the server still serves the %d closed streams %v after their clients left", n, departureInterval+departureSlack)
			}
			warn("  idle streams: all %d ended %v after their clients left (interval %v)", n, time.Since(left).Round(time.Millisecond), departureInterval)
			time.Sleep(time.Second)
		}
	}
	return res, nil
}

// departureInterval is min(SSE_KEEPALIVE/2, 5 s) at childEnv's keepalive:
// how often a stream looks whether its client left. departureSlack is what
// ending thousands of them at once may take beyond it.
const (
	departureInterval = 5 * time.Second
	departureSlack    = 5 * time.Second
)

// idleCheck reports one event per operation and counts the sampled
// streams (about 100) that received theirs.
func idleCheck(a *api, ops []opRef, conns []*rawStream, wave int) (got, sampled int, err error) {
	for i, op := range ops {
		if err := a.report(op.project, op.op, 1+wave, fmt.Sprintf("idle-check-%d-%d", wave, i)); err != nil {
			return 0, 0, err
		}
	}
	step := max(1, len(conns)/100)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < len(conns); i += step {
		sampled++
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := conns[i]
			s.setReadDeadline(time.Now().Add(15 * time.Second))
			want := fmt.Sprintf("idle-check-%d-%d", wave, i%len(ops))
			for {
				m, _, err := s.next()
				if err != nil {
					return
				}
				if m.Event == "progress" {
					if msg, _ := messageOf(m.Data); msg == want {
						ok.Add(1)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	return int(ok.Load()), sampled, nil
}

// fanOut runs two API processes on one database and one Redis prefix and
// measures, from just before a report is sent until each stream has read
// it, how long one event takes to reach many streams of its operation:
// with the streams on the instance that accepted the report, and with
// them on the other one.
func fanOut(ctx context.Context, o options, tb *benchTB, bin string) ([]result, error) {
	n, events := 1000, 20
	if o.smoke {
		n, events = 20, 5
	}
	dbURL := testkit.NewPostgresDatabase(tb)
	env := childEnv(dbURL, testkit.RandomName("bench_")+":")
	env["HTTP_H2C"] = "true" // HTTP/1.1 as before, and HTTP/2 for figFanH2
	instA, err := startChild(ctx, bin, env)
	if err != nil {
		return nil, err
	}
	defer instA.stop()
	instB, err := startChild(ctx, bin, env) // after A: A has migrated the schema
	if err != nil {
		return nil, err
	}
	defer instB.stop()
	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", 2*time.Hour)
	a := newAPI(instA.url, token)
	defer a.close()
	pid, err := a.project("fan-out")
	if err != nil {
		return nil, err
	}

	var res []result
	for _, f := range []struct {
		name    string
		streams *child
		target  time.Duration
		h2      bool
	}{
		{figFanOne, instA, 100 * time.Millisecond, false},
		{figFanTwo, instB, 150 * time.Millisecond, false},
		{figFanH2, instA, 100 * time.Millisecond, true},
	} {
		if !o.wants(f.name) {
			continue
		}
		oid, err := a.operation(pid)
		if err != nil {
			return nil, err
		}
		var client *http.Client
		if f.h2 {
			client = h2Client()
		}
		p50, p99, missing, err := fanOutOnce(ctx, a, client, []string{f.streams.addr}, pid, oid, n, events)
		if client != nil {
			client.CloseIdleConnections()
		}
		if err != nil {
			return nil, err
		}
		ratio := float64(p99) / float64(f.target)
		res = append(res, result{
			Name: f.name,
			Measured: fmt.Sprintf("p99 %v, p50 %v over %d streams × %d events (%d errors)",
				p99.Round(100*time.Microsecond), p50.Round(100*time.Microsecond), n, events, missing),
			Baseline: f.target.String() + " target",
			Ratio:    max(ratio, 1e-6),
			Target:   "≤ 1.0 (p99 under " + f.target.String() + ")",
			Pass:     ratio <= 1,
			Errors:   missing,
		})
	}
	return res, nil
}

// fanOutOnce opens n streams of one operation, spread over streamAddrs, and sends
// events reports through a, spaced at least 100 ms and each only after
// the previous one reached every stream (or 5 s passed). It returns the
// percentiles of every (stream, event) delivery and how many never came.
func fanOutOnce(ctx context.Context, a *api, h2 *http.Client, streamAddrs []string, pid, oid string, n, events int) (p50, p99 time.Duration, missing int, err error) {
	const warmup = 2
	total := warmup + events
	var conns []*rawStream
	for j, addr := range streamAddrs {
		share := n / len(streamAddrs)
		if j < n%len(streamAddrs) {
			share++
		}
		c, err := openManyWith(ctx, h2, addr, a.token, share, 16, 16<<10, func(int) string { return eventsPath(pid, oid) })
		if err != nil {
			for _, s := range conns {
				s.close()
			}
			return 0, 0, 0, err
		}
		conns = append(conns, c...)
	}
	recv := make([][]time.Time, n)
	delivered := make([]atomic.Int64, total)
	followers := make([]*follower, n)
	for i := range n {
		recv[i] = make([]time.Time, total)
		followers[i] = follow(&follower{on: func(m sseMsg, at time.Time) {
			if m.Event != "progress" {
				return
			}
			msg, _ := messageOf(m.Data)
			k, err := strconv.Atoi(strings.TrimPrefix(msg, "fan-"))
			if err != nil || k < 0 || k >= total || !recv[i][k].IsZero() {
				return
			}
			recv[i][k] = at
			delivered[k].Add(1)
		}}, conns[i])
	}
	stopAll := func() {
		for _, f := range followers {
			f.stop()
		}
	}
	sent := make([]time.Time, total)
	wait := func(k int) {
		deadline := time.Now().Add(5 * time.Second)
		for delivered[k].Load() < int64(n) && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
	}
	// The operation's percent may never go down: event k reports k+1.
	for k := range total {
		if k > 0 {
			wait(k - 1)
			if d := time.Until(sent[k-1].Add(100 * time.Millisecond)); d > 0 {
				time.Sleep(d)
			}
		}
		if ctx.Err() != nil {
			stopAll()
			return 0, 0, 0, ctx.Err()
		}
		sent[k] = time.Now()
		if err := a.report(pid, oid, k+1, "fan-"+strconv.Itoa(k)); err != nil {
			stopAll()
			return 0, 0, 0, err
		}
	}
	wait(total - 1)
	stopAll() // after this, recv is no longer written
	var lat []time.Duration
	for i := range n {
		for k := warmup; k < total; k++ {
			if recv[i][k].IsZero() {
				missing++
				continue
			}
			lat = append(lat, recv[i][k].Sub(sent[k]))
		}
	}
	if len(lat) == 0 {
		return 0, 0, missing, fmt.Errorf("no event reached any stream")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], missing, nil
}

// outcome is one progress report as its client saw it.
type outcome struct {
	message string
	// accepted: 200; unknown: no answer (the server may have taken it).
	accepted, unknown bool
}

// progressThroughput measures progress reports accepted per second with c
// clients, each reporting on an operation of its own, against a bare
// gin handler doing one pgx INSERT per request, in interleaved rounds; a
// stream per operation, open throughout, must receive every accepted
// report exactly once and in order.
func progressThroughput(ctx context.Context, o options, tb *benchTB) (result, error) {
	d := o.duration
	if o.smoke {
		d = max(d, time.Second)
	}
	dbURL := testkit.NewPostgresDatabase(tb)
	env := benchEnv(dbURL)
	for k, v := range childEnv(dbURL, testkit.RandomName("bench_")+":") {
		if strings.HasPrefix(k, "SSE_") || strings.HasPrefix(k, "REDIS_") {
			env[k] = v
		}
	}
	app, err := startApp(env)
	if err != nil {
		return result{}, err
	}
	defer app.stop()
	pool, err := pgxpool.New(ctx, dbURL+"&pool_max_conns=20")
	if err != nil {
		return result{}, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE `+bareProgressTable); err != nil {
		return result{}, err
	}
	bareURL, stopBare, err := serve(bareProgressServer(pool))
	if err != nil {
		return result{}, err
	}
	defer stopBare()

	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", 2*time.Hour)
	a := newAPI(app.url, token)
	defer a.close()
	pid, err := a.project("throughput")
	if err != nil {
		return result{}, err
	}
	c := o.concurrency
	ops := make([]string, c)
	for w := range c {
		if ops[w], err = a.operation(pid); err != nil {
			return result{}, err
		}
	}
	addr := strings.TrimPrefix(app.url, "http://")
	received := make([][]string, c)
	var recvMu sync.Mutex
	followers := make([]*follower, 0, c)
	defer func() {
		for _, f := range followers {
			f.stop()
		}
	}()
	for w := range c {
		s, err := openRaw(ctx, addr, eventsPath(pid, ops[w]), token, "", 16<<10)
		if err != nil {
			return result{}, err
		}
		followers = append(followers, follow(&follower{addr: addr, path: eventsPath(pid, ops[w]), token: token, resume: true,
			on: func(m sseMsg, _ time.Time) {
				if m.Event == "snapshot" {
					return
				}
				msg, _ := messageOf(m.Data)
				recvMu.Lock()
				received[w] = append(received[w], msg)
				recvMu.Unlock()
			}}, s))
	}

	// Each worker's count goes on across rounds: its percent never goes
	// down (1, 2, … 99, 99, …) and its messages never repeat.
	count := make([]int, c)
	current := make([]string, c)
	outcomes := make([][]outcome, c)
	urls := make([]string, c)
	for w := range c {
		urls[w] = app.url + progressPath(pid, ops[w])
	}
	ours := func(w, i int) (*http.Request, error) {
		count[w]++
		current[w] = "m-" + strconv.Itoa(count[w])
		body := fmt.Appendf(nil, `{"percent":%d,"message":%q}`, min(count[w], 99), current[w])
		return post(urls[w], token, func(int, int) []byte { return body })(w, i)
	}
	observe := func(w, _ int, status int, err error) {
		outcomes[w] = append(outcomes[w], outcome{message: current[w], accepted: status == http.StatusOK, unknown: err != nil})
	}
	var seq atomic.Int64
	bare := post(bareURL+"/progress/"+uuid.NewString(), "", func(int, int) []byte {
		return fmt.Appendf(nil, `{"percent":%d,"message":"m-%d"}`, 50, seq.Add(1))
	})

	// Where the CPU goes, per request sent (warm-up included): this
	// process (client, API or bare server) and the database's backends.
	var sent atomic.Int64
	counted := func(int, int, int, error) { sent.Add(1) }
	var or, br []stats
	var oCPU, bCPU cpuUse
	for round := range o.rounds {
		m := startCPU(ctx, pool)
		sent.Store(0)
		br = append(br, load(ctx, c, d, http.StatusOK, bare, counted))
		bCPU = bCPU.add(m.stop(ctx, pool, sent.Load()))
		m = startCPU(ctx, pool)
		sent.Store(0)
		or = append(or, load(ctx, c, d, http.StatusOK, ours, observe, counted))
		oCPU = oCPU.add(m.stop(ctx, pool, sent.Load()))
		warn("  progress round %d: ours %.0f req/s p99 %v | bare %.0f req/s p99 %v", round+1,
			or[round].rps, or[round].p99.Round(10*time.Microsecond), br[round].rps, br[round].p99.Round(10*time.Microsecond))
	}
	warn("  progress CPU per request: ours %s | bare %s", oCPU, bCPU)

	// Every accepted report must reach its operation's stream: wait for
	// them, and a little longer for any that should not be there.
	accepted := 0
	for w := range c {
		for _, oc := range outcomes[w] {
			if oc.accepted {
				accepted++
			}
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		recvMu.Lock()
		n := 0
		for w := range c {
			n += len(received[w])
		}
		recvMu.Unlock()
		if n >= accepted {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	reconnects := 0
	var streamErrs []string
	for _, f := range followers {
		f.stop()
		reconnects += f.reconnects
		if f.err != nil {
			streamErrs = append(streamErrs, f.err.Error())
		}
	}
	followers = nil
	bad, firstBad := 0, ""
	for w := range c {
		if why := compareDelivery(outcomes[w], received[w]); why != "" {
			bad++
			if firstBad == "" {
				firstBad = fmt.Sprintf("; operation %d: %s", w, why)
			}
		}
	}
	if len(streamErrs) > 0 && firstBad == "" {
		firstBad = "; stream: " + streamErrs[0]
	}
	om, bm := median(or), median(br)
	ratio := om.rps / bm.rps
	delivery := fmt.Sprintf("%d/%d streams got their %d accepted reports exactly once, in order, %d reconnects%s",
		c-bad, c, accepted, reconnects, firstBad)
	warn("  progress delivery: %s", delivery)
	return result{
		Name:     figThroughput,
		Measured: fmt.Sprintf("%.0f reports/s; %s (%d errors)", om.rps, delivery, om.errors+bad),
		Baseline: fmt.Sprintf("%.0f INSERT/s", bm.rps),
		Ratio:    ratio, Target: "≥ 0.40, every report delivered",
		Pass: ratio >= 0.4, Errors: om.errors + bad,
	}, nil
}

// compareDelivery checks that a stream received exactly the accepted
// reports in the order they were sent; a report that got no answer may or
// may not be there. It returns what is wrong, or "".
func compareDelivery(sent []outcome, got []string) string {
	j := 0
	for _, oc := range sent {
		switch {
		case oc.accepted:
			if j >= len(got) {
				return fmt.Sprintf("%q missing (received %d)", oc.message, len(got))
			}
			if got[j] != oc.message {
				return fmt.Sprintf("expected %q at %d, received %q", oc.message, j, got[j])
			}
			j++
		case oc.unknown:
			if j < len(got) && got[j] == oc.message {
				j++
			}
		}
	}
	if j < len(got) {
		return fmt.Sprintf("%d unexpected or duplicated, first %q", len(got)-j, got[j])
	}
	return ""
}
