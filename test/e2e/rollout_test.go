package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestRollingRestartBehindAReadinessCheckingProxyLosesNothing: two bin/api
// processes share one database and one Redis prefix behind a reverse proxy
// that routes only to instances whose readiness answers 200, as a load
// balancer does. Under a load of reads and writes, with streams following
// an operation through the proxy, each instance in turn gets SIGTERM and is
// started again. No request may fail and every stream must get every event
// of the operation exactly once, in order, resuming with Last-Event-ID when
// its instance ends it. The proxy never retries: a request sent to an
// instance that no longer listens is a failure.
func TestRollingRestartBehindAReadinessCheckingProxyLosesNothing(t *testing.T) {
	dbURL := testkit.NewPostgresDatabase(t)
	prefix := testkit.RandomName("e2e_") + ":"
	bin := filepath.Join(t.TempDir(), "api")
	buildAPI(t, bin)

	// HTTP_SHUTDOWN_DELAY is left unset: APP_ENV=test gets the 5s default.
	instances := []*rolloutInstance{
		newRolloutInstance(t, "a", bin, operationsEnv(t, dbURL, prefix)),
		newRolloutInstance(t, "b", bin, operationsEnv(t, dbURL, prefix)),
	}
	for _, in := range instances {
		in.start(t)
	}
	proxy := newReadinessProxy(t, instances)
	for _, in := range instances {
		if !testkit.Eventually(60*time.Second, in.ready.Load) {
			t.Fatalf("the proxy never saw instance %s ready", in.name)
		}
	}

	alice := testkit.Token(t, "alice", time.Hour)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	var sent, failed atomic.Int64
	var failMu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		failed.Add(1)
		failMu.Lock()
		defer failMu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	// call sends one request through the proxy; a status other than want
	// or a transport error is a failed request.
	call := func(method, path string, body any, want int) []byte {
		sent.Add(1)
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(context.Background(), method, proxy.URL+path, rd)
		if err != nil {
			panic(err)
		}
		req.Header.Set("Authorization", "Bearer "+alice)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return nil
		}
		defer func() { _ = res.Body.Close() }()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			fail("%s %s: %d %s (via %s)", method, path, res.StatusCode, data, res.Header.Get("X-Test-Instance"))
			return nil
		}
		return data
	}
	decode := func(data []byte) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		return m
	}
	project := call("POST", "/api/v1/projects", map[string]any{"name": "rollout"}, http.StatusCreated)
	if project == nil {
		t.Fatalf("create the project: %v", failures)
	}
	p := decode(project)["id"].(string)
	opPath := func(op string) string { return "/api/v1/projects/" + p + "/operations/" + op }
	newOp := func() string {
		data := call("POST", "/api/v1/projects/"+p+"/operations", map[string]any{"kind": "import"}, http.StatusCreated)
		if data == nil {
			t.Fatalf("create an operation: %v", failures)
		}
		return decode(data)["id"].(string)
	}
	followed, loadOp := newOp(), newOp()

	// The streams that follow the operation through the proxy.
	const streams = 4
	followers := make([]*follower, streams)
	var followersDone sync.WaitGroup
	connected := make(chan struct{}, streams)
	for i := range followers {
		f := &follower{url: proxy.URL + opStreamPath(p, followed), token: alice}
		followers[i] = f
		followersDone.Go(func() { f.follow(backgroundT{t}, connected, &sent, fail) })
	}
	for range streams {
		select {
		case <-connected:
		case <-time.After(60 * time.Second):
			t.Fatal("the streams did not open")
		}
	}

	// The load: reads and writes from a few clients, and one worker
	// reporting the followed operation's progress, one report at a time
	// so that the order of its events is known.
	stop := make(chan struct{})
	var load sync.WaitGroup
	for w := range 3 {
		load.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				switch (i + w) % 4 {
				case 0:
					call("POST", "/api/v1/projects", map[string]any{"name": fmt.Sprintf("load %d-%d", w, i)}, http.StatusCreated)
				case 1:
					call("GET", "/api/v1/projects/"+p, nil, http.StatusOK)
				case 2:
					call("GET", "/api/v1/projects/"+p+"/operations?limit=5", nil, http.StatusOK)
				case 3:
					call("POST", opPath(loadOp)+"/progress", map[string]any{"percent": 0, "message": fmt.Sprintf("load %d-%d", w, i)}, http.StatusOK)
				}
			}
		})
	}
	var accepted []string
	load.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			msg := fmt.Sprintf("step %04d", i)
			if call("POST", opPath(followed)+"/progress", map[string]any{"percent": min(i/10, 99), "message": msg}, http.StatusOK) != nil {
				accepted = append(accepted, msg)
			}
		}
	})
	progressed := func(n int64) {
		t.Helper()
		from := sent.Load()
		if !testkit.Eventually(120*time.Second, func() bool { return sent.Load() >= from+n }) {
			t.Fatalf("the load stalled at %d requests", sent.Load())
		}
	}
	progressed(100)

	// The rolling restart: one instance at a time, the next only once the
	// restarted one is back in rotation and has served requests.
	for _, in := range instances {
		in.terminate(t)
		if !testkit.Eventually(60*time.Second, func() bool { return !in.ready.Load() }) {
			t.Fatalf("the proxy never took instance %s out of rotation", in.name)
		}
		in.waitExit(t)
		if !in.sawShuttingDown.Load() {
			t.Errorf("instance %s's readiness never said it was shutting down before it stopped", in.name)
		}
		if logs := in.logs(); !strings.Contains(logs, "shutting down: readiness answers 503") || !strings.Contains(logs, "draining") {
			t.Errorf("instance %s did not log the delay and the drain:\n%s", in.name, logs)
		}
		in.start(t)
		before := in.served.Load()
		if !testkit.Eventually(60*time.Second, func() bool { return in.ready.Load() && in.served.Load() > before+20 }) {
			t.Fatalf("the restarted instance %s is not back in rotation", in.name)
		}
		progressed(50)
	}
	close(stop)
	load.Wait()
	if call("POST", opPath(followed)+"/progress", map[string]any{"percent": 100, "status": "succeeded", "message": "done"}, http.StatusOK) != nil {
		accepted = append(accepted, "done")
	}
	waited := make(chan struct{})
	go func() { followersDone.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(120 * time.Second):
		t.Fatal("the streams did not all reach the operation's terminal event")
	}

	failMu.Lock()
	for _, f := range failures {
		t.Errorf("failed: %s", f)
	}
	failMu.Unlock()
	for i, f := range followers {
		if strings.Join(f.messages, ",") != strings.Join(accepted, ",") {
			t.Errorf("stream %d got %d events, want the %d accepted reports in order, each once:\ngot  %v\nwant %v",
				i, len(f.messages), len(accepted), f.messages, accepted)
		}
		if f.drained < 1 {
			t.Errorf("stream %d was never ended by a stopping instance (%d connections): the rollout did not test it", i, f.connections)
		}
		if f.cut > 0 {
			t.Errorf("stream %d ended %d times without the shutdown comment and retry hint", i, f.cut)
		}
	}
	for _, in := range instances {
		t.Logf("instance %s: %d requests routed to it", in.name, in.served.Load())
	}
	for i, f := range followers {
		t.Logf("stream %d: %d events, connected to %v, %d ends by a stopping instance", i, len(f.messages), f.instances, f.drained)
	}
	t.Logf("%d requests sent through the proxy (%d reports on the followed operation accepted), %d failed",
		sent.Load(), len(accepted), failed.Load())
}

