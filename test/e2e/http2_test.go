package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestOverHTTP2 runs the project flow and the stream tests again with
// every app serving HTTPS under a certificate made for the run (HTTP/2
// negotiated by ALPN, and every response checked to have come over it)
// and cleartext HTTP/2 (HTTP_H2C). On HTTP/2 a stream cannot take its
// connection over: it is written through http.ResponseController, many
// to one connection, and its client's departure is a reset stream.
func TestOverHTTP2(t *testing.T) {
	for _, p := range []testkit.Protocol{testkit.HTTPS2, testkit.H2C} {
		t.Run(string(p), func(t *testing.T) {
			testkit.UseProtocol(t, p)
			t.Run("ProjectCRUD", TestProjectCRUD)
			t.Run("StreamSnapshotFirstThenLiveEventsUntilTheEnd", TestStreamSnapshotFirstThenLiveEventsUntilTheEnd)
			t.Run("StreamResumesExactlyOnceAfterServerForcedReconnects", TestStreamResumesExactlyOnceAfterServerForcedReconnects)
			t.Run("StreamEndsWhenTheTokenExpires", TestStreamEndsWhenTheTokenExpires)
			t.Run("StreamCapPerSubject", TestStreamCapPerSubject)
			t.Run("StreamSlotsFreeSoonAfterClientsLeave", TestStreamSlotsFreeSoonAfterClientsLeave)
			t.Run("StreamTickets", TestStreamTickets)
			t.Run("ShutdownDrainsStreams", TestShutdownDrainsStreams)
			t.Run("ShutdownSpreadsTheEndsOfStreams", TestShutdownSpreadsTheEndsOfStreams)
		})
	}
}

// TestStreamsOverHTTPSOnHTTP11: a client without HTTP/2 gets the hijacked
// path over TLS, and a stream whose client left frees its slot as soon as
// over plain HTTP/1.1 (the departure check looks below TLS).
func TestStreamsOverHTTPSOnHTTP11(t *testing.T) {
	testkit.UseProtocol(t, testkit.HTTPS1)
	t.Run("StreamSnapshotFirstThenLiveEventsUntilTheEnd", TestStreamSnapshotFirstThenLiveEventsUntilTheEnd)
	t.Run("StreamSlotsFreeSoonAfterClientsLeave", TestStreamSlotsFreeSoonAfterClientsLeave)
}

