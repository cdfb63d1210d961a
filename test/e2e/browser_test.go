package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

const chromiumHint = "install it with: apt-get install -y chromium (.ci/run does)"

// pageState is what testdata/eventsource.html reports to POST /results.
type pageState struct {
	Version     int           `json:"version"`
	Connections int           `json:"connections"`
	Opened      int           `json:"opened"`
	Ended       int           `json:"ended"`
	URLs        []string      `json:"urls"`
	Messages    []pageMessage `json:"messages"`
	Errors      []string      `json:"errors"`
	Done        bool          `json:"done"`
}

type pageMessage struct {
	Connection int    `json:"connection"`
	Type       string `json:"type"`
	ID         string `json:"id"`
	Data       string `json:"data"`
}

// browserPage serves the page, hands it stream tickets (it holds the
// bearer token, the browser never does) and keeps the latest state the
// page reported.
type browserPage struct {
	t       *testing.T
	results pageResults[pageState]
	mu      sync.Mutex
	api     string
	token   string
	tickets int
}

func (s pageState) reportVersion() int { return s.Version }

// pageReport is a state a test page posts to /results, numbered: one
// report may overtake another on the way.
type pageReport interface{ reportVersion() int }

// pageResults keeps the newest report a page posted.
type pageResults[S pageReport] struct {
	lock  sync.Mutex
	state S
}

