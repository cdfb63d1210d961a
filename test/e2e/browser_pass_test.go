package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// sdkPageState is what testdata/sdk.html reports to POST /results.
type sdkPageState struct {
	Version  int `json:"version"`
	Opened   int `json:"opened"`
	Messages []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data string `json:"data"`
	} `json:"messages"`
	Errors []string `json:"errors"`
	Done   bool     `json:"done"`
}

// sdkPage serves testdata/sdk.html, the bearer token it asks for at
// /token, and keeps the newest state it reports.
type sdkPage struct {
	t     *testing.T
	token string
	// mint, when set, makes the token the first time the page asks for
	// it, so that a short-lived one does not age while Chromium starts.
	mint    func() string
	mu      sync.Mutex
	results pageResults[sdkPageState]
}

func (s sdkPageState) reportVersion() int { return s.Version }

func (p *sdkPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/sdk.html":
		serveTestdataPage(p.t, w, "sdk.html")
	case r.Method == http.MethodGet && r.URL.Path == "/token":
		p.mu.Lock()
		if p.token == "" && p.mint != nil {
			p.token = p.mint()
		}
		token := p.token
		p.mu.Unlock()
		_, _ = w.Write([]byte(token))
	case r.Method == http.MethodPost && r.URL.Path == "/results":
		p.results.receive(p.t, w, r)
	default:
		http.NotFound(w, r)
	}
}

// balancer stands for the load balancer in front of the API's instances:
// it sends everything to the current instance, or, while there is none,
// drops each connection unanswered, as a client sees a restarting server.
// It counts what the page asks of the stream routes.
type balancer struct {
	mu      sync.Mutex
	target  *url.URL
	tickets int
	streams []string // each stream request's Last-Event-ID header and query
}

func (b *balancer) route(target string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if target == "" {
		b.target = nil
		return
	}
	b.target, _ = url.Parse(target)
}

func (b *balancer) counts() (tickets int, streams []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tickets, append([]string(nil), b.streams...)
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	target := b.target
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events/tickets"):
		b.tickets++
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/events"):
		b.streams = append(b.streams, "Last-Event-ID="+r.Header.Get("Last-Event-ID")+" query="+r.URL.RawQuery)
	}
	b.mu.Unlock()
	if target == nil {
		panic(http.ErrAbortHandler)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		FlushInterval: -1,
		ErrorHandler:  func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	proxy.ServeHTTP(w, r)
}

// sameOrigin serves the page and, through lb, the API on one origin.
func sameOrigin(t *testing.T, page *sdkPage, lb *balancer) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", lb)
	for _, path := range []string{"/sdk.html", "/token", "/results"} {
		mux.Handle(path, page)
	}
	front := httptest.NewServer(mux)
	t.Cleanup(front.Close)
	return front
}