// rolloutInstance is one bin/api process the test stops and starts again
// on the same address, and the proxy's view of it.
type rolloutInstance struct {
	name, bin, dir string
	env            []string
	base           *url.URL
	cmd            *exec.Cmd
	logs           func() string

	ready           atomic.Bool
	sawShuttingDown atomic.Bool
	served          atomic.Int64
}

func newRolloutInstance(t *testing.T, name, bin string, env map[string]string) *rolloutInstance {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	in := &rolloutInstance{name: name, bin: bin, dir: t.TempDir(), base: &url.URL{Scheme: "http", Host: addr}}
	in.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + in.dir, "HTTP_ADDR=" + addr}
	for k, v := range env {
		if k != "HTTP_ADDR" {
			in.env = append(in.env, k+"="+v)
		}
	}
	return in
}

func (in *rolloutInstance) start(t *testing.T) {
	t.Helper()
	in.cmd, in.logs = serveProcess(t, in.bin, in.dir, in.env, in.base.String())
}

func (in *rolloutInstance) terminate(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// waitExit waits for the process to end after SIGTERM, which must be a
// clean exit. It waits here, in the test's goroutine, because the cleanup
// of serveProcess waits for the process too, and Wait must not run twice
// at once.
func (in *rolloutInstance) waitExit(t *testing.T) {
	t.Helper()
	var hung atomic.Bool
	kill := time.AfterFunc(120*time.Second, func() { hung.Store(true); _ = in.cmd.Process.Kill() })
	_ = in.cmd.Wait()
	kill.Stop()
	if hung.Load() {
		t.Fatalf("instance %s did not exit within 120 s of SIGTERM:\n%s", in.name, in.logs())
	}
	if code := in.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("instance %s exited with %d after SIGTERM:\n%s", in.name, code, in.logs())
	}
}