func (p *pageResults[S]) receive(t *testing.T, w http.ResponseWriter, r *http.Request) {
	var s S
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
		t.Errorf("results from the page: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.lock.Lock()
	if s.reportVersion() > p.state.reportVersion() {
		p.state = s
	}
	p.lock.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (p *pageResults[S]) snapshot() S {
	p.lock.Lock()
	defer p.lock.Unlock()
	return p.state
}

func (p *browserPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/eventsource.html":
		serveTestdataPage(p.t, w, "eventsource.html")
	case r.Method == http.MethodPost && r.URL.Path == "/ticket":
		q := r.URL.Query()
		body, status, err := p.issueTicket(r.Context(), q.Get("project"), q.Get("operation"))
		if err != nil {
			p.t.Errorf("ticket for the page: %v", err)
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	case r.Method == http.MethodPost && r.URL.Path == "/results":
		p.results.receive(p.t, w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveTestdataPage answers with the HTML page testdata/name.
func serveTestdataPage(t *testing.T, w http.ResponseWriter, name string) {
	page, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Errorf("read the page: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// issueTicket asks the API for a ticket to an operation's stream with the
// bearer token and passes its answer on.
func (p *browserPage) issueTicket(ctx context.Context, project, op string) ([]byte, int, error) {
	p.mu.Lock()
	ticketURL := p.api + "/api/v1/projects/" + url.PathEscape(project) + "/operations/" + url.PathEscape(op) + "/events/tickets"
	token := p.token
	p.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ticketURL, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := testkit.ClientFor(ticketURL).Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, 0, err
	}
	if res.StatusCode != http.StatusCreated {
		return nil, 0, fmt.Errorf("POST %s: %d %s", ticketURL, res.StatusCode, body)
	}
	p.mu.Lock()
	p.tickets++
	p.mu.Unlock()
	return body, res.StatusCode, nil
}

// waitFor waits until cond holds for the page's state, at most until
// deadline.
func (p *browserPage) waitFor(t *testing.T, what string, deadline time.Time, cond func(pageState) bool, browserLog func() string) pageState {
	t.Helper()
	since := time.Now()
	for {
		s := p.results.snapshot()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser did not %s in %v (the test's time is up); page state: %+v\nbrowser log:\n%s",
				what, time.Since(since).Round(time.Millisecond), s, browserLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireChromium is Debian's Chromium; the test fails, saying how to
// install it, when it is missing.
func requireChromium(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (%v); %s", err, chromiumHint)
	}
	return bin
}

// startChromium runs headless Chromium on pageURL until the test ends and
// returns a function giving the tail of its log (D-Bus complaints left out).
func startChromium(t *testing.T, bin, pageURL string, flags ...string) func() string {
	t.Helper()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "chromium.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		// This machine's network is closed: without these Chromium's own
		// background connections get in the way of the page's.
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", // the page's console lands in the log
	}, flags...)
	cmd := exec.CommandContext(t.Context(), bin, append(args, pageURL)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Chromium's renderers and zygote share its process group: the end of
	// the test kills them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("start %s: %v; %s", bin, err, chromiumHint)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Cancel() // t.Context() is done by now; this does not depend on it
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("chromium (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
		}
		_ = logFile.Close()
	})
	return func() string {
		data, _ := os.ReadFile(logPath)
		var lines []string
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.Contains(line, "dbus") {
				lines = append(lines, line)
			}
		}
		out := strings.Join(lines, "\n")
		if len(out) > 8000 {
			out = out[len(out)-8000:]
		}
		select {
		case <-exited:
			return "(chromium exited)\n" + out
		default:
			return out
		}
	}
}

func progressMessages(s pageState) []pageMessage {
	var out []pageMessage
	for _, m := range s.Messages {
		if m.Type == "progress" {
			out = append(out, m)
		}
	}
	return out
}

// TestBrowserEventSourceFollowsAnOperationAcrossServerEndedStreams: headless
// Chromium's own EventSource opens an operation's stream with a ticket,
// gets the snapshot and live events, and, when the server ends the stream
// (SSE_MAX_DURATION), resumes with a fresh ticket and last_event_id: every
// event arrives exactly once, in order, and the resume has no snapshot.
func TestBrowserEventSourceFollowsAnOperationAcrossServerEndedStreams(t *testing.T) {
	started := time.Now()
	// Every wait below shares one budget: a run takes a few seconds, and a
	// loaded machine gets the slack wherever it needs it.
	deadline := started.Add(40 * time.Second)
	chromium := requireChromium(t)
	page := &browserPage{t: t}
	site := httptest.NewServer(page)
	t.Cleanup(site.Close)

	app, _ := startOperationsApp(t, "SSE_MAX_DURATION", "2s", "SSE_RETRY", "300ms", "CORS_ALLOWED_ORIGINS", site.URL)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "browser")
	op := createOperation(t, app, alice, p.ID, "import")
	page.mu.Lock()
	page.api = app.URL
	page.token = alice
	page.mu.Unlock()

	query := url.Values{"api": {app.URL}, "project": {p.ID}, "operation": {op.ID}, "retry": {"300"}}
	browserLog := startChromium(t, chromium, site.URL+"/eventsource.html?"+query.Encode())

	// The first connection: the snapshot, then live events.
	page.waitFor(t, "receive the snapshot", deadline, func(s pageState) bool { return len(s.Messages) > 0 }, browserLog)
	want := messages(7)
	for i, msg := range want[:3] {
		mustReport(t, app, alice, p.ID, op.ID, 10+i*10, msg)
	}
	page.waitFor(t, "receive the first live events", deadline, func(s pageState) bool { return len(progressMessages(s)) >= 3 }, browserLog)
	// The server ends the stream after 2s; what is reported while the page
	// gets a new ticket reaches it on the resume.
	page.waitFor(t, "see the server end the stream", deadline, func(s pageState) bool { return s.Ended > 0 }, browserLog)
	for i, msg := range want[3:5] {
		mustReport(t, app, alice, p.ID, op.ID, 40+i*10, msg)
	}
	page.waitFor(t, "resume", deadline, func(s pageState) bool { return s.Opened >= 2 && len(progressMessages(s)) >= 5 }, browserLog)
	for i, msg := range want[5:] {
		mustReport(t, app, alice, p.ID, op.ID, 60+i*10, msg)
	}
	res := report(t, app, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded"})
	if res.Status != http.StatusOK {
		t.Fatalf("succeed: %d %s", res.Status, res.Body)
	}
	s := page.waitFor(t, "receive the terminal event", deadline, func(s pageState) bool { return s.Done }, browserLog)

	// The snapshot first, and only on the first connection.
	first := s.Messages[0]
	if first.Type != "snapshot" || first.Connection != 1 || !strings.Contains(first.Data, `"id":"`+op.ID+`"`) {
		t.Fatalf("first message %+v, want the operation's snapshot", first)
	}
	for _, m := range s.Messages[1:] {
		if m.Type == "snapshot" {
			t.Fatalf("a second snapshot (a resume must not send one): %+v; all: %+v", m, s.Messages)
		}
	}
	// Every progress event once, in order, with increasing ids, across
	// connections; then the terminal event.
	last, err := strconv.ParseInt(first.ID, 10, 64)
	if err != nil {
		t.Fatalf("snapshot id %q: %v", first.ID, err)
	}
	var got []string
	connections := map[int]bool{}
	for i, m := range s.Messages[1:] {
		id, err := strconv.ParseInt(m.ID, 10, 64)
		if err != nil || id <= last {
			t.Fatalf("message %d %+v: id not after %d; all: %+v", i+1, m, last, s.Messages)
		}
		last = id
		var e eventJSON
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil || e.ID != m.ID || e.Operation.ID != op.ID {
			t.Fatalf("message %d %+v: data does not decode as this operation's event %s (%v)", i+1, m, m.ID, err)
		}
		switch m.Type {
		case "created": // its event may still have been on its way at the snapshot
			if len(got) > 0 {
				t.Fatalf("a created event after progress: %+v", m)
			}
		case "progress":
			got = append(got, e.Operation.Message)
			connections[m.Connection] = true
		case "succeeded":
			if i != len(s.Messages)-2 || e.Operation.Status != "succeeded" || e.Operation.Percent != 100 {
				t.Fatalf("terminal event %+v (message %d of %d)", e, i+1, len(s.Messages))
			}
		default:
			t.Fatalf("unexpected message %+v", m)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("progress received %v, want %v once each, in order", got, want)
	}
	if s.Messages[len(s.Messages)-1].Type != "succeeded" {
		t.Fatalf("last message %+v, want the terminal event", s.Messages[len(s.Messages)-1])
	}
	if len(connections) < 2 || s.Opened < 2 {
		t.Fatalf("progress arrived on connections %v (%d opened): no resume happened", connections, s.Opened)
	}
	for i, u := range s.URLs {
		if has := strings.Contains(u, "last_event_id="); has != (i > 0) {
			t.Fatalf("stream URL %d %q: a resume, and only a resume, carries last_event_id", i+1, u)
		}
	}
	if len(s.Errors) > 0 {
		t.Fatalf("the page reported errors: %v", s.Errors)
	}
	page.mu.Lock()
	tickets := page.tickets
	page.mu.Unlock()
	if tickets != s.Connections {
		t.Fatalf("%d tickets issued for %d connections: each connection needs a fresh one", tickets, s.Connections)
	}
	t.Logf("%d messages over %d connections in %v", len(s.Messages), s.Connections, time.Since(started).Round(time.Millisecond))
}