// waitForPage waits until cond holds for the page's state, failing at
// once when the page reports an error unless errorsOK.
func waitForPage(t *testing.T, page *sdkPage, what string, deadline time.Time, browserLog func() string, errorsOK bool, cond func(sdkPageState) bool) sdkPageState {
	t.Helper()
	for {
		s := page.results.snapshot()
		if cond(s) {
			return s
		}
		if (!errorsOK && len(s.Errors) > 0) || time.Now().After(deadline) {
			t.Fatalf("the page did not %s; its state: %+v\nbrowser log:\n%s", what, s, browserLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBrowserFollowsAnOperationWithTheStreamPass: a page in headless
// Chromium follows an operation with /sdk/progress.js, which opens the
// stream with the native EventSource and the stream pass cookie. The
// server ends every stream after 3s (SSE_MAX_DURATION), the instance
// serving it is stopped and another started in its place, and traffic
// moves to a third: all 30 progress reports arrive once and in order,
// then the terminal event, the page stops, and the browser did every
// reconnect itself (one ticket request in all; every reconnect carried
// Last-Event-ID). The same page runs on the API's origin, and on another
// origin of the same site with CORS_ALLOWED_ORIGINS naming it.
func TestBrowserFollowsAnOperationWithTheStreamPass(t *testing.T) {
	chromium := requireChromium(t)
	for _, crossOrigin := range []bool{false, true} {
		name := map[bool]string{false: "same origin", true: "cross origin"}[crossOrigin]
		t.Run(name, func(t *testing.T) { followWithThePass(t, chromium, crossOrigin) })
	}
}

func followWithThePass(t *testing.T, chromium string, crossOrigin bool) {
	started := time.Now()
	deadline := started.Add(90 * time.Second)
	alice := testkit.Token(t, "alice", time.Hour)
	page := &sdkPage{t: t, token: alice}
	lb := &balancer{}
	var front, pageSite *httptest.Server
	if crossOrigin {
		front = httptest.NewServer(lb)
		t.Cleanup(front.Close)
		pageSite = httptest.NewServer(page)
		t.Cleanup(pageSite.Close)
	} else {
		front = sameOrigin(t, page, lb)
		pageSite = front
	}

	dbURL := testkit.NewPostgresDatabase(t)
	prefix := testkit.RandomName("e2e_") + ":"
	extra := []string{"SSE_MAX_DURATION", "3s", "SSE_RETRY", "300ms"}
	if crossOrigin {
		extra = append(extra, "CORS_ALLOWED_ORIGINS", pageSite.URL)
	}
	start := func() *testkit.App { return testkit.StartApp(t, operationsEnv(t, dbURL, prefix, extra...)) }
	first, other := start(), start()
	lb.route(first.URL)
	p := create(t, first, alice, "browser")
	op := createOperation(t, first, alice, p.ID, "import")

	query := url.Values{"project": {p.ID}, "operation": {op.ID}}
	if crossOrigin {
		query.Set("api", front.URL)
	}
	browserLog := startChromium(t, chromium, pageSite.URL+"/sdk.html?"+query.Encode())
	waitPage := func(what string, cond func(sdkPageState) bool) sdkPageState {
		t.Helper()
		return waitForPage(t, page, what, deadline, browserLog, false, cond)
	}
	waitPage("receive the snapshot", func(s sdkPageState) bool { return len(s.Messages) > 0 })

	// 30 reports over 15 s, to whichever instance is up; the page reads
	// through the balancer.
	want := messages(30)
	var restarted *testkit.App
	for i, msg := range want {
		switch i {
		case 8: // the serving instance stops; for a while nothing answers
			lb.route("")
			if err := first.Stop(); err != nil {
				t.Fatalf("stop the first instance: %v", err)
			}
		case 12: // it is back, as a new process would be
			restarted = start()
			lb.route(restarted.URL)
		case 20: // traffic moves to another instance
			lb.route(other.URL)
		}
		writer := other
		if i < 8 {
			writer = first
		}
		mustReport(t, writer, alice, p.ID, op.ID, i*3, msg)
		time.Sleep(500 * time.Millisecond)
	}
	if res := report(t, other, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded"}); res.Status != http.StatusOK {
		t.Fatalf("succeed: %d %s", res.Status, res.Body)
	}
	s := waitPage("receive the terminal event and stop", func(s sdkPageState) bool { return s.Done })
	tickets, streams := lb.counts()
	// Had the page not stopped, it would reconnect within SSE_RETRY (300ms).
	time.Sleep(2 * time.Second)
	if _, after := lb.counts(); len(after) != len(streams) {
		t.Fatalf("the page reconnected after the terminal event: %v", after[len(streams):])
	}

	if len(s.Messages) == 0 || s.Messages[0].Type != "snapshot" || !strings.Contains(s.Messages[0].Data, `"id":"`+op.ID+`"`) {
		t.Fatalf("first message %+v, want the operation's snapshot", s.Messages)
	}
	last, err := strconv.ParseInt(s.Messages[0].ID, 10, 64)
	if err != nil {
		t.Fatalf("snapshot id %q: %v", s.Messages[0].ID, err)
	}
	var got []string
	for i, m := range s.Messages[1:] {
		id, err := strconv.ParseInt(m.ID, 10, 64)
		if err != nil || id <= last {
			t.Fatalf("message %d %+v: id not after %d; all: %+v", i+1, m, last, s.Messages)
		}
		last = id
		var e eventJSON
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil || e.ID != m.ID || e.Operation.ID != op.ID {
			t.Fatalf("message %d %+v: not this operation's event %s (%v)", i+1, m, m.ID, err)
		}
		switch m.Type {
		case "created":
			if len(got) > 0 {
				t.Fatalf("a created event after progress: %+v", m)
			}
		case "progress":
			got = append(got, e.Operation.Message)
		case "succeeded":
			if i != len(s.Messages)-2 {
				t.Fatalf("the terminal event is message %d of %d", i+2, len(s.Messages))
			}
		default:
			t.Fatalf("unexpected message %+v (a resume must not send a snapshot)", m)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("progress received %v, want %v once each, in order", got, want)
	}
	if s.Messages[len(s.Messages)-1].Type != "succeeded" {
		t.Fatalf("last message %+v, want the terminal event", s.Messages[len(s.Messages)-1])
	}
	if len(s.Errors) > 0 {
		t.Fatalf("the page reported errors: %v", s.Errors)
	}
	// The browser did the reconnecting: one pass, and every stream request
	// after the first is EventSource's own, with Last-Event-ID.
	if tickets != 1 {
		t.Fatalf("%d ticket requests: the pass should have carried every reconnect", tickets)
	}
	if len(streams) < 5 || s.Opened < 5 {
		t.Fatalf("%d stream requests, %d opened: the server should have ended the stream several times; requests %v", len(streams), s.Opened, streams)
	}
	for i, r := range streams {
		if resumed := !strings.HasPrefix(r, "Last-Event-ID= "); resumed != (i > 0) || strings.Contains(r, "last_event_id") {
			t.Fatalf("stream request %d (%s): only EventSource's own reconnects, each with Last-Event-ID; all: %v", i+1, r, streams)
		}
	}
	t.Logf("%s: %d messages over %d stream requests (%d opened), %d ticket request, in %v",
		t.Name(), len(s.Messages), len(streams), s.Opened, tickets, time.Since(started).Round(time.Millisecond))
}

// TestBrowserStreamStopsWithAProblemWhenTheTokenExpires: a pass lives no
// longer than the token it came from. When the token expires, the stream
// ends, the browser's reconnect is refused, and /sdk/progress.js, asking
// for a new pass with a token that is still the expired one, hands the
// page the API's problem and stops: no retries forever.
func TestBrowserStreamStopsWithAProblemWhenTheTokenExpires(t *testing.T) {
	chromium := requireChromium(t)
	deadline := time.Now().Add(60 * time.Second)
	app, _ := startOperationsApp(t, "SSE_RETRY", "300ms")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "expiring")
	op := createOperation(t, app, alice, p.ID, "import")
	page := &sdkPage{t: t, mint: func() string { return testkit.Token(t, "alice", 4*time.Second) }}
	lb := &balancer{}
	lb.route(app.URL)
	front := sameOrigin(t, page, lb)
	browserLog := startChromium(t, chromium, front.URL+"/sdk.html?"+url.Values{"project": {p.ID}, "operation": {op.ID}}.Encode())
	s := waitForPage(t, page, "stop", deadline, browserLog, true, func(s sdkPageState) bool { return s.Done })
	if len(s.Messages) == 0 || s.Messages[0].Type != "snapshot" {
		t.Fatalf("messages %+v: the stream should have opened before the token expired", s.Messages)
	}
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], `"status":401`) || !strings.Contains(s.Errors[0], "auth.token_expired") {
		t.Fatalf("errors %v: want the ticket endpoint's 401 auth.token_expired problem, once", s.Errors)
	}
	_, streams := lb.counts()
	time.Sleep(2 * time.Second) // a page still retrying would within SSE_RETRY (300ms)
	if _, after := lb.counts(); len(after) != len(streams) {
		t.Fatalf("the page kept reconnecting after it reported the problem: %v", after[len(streams):])
	}
}

// TestBrowserGetsANewPassWhenARestartLostIt: on the embedded default's
// kind of deployment (one instance, no Redis) passes live in the process,
// so a restart loses them. The browser's reconnect is then refused, and
// /sdk/progress.js gets a new pass with the token and resumes from the
// last event it received: every report arrives once, in order.
func TestBrowserGetsANewPassWhenARestartLostIt(t *testing.T) {
	chromium := requireChromium(t)
	deadline := time.Now().Add(60 * time.Second)
	dbURL := testkit.NewPostgresDatabase(t)
	env := testkit.BaseEnv(dbURL)
	env["SSE_RETRY"] = "300ms"
	app := testkit.StartApp(t, env)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "restart")
	op := createOperation(t, app, alice, p.ID, "import")
	page := &sdkPage{t: t, token: alice}
	lb := &balancer{}
	lb.route(app.URL)
	front := sameOrigin(t, page, lb)
	browserLog := startChromium(t, chromium, front.URL+"/sdk.html?"+url.Values{"project": {p.ID}, "operation": {op.ID}}.Encode())
	progress := func(s sdkPageState) (got []string) {
		for _, m := range s.Messages {
			if m.Type == "progress" {
				var e eventJSON
				if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
					t.Fatalf("message %+v: %v", m, err)
				}
				got = append(got, e.Operation.Message)
			}
		}
		return got
	}
	waitForPage(t, page, "receive the snapshot", deadline, browserLog, false, func(s sdkPageState) bool { return len(s.Messages) > 0 })
	want := messages(6)
	for i, msg := range want[:3] {
		mustReport(t, app, alice, p.ID, op.ID, 10+i, msg)
	}
	waitForPage(t, page, "receive the first reports", deadline, browserLog, false, func(s sdkPageState) bool { return len(progress(s)) == 3 })
	lb.route("")
	if err := app.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	app = testkit.StartApp(t, env)
	lb.route(app.URL)
	for i, msg := range want[3:] {
		mustReport(t, app, alice, p.ID, op.ID, 20+i, msg)
	}
	if res := report(t, app, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded"}); res.Status != http.StatusOK {
		t.Fatalf("succeed: %d %s", res.Status, res.Body)
	}
	s := waitForPage(t, page, "receive the terminal event", deadline, browserLog, false, func(s sdkPageState) bool { return s.Done })
	if got := progress(s); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("progress received %v, want %v once each, in order", got, want)
	}
	if last := s.Messages[len(s.Messages)-1]; last.Type != "succeeded" {
		t.Fatalf("last message %+v, want the terminal event", last)
	}
	for _, m := range s.Messages[1:] {
		if m.Type == "snapshot" {
			t.Fatalf("a second snapshot: the module must resume from its last id; all: %+v", s.Messages)
		}
	}
	if tickets, _ := lb.counts(); tickets != 2 {
		t.Fatalf("%d ticket requests, want 2: the first pass, and one after the restart lost it", tickets)
	}
}