// newReadinessProxy is the load balancer: it polls every instance's
// readiness every 100 ms and sends each request, round robin, to one that
// answered 200, without retrying.
func newReadinessProxy(t *testing.T, instances []*rolloutInstance) *httptest.Server {
	t.Helper()
	type target struct{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(r.In.Context().Value(target{}).(*rolloutInstance).base)
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 32},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			in := r.Context().Value(target{}).(*rolloutInstance)
			w.Header().Set("X-Test-Instance", in.name)
			http.Error(w, "proxy: "+in.name+": "+err.Error(), http.StatusBadGateway)
		},
		ModifyResponse: func(res *http.Response) error {
			res.Header.Set("X-Test-Instance", res.Request.Context().Value(target{}).(*rolloutInstance).name)
			return nil
		},
	}
	var next atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := uint64(len(instances))
		start := next.Add(1)
		for i := range n {
			in := instances[(start+i)%n]
			if in.ready.Load() {
				in.served.Add(1)
				rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), target{}, in)))
				return
			}
		}
		http.Error(w, "proxy: no instance is ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	var polling sync.WaitGroup
	t.Cleanup(func() { cancel(); polling.Wait() })
	poll := &http.Client{Timeout: 3 * time.Second}
	for _, in := range instances {
		polling.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.base.String()+"/health/ready", nil)
				res, err := poll.Do(req)
				if err != nil {
					in.ready.Store(false)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				in.ready.Store(res.StatusCode == http.StatusOK)
				if res.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "shutting down") {
					in.sawShuttingDown.Store(true)
				}
			}
		})
	}
	return srv
}

// follower reads one operation stream to its terminal event, reconnecting
// with Last-Event-ID after the retry hint whenever the server ends it.
type follower struct {
	url, token string

	messages    []string // every event's message, in the order received
	instances   []string // the instance of each connection
	connections int
	drained     int // ends with the shutdown comment and a retry hint
	cut         int // other ends before the terminal event
}

func (f *follower) follow(t backgroundT, connected chan<- struct{}, sent *atomic.Int64, fail func(string, ...any)) {
	last := int64(-1)
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var headers []string
		if last >= 0 {
			headers = []string{"Last-Event-ID", strconv.FormatInt(last, 10)}
		}
		sent.Add(1)
		s := testkit.OpenSSE(t, f.url, f.token, headers...)
		if s.Status != http.StatusOK {
			fail("open the stream after id %d: %d %s", last, s.Status, s.Body)
			return
		}
		f.connections++
		f.instances = append(f.instances, s.Header.Get("X-Test-Instance"))
		if f.connections == 1 {
			connected <- struct{}{}
		}
		for {
			ev, ok := s.TryNext(time.Second)
			if !ok {
				if s.Ended() {
					break
				}
				continue
			}
			id, err := strconv.ParseInt(ev.ID, 10, 64)
			if err != nil || id <= last {
				fail("stream event %q (%s) after id %d: repeated or out of order", ev.ID, ev.Event, last)
				return
			}
			last = id
			if ev.Event == "snapshot" {
				if f.connections != 1 {
					fail("a resumed stream sent a snapshot: %s", ev.Data)
					return
				}
				continue
			}
			var e eventJSON
			if err := json.Unmarshal([]byte(ev.Data), &e); err != nil {
				fail("event %s: %v", ev.Data, err)
				return
			}
			f.messages = append(f.messages, e.Operation.Message)
			if ev.Event == "succeeded" {
				s.Close()
				return
			}
		}
		retries := s.Retries()
		shutdown := false
		for _, c := range s.Comments() {
			shutdown = shutdown || strings.HasPrefix(c, "shutting down")
		}
		if shutdown && len(retries) >= 2 {
			f.drained++
		} else {
			f.cut++
		}
		wait := 2 * time.Second
		if len(retries) > 0 {
			if ms, err := strconv.Atoi(retries[len(retries)-1]); err == nil {
				wait = time.Duration(ms) * time.Millisecond
			}
		}
		time.Sleep(wait)
	}
	fail("the stream did not reach the terminal event within 10 minutes")
}

// backgroundT lets testkit's helpers run outside the test's goroutine:
// a fatal error is reported and ends only the goroutine it happened in.
type backgroundT struct{ t *testing.T }

func (b backgroundT) Helper() {}

func (b backgroundT) Fatalf(format string, args ...any) {
	b.t.Errorf(format, args...)
	runtime.Goexit()
}

func (b backgroundT) Cleanup(f func()) { b.t.Cleanup(f) }
