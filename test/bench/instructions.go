package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "instructions", run: instructions, gates: true}) }

// The routes' keys in the budgets file, in the order they are measured.
const (
	keyHealth   = "health-live"
	keyGet      = "get-by-id"
	keyList     = "list-20"
	keyPatch    = "patch"
	keyProgress = "progress"
	keyPost     = "post"
	keyDelivery = "stream-delivery"
)

var budgetKeys = []string{keyHealth, keyGet, keyList, keyPatch, keyProgress, keyPost, keyDelivery}

// instrSizes is how much each count covers.
type instrSizes struct {
	// warm requests per route, then windows of n and 2n counted ones,
	// sent over conns keep-alive connections.
	warm, n, conns int
	// streams open on one operation while events reports are counted,
	// in windows of events and 2×events, after warmEvents.
	streams, events, warmEvents int
}

func sizesFor(o options) instrSizes {
	if o.smoke {
		return instrSizes{warm: 5, n: 10, conns: 2, streams: 3, events: 3, warmEvents: 2}
	}
	s := instrSizes{warm: 3000, n: 1000, conns: 4, streams: 50, events: 40, warmEvents: 10}
	if o.requests > 0 {
		s.n = o.requests
	}
	return s
}

// instructions counts, with callgrind, the instructions the API executes
// per request on each route and those a bare gin + pgx server (bare.go)
// executes for the same work on the same rows, and fails the run when
// their ratio exceeds the route's budget (the file budgets). A count does
// not depend on how busy the machine is, so, unlike the wall-clock
// figures, it can gate the run.
//
// Both servers run as processes of their own under callgrind, measured
// the same way in the same run; the requests come from this process, not
// counted, over a few keep-alive connections. Per route: warm-up requests,
// uncounted; then, counting, a window of n requests and one of 2n, and the
// cost per request is their total over 3n. The warm-up is long (3,000
// requests) because Go fills its type-assertion caches at random, about
// once in 1,024 misses: after 300 requests the count still drifted by 1 %.
// Taking the difference of the two windows, to cancel what happens once
// per window, doubled the noise for nothing: that once-per-window cost is
// under 0.1 % (compare the windows, printed under each figure). Work that
// runs by the clock rather than per request (the relay's ticker, the
// project gate's cache expiry, Go's sysmon) is counted: it is small next
// to the requests, and the part of the count that still varies between
// runs (about 1 %).
//
// The garbage collector is off in both servers (GOGC=off). A cycle costs
// millions of instructions, most of them scanning the roots of a large
// binary, and comes every few hundred or thousand requests when the pacer
// decides, from CPU time: with it on, two windows of the same requests
// differed by half. What a request allocates is still counted (mallocgc);
// what collecting it would cost is not. The bytes allocated per request,
// which that cost grows with, are reported beside the counts. Both
// processes only grow: a full run ends with the API at about 1 GiB.
func instructions(ctx context.Context, o options) (res []result, err error) {
	tb := &benchTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	if err := requireCallgrind(); err != nil {
		return nil, err
	}
	budgets, err := parseBudgets(budgetsFile, budgetKeys)
	if err != nil {
		return nil, err
	}
	sz := sizesFor(o)
	begin := time.Now()
	dbURL := testkit.NewPostgresDatabase(tb)
	bin, removeBin, err := buildAPI(ctx)
	if err != nil {
		return nil, err
	}
	defer removeBin()
	dir, keep := o.callgrindDir, o.callgrindDir != ""
	if keep {
		err = os.MkdirAll(dir, 0o750)
	} else {
		dir, err = os.MkdirTemp("", "bench-counted-")
	}
	if err != nil {
		return nil, err
	}
	if !keep {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	env := benchEnv(dbURL)
	// Streams that stay open and silent for the whole run.
	env["SSE_KEEPALIVE"] = "1h"
	env["SSE_MAX_DURATION"] = "2h"
	env["SSE_PASS_TTL"] = "3h" // must outlive a stream
	env["SSE_MAX_STREAMS_PER_SUBJECT"] = strconv.Itoa(sz.streams + 10)
	ours, err := startCounted(ctx, dir, "api", bin, env, keep) // first: it migrates the schema the bare server uses
	if err != nil {
		return nil, err
	}
	defer ours.stop()
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bare, err := startCounted(ctx, dir, "bare", self, map[string]string{bareServerEnv: dbURL}, keep)
	if err != nil {
		return nil, err
	}
	defer bare.stop()

	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", 2*time.Hour)
	a := newAPI(ours.url, token)
	defer a.close()
	ourRoutes, err := newAPIRoutes(a, sz)
	if err != nil {
		return nil, err
	}
	var before *counted
	var beforeRoutes *apiRoutes
	if o.against != "" {
		if before, beforeRoutes, err = startBefore(ctx, tb, o.against, dir, keep, env, sz, token); err != nil {
			return nil, err
		}
		defer before.stop()
	}
	bareOps := make([]string, sz.conns)
	for w := range bareOps {
		bareOps[w] = uuid.NewString()
	}
	var seq atomic.Int64
	bareProgress := func(w, i int) (*http.Request, error) {
		return post(bare.url+"/progress/"+bareOps[w], "", func(int, int) []byte {
			return fmt.Appendf(nil, `{"percent":50,"message":"m-%d"}`, i)
		})(w, i)
	}
	routes := []struct {
		key, name string
		want      int
		bare      request
	}{
		{keyHealth, "GET /health/live", 200, get(bare.url+"/health/live", "")},
		{keyGet, "GET /api/v1/projects/{id}", 200, get(bare.url+"/projects/"+ourRoutes.getID, "")},
		{keyList, "GET /api/v1/projects?limit=20", 200, get(bare.url+"/projects?limit=20", "")},
		{keyPatch, "PATCH /api/v1/projects/{id}", 200, func(w, i int) (*http.Request, error) {
			return patch(bare.url+"/projects/"+ourRoutes.patchIDs[w], "", named(&seq, "bare-patch"))(w, i)
		}},
		{keyProgress, "POST .../operations/{o}/progress", 200, bareProgress},
		{keyPost, "POST /api/v1/projects", 201, post(bare.url+"/projects", "", named(&seq, "bare"))},
	}
	for _, r := range routes {
		if !o.wants(r.name) && !o.wants(r.key) {
			continue
		}
		started := time.Now()
		om, err := perRequest(ctx, ours, sz, r.want, ourRoutes.requests[r.key])
		if err != nil {
			return nil, fmt.Errorf("%s, API: %w", r.name, err)
		}
		bm, err := perRequest(ctx, bare, sz, r.want, r.bare)
		if err != nil {
			return nil, fmt.Errorf("%s, bare: %w", r.name, err)
		}
		res = append(res, countResult(r.key, r.name, "request", budgets[r.key], om, bm, time.Since(started)))
		if before != nil {
			pm, err := perRequest(ctx, before, sz, r.want, beforeRoutes.requests[r.key])
			if err != nil {
				return nil, fmt.Errorf("%s, API at %s: %w", r.name, o.against, err)
			}
			res = append(res, againstResult(o.against, r.name, "request", om, pm))
		}
	}

	if o.wants(keyDelivery) || o.wants("stream") {
		started := time.Now()
		om, err := apiDelivery(ctx, ours, a, sz)
		if err != nil {
			return nil, fmt.Errorf("stream delivery, API: %w", err)
		}
		b := newAPI(bare.url, "")
		defer b.close()
		bareOp := uuid.NewString()
		bm, err := perEvent(ctx, bare, sz, "", "/events/"+bareOp, func(i int) error {
			status, body, err := b.post("/progress/"+bareOp, fmt.Sprintf(`{"percent":%d,"message":"d-%d"}`, min(i+1, 99), i))
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("report: %d %s", status, body)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("stream delivery, bare: %w", err)
		}
		name := fmt.Sprintf("stream delivery, %d streams of one operation", sz.streams)
		r := countResult(keyDelivery, name, "delivered event", budgets[keyDelivery], om, bm, time.Since(started))
		r.Note += "; each report's own cost is included, shared by the streams it reaches"
		res = append(res, r)
		if before != nil {
			pa := newAPI(before.url, token)
			defer pa.close()
			pm, err := apiDelivery(ctx, before, pa, sz)
			if err != nil {
				return nil, fmt.Errorf("stream delivery, API at %s: %w", o.against, err)
			}
			res = append(res, againstResult(o.against, name, "delivered event", om, pm))
		}
	}
	counters := []*counted{ours, bare}
	if before != nil {
		counters = append(counters, before)
	}
	for _, s := range counters {
		if kib, err := s.rssKiB(); err == nil {
			warn("  instructions: %s VmRSS at the end %d MiB (the collector was off)", s.name, kib>>10)
		}
	}
	warn("  instructions: suite took %v", time.Since(begin).Round(time.Second))
	return res, nil
}

// apiRoutes is what the API's counted requests go to: rows of their own,
// created through the API a talks to, and a request per budget key.
type apiRoutes struct {
	getID    string
	patchIDs []string // one per connection: no request waits for another's row lock
	requests map[string]request
}

func newAPIRoutes(a *api, sz instrSizes) (*apiRoutes, error) {
	r := &apiRoutes{patchIDs: make([]string, sz.conns)}
	var err error
	if r.getID, err = a.project("instr-get"); err != nil {
		return nil, err
	}
	for i := range 25 { // a full page of 20 and a next one
		if _, err := a.project(fmt.Sprintf("instr-list-%d", i)); err != nil {
			return nil, err
		}
	}
	progressPID, err := a.project("instr-progress")
	if err != nil {
		return nil, err
	}
	ops := make([]string, sz.conns)
	for w := range sz.conns {
		if r.patchIDs[w], err = a.project(fmt.Sprintf("instr-patch-%d", w)); err != nil {
			return nil, err
		}
		if ops[w], err = a.operation(progressPID); err != nil {
			return nil, err
		}
	}
	var seq atomic.Int64
	// An operation's percent never goes down: 1, 2, … 99, 99, …
	reports := make([]int, sz.conns)
	progress := func(w, i int) (*http.Request, error) {
		reports[w]++
		body := fmt.Appendf(nil, `{"percent":%d,"message":"m-%d"}`, min(reports[w], 99), reports[w])
		return post(a.url+progressPath(progressPID, ops[w]), a.token, func(int, int) []byte { return body })(w, i)
	}
	r.requests = map[string]request{
		keyHealth: get(a.url+"/health/live", ""),
		keyGet:    get(a.url+"/api/v1/projects/"+r.getID, a.token),
		keyList:   get(a.url+"/api/v1/projects?limit=20", a.token),
		keyPatch: func(w, i int) (*http.Request, error) {
			return patch(a.url+"/api/v1/projects/"+r.patchIDs[w], a.token, named(&seq, "ours-patch"))(w, i)
		},
		keyProgress: progress,
		keyPost:     post(a.url+"/api/v1/projects", a.token, named(&seq, "ours")),
	}
	return r, nil
}

// named makes bodies with names never used before: names are unique per owner.
func named(seq *atomic.Int64, prefix string) func(int, int) []byte {
	return func(int, int) []byte {
		n := seq.Add(1)
		return fmt.Appendf(nil, `{"name":"%s-%d","description":"benchmark %d"}`, prefix, n, n)
	}
}

// apiDelivery counts what srv, the API a talks to, executes per event
// delivered to sz.streams streams of one operation.
func apiDelivery(ctx context.Context, srv *counted, a *api, sz instrSizes) (count, error) {
	pid, err := a.project("instr-streams")
	if err != nil {
		return count{}, err
	}
	op, err := a.operation(pid)
	if err != nil {
		return count{}, err
	}
	return perEvent(ctx, srv, sz, a.token, eventsPath(pid, op), func(i int) error {
		return a.report(pid, op, min(i+1, 99), "d-"+strconv.Itoa(i))
	})
}

// count is one server's instructions per unit of work on one route.
type count struct {
	per        float64 // the difference of the two windows, per unit
	wA, wB     float64 // each window on its own, per unit
	units      int     // in the difference
	bytes      float64 // allocated per unit over both windows; < 0 when unknown
	errors     int
	firstError string
}

func countResult(key, name, unit string, budget float64, om, bm count, took time.Duration) result {
	ratio := om.per / bm.per
	warn("  instructions: %s: API %.0f, bare %.0f per %s, ratio %.3f (%v)", name, om.per, bm.per, unit, ratio, took.Round(time.Second))
	note := fmt.Sprintf("per %s in each window (n, 2n): API %s, %s; bare %s, %s; allocated per %s: API %s, bare %s; %d %ss counted in %v",
		unit, thousands(om.wA), thousands(om.wB), thousands(bm.wA), thousands(bm.wB),
		unit, bytesOf(om.bytes), bytesOf(bm.bytes), 3*om.units, unit, took.Round(time.Second))
	if e := om.firstError + bm.firstError; e != "" {
		note += "; first error: " + e
	}
	return result{
		Name:     "instructions: " + name,
		Measured: fmt.Sprintf("%s instructions per %s (%d errors)", thousands(om.per), unit, om.errors+bm.errors),
		Baseline: thousands(bm.per),
		Ratio:    ratio,
		Target:   fmt.Sprintf("≤ %.2f (budgets: %s)", budget, key),
		Pass:     ratio <= budget,
		Gate:     true,
		Errors:   om.errors + bm.errors,
		Note:     note,
	}
}

// perRequest counts what srv executes per request of mk, as the suite's
// comment describes.
func perRequest(ctx context.Context, srv *counted, sz instrSizes, want int, mk request) (count, error) {
	tr := &http.Transport{MaxIdleConns: sz.conns, MaxIdleConnsPerHost: sz.conns, IdleConnTimeout: time.Hour}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	defer tr.CloseIdleConnections()
	var c count
	err := window(srv, &c, sz.warm, sz.n, func(n int) error {
		bad, first := send(ctx, client, sz.conns, n, want, mk)
		c.errors += bad
		if c.firstError == "" {
			c.firstError = first
		}
		return ctx.Err()
	})
	return c, err
}

// window does warm units of work on srv uncounted, then counts two
// windows of n and 2n units and sets c's figures.
func window(srv *counted, c *count, warm, n int, work func(n int) error) error {
	if err := work(warm); err != nil {
		return err
	}
	s0, s1 := allocated(srv.url), allocated(srv.url)
	if err := srv.instrument(true); err != nil {
		return err
	}
	defer func() { _ = srv.instrument(false) }()
	if err := srv.zero(); err != nil {
		return err
	}
	if err := work(n); err != nil {
		return err
	}
	a, err := srv.dump()
	if err != nil {
		return err
	}
	if err := work(2 * n); err != nil {
		return err
	}
	b, err := srv.dump()
	if err != nil {
		return err
	}
	c.units = n
	c.per = float64(a+b) / float64(3*n)
	c.wA, c.wB = float64(a)/float64(n), float64(b)/float64(2*n)
	c.bytes = -1
	if s2 := allocated(srv.url); s0 >= 0 && s1 >= 0 && s2 >= 0 {
		c.bytes = ((s2 - s1) - (s1 - s0)) / float64(3*n) // s1 - s0: what one scrape allocates
	}
	return nil
}

// send makes exactly n requests from conns workers sharing client's
// keep-alive connections and counts those not answered with want.
func send(ctx context.Context, client *http.Client, conns, n, want int, mk request) (bad int, first string) {
	var mu sync.Mutex
	fail := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		bad++
		if first == "" {
			first = what
		}
	}
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n && ctx.Err() == nil; i += conns {
				req, err := mk(w, i)
				if err != nil {
					fail(err.Error())
					continue
				}
				res, err := client.Do(req)
				if err != nil {
					fail(err.Error())
					continue
				}
				body, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if res.StatusCode != want {
					fail(fmt.Sprintf("%s %s: %d %.200s", req.Method, req.URL.Path, res.StatusCode, body))
				}
			}
		}()
	}
	wg.Wait()
	return bad, first
}