// TestTheHTTPSListener: HTTP/2 and HTTP/1.1 are both offered by ALPN (a
// stream over HTTPS on HTTP/1.1 still takes its TLS connection over), TLS
// below 1.2 is refused, every answer carries HSTS, and the redirect
// listener sends each request to the same URL on HTTPS with a 308.
func TestTheHTTPSListener(t *testing.T) {
	testkit.UseProtocol(t, testkit.HTTPS2)
	app, _ := startOperationsApp(t, "HTTP_REDIRECT_ADDR", "127.0.0.1:0")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "tls") // over HTTP/2: testkit checks every response
	if !strings.HasPrefix(app.URL, "https://") {
		t.Fatalf("the app's URL is %s, want https", app.URL)
	}
	res := app.Do("GET", "/health/live", "", nil)
	if res.Status != http.StatusOK || res.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("live over HTTPS: %d, HSTS %q", res.Status, res.Header.Get("Strict-Transport-Security"))
	}

	ca := x509.NewCertPool()
	pem, err := os.ReadFile(testkit.TestCertificate(t).CAFile)
	if err != nil || !ca.AppendCertsFromPEM(pem) {
		t.Fatalf("read the test CA: %v", err)
	}
	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	h1Client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12}, Protocols: h1}}
	h1Client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"http/1.1"}
	got, err := h1Client.Do(getRequest(t, app.URL+"/health/live"))
	if err != nil {
		t.Fatalf("HTTP/1.1 over TLS: %v", err)
	}
	_ = got.Body.Close()
	if got.ProtoMajor != 1 || got.StatusCode != http.StatusOK || got.TLS == nil || got.TLS.NegotiatedProtocol != "http/1.1" {
		t.Fatalf("HTTP/1.1 over TLS: %s %d, ALPN %q", got.Proto, got.StatusCode, got.TLS.NegotiatedProtocol)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, app.URL+projectStreamPath(p.ID), nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	stream, err := h1Client.Do(req)
	if err != nil {
		t.Fatalf("a stream over HTTPS on HTTP/1.1: %v", err)
	}
	line, err := bufio.NewReader(stream.Body).ReadString('\n')
	_ = stream.Body.Close()
	if stream.StatusCode != http.StatusOK || stream.ProtoMajor != 1 || err != nil || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("a stream over HTTPS on HTTP/1.1: %s %d, first line %q (%v)", stream.Proto, stream.StatusCode, line, err)
	}

	addr := strings.TrimPrefix(app.URL, "https://")
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		conn, err := tlsDial(t, addr, &tls.Config{RootCAs: ca, MinVersion: v, MaxVersion: v}) //nolint:gosec // proving the server refuses it
		if err == nil {
			_ = conn.Close()
			t.Fatalf("a TLS %x handshake succeeded", v)
		}
	}
	conn, err := tlsDial(t, addr, &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}) //nolint:gosec // proving the server refuses it
	if err == nil {
		_ = conn.Close()
		t.Fatal("TLS 1.2 with a CBC suite was accepted")
	}

	redirect := app.Server.RedirectAddr()
	if redirect == "" {
		t.Fatal("no redirect listener")
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequestWithContext(context.Background(), method, "http://"+redirect+"/api/v1/projects?limit=2&x=%20y", nil)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		want := app.URL + "/api/v1/projects?limit=2&x=%20y"
		if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
			t.Fatalf("%s over plain HTTP: %d Location %q, want 308 %q", method, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	// Followed, the redirect lands on the API over HTTPS.
	follow := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12}}}
	landed, err := follow.Do(getRequest(t, "http://"+redirect+"/health/live"))
	if err != nil {
		t.Fatal(err)
	}
	_ = landed.Body.Close()
	if landed.StatusCode != http.StatusOK || landed.TLS == nil {
		t.Fatalf("followed redirect: %d, TLS %v", landed.StatusCode, landed.TLS != nil)
	}
}

