package e2e

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// departureMargin is what a bound on noticing a departed client allows
// beyond itself: the FIN's way over loopback and the polling of the test.
const departureMargin = time.Second

// TestStreamSlotsFreeSoonAfterClientsLeave: a caller who opened the cap's
// worth of streams and dropped them all (a page reloaded a few times) can
// open the cap's worth again within min(SSE_KEEPALIVE/2, 5 s), without
// waiting for keepalive writes to fail.
func TestStreamSlotsFreeSoonAfterClientsLeave(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keepalive string
		bound     time.Duration
	}{
		// The default keepalive (30 s): a failed write would take a minute.
		{name: "default keepalive", bound: 5 * time.Second},
		// A short keepalive: half of it is the bound, well before the
		// second keepalive write (the first that fails) at 6 s.
		{name: "keepalive 3s", keepalive: "3s", bound: 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.keepalive != "" {
				extra = []string{"SSE_KEEPALIVE", tc.keepalive}
			}
			app, _ := startOperationsApp(t, extra...)
			limit := app.Config.Streams.MaxStreamsPerSubject
			alice := testkit.Token(t, "alice", time.Hour)
			p := create(t, app, alice, "reload")
			url := app.URL + projectStreamPath(p.ID)
			open := func() *testkit.SSE { return testkit.OpenSSE(t, url, alice) }

			streams := make([]*testkit.SSE, 0, limit)
			for i := range limit {
				s := open()
				if s.Status != http.StatusOK {
					t.Fatalf("stream %d of %d: %d %s", i+1, limit, s.Status, s.Body)
				}
				s.Next(t, 5*time.Second)
				streams = append(streams, s)
			}
			if s := open(); s.Status != http.StatusTooManyRequests || !strings.Contains(string(s.Body), "stream.too_many") {
				t.Fatalf("stream over the cap of %d: %d %s, want 429 stream.too_many", limit, s.Status, s.Body)
			}
			for _, s := range streams {
				s.Close()
			}
			left := time.Now()

			// A new stream is accepted within the bound...
			deadline := left.Add(tc.bound + departureMargin)
			for {
				s := open()
				if s.Status == http.StatusOK {
					break
				}
				if s.Status != http.StatusTooManyRequests || !strings.Contains(string(s.Body), "stream.too_many") {
					t.Fatalf("reopening: %d %s", s.Status, s.Body)
				}
				if time.Now().After(deadline) {
					t.Fatalf("%v after %d clients left, no new stream is accepted (bound %v)",
						time.Since(left).Round(time.Millisecond), limit, tc.bound)
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("a new stream accepted %v after the clients left (bound %v)", time.Since(left).Round(time.Millisecond), tc.bound)
			// ...and by the bound every slot is free, not only one: the
			// rest of the cap's worth opens at once.
			time.Sleep(time.Until(deadline))
			for i := 1; i < limit; i++ {
				if s := open(); s.Status != http.StatusOK {
					t.Fatalf("%v after %d clients left, stream %d of %d: %d %s", time.Since(left).Round(time.Millisecond),
						limit, i+1, limit, s.Status, s.Body)
				}
			}
		})
	}
}

// TestStreamSurvivesBytesFromItsClient: what a client sends after its
// request (nothing, for a well-behaved SSE client) is read and dropped by
// the departure check; it neither ends the stream nor stops its events.
func TestStreamSurvivesBytesFromItsClient(t *testing.T) {
	app, _ := startOperationsApp(t, "SSE_KEEPALIVE", "400ms")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "chatty")
	op := createOperation(t, app, alice, p.ID, "import")

	u, err := url.Parse(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(t.Context(), "tcp", u.Host)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + projectStreamPath(p.ID) + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + alice + "\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatalf("request: %v", err)
	}
	r := bufio.NewReader(conn)
	if status, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line %q: %v", status, err)
	}
	waitFor := func(want string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended before %q: %v", want, err)
			}
			if strings.Contains(line, want) {
				return
			}
		}
	}
	waitFor("event: snapshot")
	// Bytes after the request, then more, spread over several checks
	// (every 200 ms here).
	for i := range 5 {
		if _, err := conn.Write([]byte("not a request " + strings.Repeat("x", 100*i) + "\r\n")); err != nil {
			t.Fatalf("client bytes: %v", err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	time.Sleep(time.Second)
	mustReport(t, app, alice, p.ID, op.ID, 10, "after client bytes")
	waitFor("after client bytes")
}