// perEvent opens sz.streams streams at path on srv and counts what srv
// executes per delivered event: report(i) sends the i-th report, and the
// next goes only once every stream has the i-th event, so each event is
// one write to each stream, never a batch.
func perEvent(ctx context.Context, srv *counted, sz instrSizes, token, path string, report func(i int) error) (count, error) {
	var c count
	total := sz.warmEvents + 3*sz.events
	streams, err := openMany(ctx, srv.addr, token, sz.streams, 8, 16<<10, func(int) string { return path })
	if err != nil {
		return c, err
	}
	got := make([]atomic.Int64, total)
	var stray atomic.Int64
	followers := make([]*follower, len(streams))
	for i, s := range streams {
		followers[i] = follow(&follower{on: func(m sseMsg, _ time.Time) {
			if m.Event != "progress" {
				return
			}
			msg, _ := messageOf(m.Data)
			k, err := strconv.Atoi(strings.TrimPrefix(msg, "d-"))
			if err != nil || k < 0 || k >= total {
				stray.Add(1)
				return
			}
			got[k].Add(1)
		}}, s)
	}
	defer func() {
		for _, f := range followers {
			f.stop()
		}
	}()
	next := 0
	deliver := func(n int) error {
		for range n {
			k := next
			next++
			if err := report(k); err != nil {
				return err
			}
			deadline := time.Now().Add(30 * time.Second)
			for got[k].Load() < int64(sz.streams) && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
		}
		return ctx.Err()
	}
	if err := window(srv, &c, sz.warmEvents, sz.events, deliver); err != nil {
		return c, err
	}
	time.Sleep(100 * time.Millisecond) // a duplicate would come about now
	for k := range total {
		if d := got[k].Load() - int64(sz.streams); d != 0 {
			c.errors += int(max(d, -d))
			if c.firstError == "" {
				c.firstError = fmt.Sprintf("event %d reached %d of %d streams", k, got[k].Load(), sz.streams)
			}
		}
	}
	c.errors += int(stray.Load())
	for _, f := range followers {
		if f.err != nil && c.firstError == "" {
			c.firstError = f.err.Error()
		}
	}
	c.units *= sz.streams
	c.per /= float64(sz.streams)
	c.wA /= float64(sz.streams)
	c.wB /= float64(sz.streams)
	if c.bytes > 0 {
		c.bytes /= float64(sz.streams)
	}
	return c, nil
}

// allocated is the bytes a server has allocated since it started, from
// its /metrics; -1 when it cannot be read.
func allocated(url string) float64 {
	const name = "go_memstats_alloc_bytes_total"
	if v, ok := goMetrics(url, name)[name]; ok {
		return v
	}
	return -1
}

func bytesOf(v float64) string {
	if v < 0 {
		return "unknown"
	}
	return thousands(v) + " B"
}

// thousands formats v rounded, with separators: 1,234,567.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