// TestTheCertificateIsReloadedWithoutDroppingConnections: a renewed key
// pair is served from the next handshake on, whether the files changed
// or only SIGHUP said so; a stream opened under the old certificate goes
// on receiving events on its connection throughout, and a pair that
// cannot be read leaves the one in use.
func TestTheCertificateIsReloadedWithoutDroppingConnections(t *testing.T) {
	testkit.UseProtocol(t, testkit.HTTPS2)
	first := testkit.TestCertificate(t)
	app, _ := startOperationsApp(t, "HTTP_TLS_CERT_FILE", first.CertFile, "HTTP_TLS_KEY_FILE", first.KeyFile)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "reload")
	op := createOperation(t, app, alice, p.ID, "import")
	stream := testkit.OpenSSE(t, app.URL+opStreamPath(p.ID, op.ID), alice)
	if ev := stream.Next(t, 5*time.Second); ev.Event != "snapshot" {
		t.Fatalf("first message %+v", ev)
	}
	addr := strings.TrimPrefix(app.URL, "https://")
	served := func() string {
		conn, err := tlsDial(t, addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading which certificate is served
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer func() { _ = conn.Close() }()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	serialOf := func(c testkit.Certificate) string {
		pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber.String()
	}
	firstSerial := serialOf(first)
	if got := served(); got != firstSerial {
		t.Fatalf("serves %s, want the first certificate %s", got, firstSerial)
	}
	stat := func(path string) os.FileInfo {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	certInfo, keyInfo := stat(first.CertFile), stat(first.KeyFile)
	install := func(c testkit.Certificate, keepStamp bool) {
		for _, f := range [][2]string{{c.CertFile, first.CertFile}, {c.KeyFile, first.KeyFile}} {
			data, err := os.ReadFile(f[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f[1], data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if keepStamp {
			_ = os.Chtimes(first.CertFile, certInfo.ModTime(), certInfo.ModTime())
			_ = os.Chtimes(first.KeyFile, keyInfo.ModTime(), keyInfo.ModTime())
		}
	}

	// A renewal the files do not show (same size, same times): SIGHUP.
	var second testkit.Certificate
	for range 50 {
		second = testkit.TestCertificate(t)
		if stat(second.CertFile).Size() == certInfo.Size() && stat(second.KeyFile).Size() == keyInfo.Size() {
			break
		}
	}
	install(second, true)
	time.Sleep(1100 * time.Millisecond) // past the interval between looks at the files
	if got := served(); got != firstSerial {
		t.Fatalf("files that look unchanged were read again (serial %s)", got)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !testkit.Eventually(5*time.Second, func() bool { return served() == serialOf(second) }) {
		t.Fatal("SIGHUP did not reload the certificate")
	}
	mustReport(t, app, alice, p.ID, op.ID, 10, "after SIGHUP")
	if e := expectEvent(t, stream, "progress", 5*time.Second); e.Operation.Message != "after SIGHUP" {
		t.Fatalf("the open stream got %q", e.Operation.Message)
	}

	// A broken pair (a key that is not the certificate's) is refused.
	third := testkit.TestCertificate(t)
	if err := os.WriteFile(first.KeyFile, mustRead(t, third.KeyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := served(); got != serialOf(second) {
		t.Fatalf("a key that does not match replaced the certificate in use (serial %s)", got)
	}
	// The renewal completes: the changed files are read at a handshake.
	install(third, false)
	if !testkit.Eventually(5*time.Second, func() bool { return served() == serialOf(third) }) {
		t.Fatal("changed files were not read again")
	}
	mustReport(t, app, alice, p.ID, op.ID, 20, "after the files changed")
	if e := expectEvent(t, stream, "progress", 5*time.Second); e.Operation.Message != "after the files changed" {
		t.Fatalf("the open stream got %q", e.Operation.Message)
	}
	if stream.Ended() {
		t.Fatal("the stream opened under the first certificate ended")
	}
}

func getRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func tlsDial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &tls.Dialer{Config: cfg}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	return conn.(*tls.Conn), nil
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestHTTP2SlowConsumerIsEvictedWithoutSlowingOthers: over HTTP/2 a
// client that stops reading fills its stream's flow-control window, the
// server's write to it times out (SSE_WRITE_TIMEOUT) or its buffer
// overflows, and the stream is reset, while another stream on another
// connection gets every event; the slow one resumes without loss.
func TestHTTP2SlowConsumerIsEvictedWithoutSlowingOthers(t *testing.T) {
	testkit.UseProtocol(t, testkit.HTTPS2)
	app, _ := startOperationsApp(t, "SSE_SUBSCRIBER_BUFFER", "64", "EVENTS_RELAY_BATCH", "16", "SSE_WRITE_TIMEOUT", "1s")
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "slow")
	op := createOperation(t, app, alice, p.ID, "import")

	slowClient := testkit.ClientOf(testkit.HTTPS2)
	slowClient.Transport.(*http.Transport).HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: 64 << 10, MaxReceiveBufferPerConnection: 64 << 10}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, app.URL+opStreamPath(p.ID, op.ID), nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	slow, err := slowClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Body.Close() }()
	if slow.ProtoMajor != 2 {
		t.Fatalf("slow consumer over %s", slow.Proto)
	}
	slowReader := bufio.NewReader(slow.Body)
	var head strings.Builder
	for !strings.Contains(head.String(), "event: snapshot") {
		line, err := slowReader.ReadString('\n')
		if err != nil {
			t.Fatalf("slow consumer's snapshot: %v", err)
		}
		head.WriteString(line)
	}
	const n = 600
	floodPastASlowConsumer(t, app, alice, p.ID, op.ID, n)
	// Now the slow consumer reads what it was sent before its stream was reset.
	done := make(chan struct{})
	var data []byte
	var readErr error
	go func() {
		defer close(done)
		data, readErr = io.ReadAll(slowReader)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow consumer's stream was not reset")
	}
	if readErr == nil {
		t.Fatal("the slow consumer's stream ended cleanly; want a reset")
	}
	resumeAfterEviction(t, app, alice, p.ID, op.ID, data, n)
}

// manyStreamsPage serves testdata/manystreams.html, hands it tickets as
// browserPage does, and keeps the latest state it reported.
type manyStreamsPage struct {
	*browserPage
	many pageResults[manyStreamsState]
}

func (s manyStreamsState) reportVersion() int { return s.Version }

type manyStreamsState struct {
	Version  int        `json:"version"`
	Opened   int        `json:"opened"`
	Messages [][]string `json:"messages"`
	Errors   []string   `json:"errors"`
}

func (p *manyStreamsPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/manystreams.html":
		serveTestdataPage(p.t, w, "manystreams.html")
	case r.Method == http.MethodPost && r.URL.Path == "/results":
		p.many.receive(p.t, w, r)
	default:
		p.browserPage.ServeHTTP(w, r) // /ticket
	}
}

// TestBrowserOpensMoreThanSixStreamsOverHTTPS: headless Chromium's own
// EventSource opens ten streams at once in one page against the API over
// HTTPS (the test's certificate, errors ignored for the run), and every
// one opens and gets every live event: over HTTP/1.1 a browser holds
// six connections to an origin and the seventh stream would wait.
func TestBrowserOpensMoreThanSixStreamsOverHTTPS(t *testing.T) {
	deadline := time.Now().Add(60 * time.Second)
	chromium := requireChromium(t)
	testkit.UseProtocol(t, testkit.HTTPS2)
	page := &manyStreamsPage{browserPage: &browserPage{t: t}}
	site := httptest.NewServer(page)
	t.Cleanup(site.Close)
	app, _ := startOperationsApp(t, "CORS_ALLOWED_ORIGINS", site.URL)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "many streams")
	op := createOperation(t, app, alice, p.ID, "import")
	page.browserPage.mu.Lock()
	page.browserPage.api, page.browserPage.token = app.URL, alice
	page.browserPage.mu.Unlock()

	const n = 10
	query := url.Values{"api": {app.URL}, "project": {p.ID}, "operation": {op.ID}, "n": {strconv.Itoa(n)}}
	browserLog := startChromium(t, chromium, site.URL+"/manystreams.html?"+query.Encode(), "--ignore-certificate-errors")
	waitFor := func(what string, cond func(manyStreamsState) bool) manyStreamsState {
		t.Helper()
		for {
			s := page.many.snapshot()
			if cond(s) {
				return s
			}
			if len(s.Errors) > 0 || time.Now().After(deadline) {
				t.Fatalf("the page did not %s: %+v\nbrowser log:\n%s", what, s, browserLog())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("open all ten streams", func(s manyStreamsState) bool { return s.Opened == n })
	want := messages(3)
	for i, msg := range want {
		mustReport(t, app, alice, p.ID, op.ID, 10+i*10, msg)
	}
	s := waitFor("receive every event on every stream", func(s manyStreamsState) bool {
		for _, got := range s.Messages {
			if len(got) < len(want) {
				return false
			}
		}
		return len(s.Messages) == n
	})
	for i, got := range s.Messages {
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("stream %d received %v, want %v once each, in order", i, got, want)
		}
	}
	if connected := testkit.Eventually(5*time.Second, func() bool { return streamsConnected(t, app, alice, p.ID) == n }); !connected {
		t.Fatalf("the API counts %d streams of the project, want %d", streamsConnected(t, app, alice, p.ID), n)
	}
}

// streamsConnected is the project's streams on the app, as its
// diagnostics count them.
func streamsConnected(t *testing.T, app *testkit.App, token, project string) int {
	t.Helper()
	res := app.Do("GET", "/api/v1/projects/"+project+"/info", token, nil)
	var info struct {
		Streams struct {
			Connected int `json:"connected"`
		} `json:"streams"`
	}
	res.JSON(t, &info)
	return info.Streams.Connected
}
