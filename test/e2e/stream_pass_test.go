package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// passCookie is the stream_pass cookie a response sets, failing the test
// when there is not exactly one.
func passCookie(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	var found []*http.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "stream_pass" {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("Set-Cookie %q: want exactly one stream_pass cookie", h.Values("Set-Cookie"))
	}
	return found[0]
}

func issueTicket(t *testing.T, app *testkit.App, token, path string, headers ...string) (map[string]any, *http.Cookie) {
	t.Helper()
	res := app.Do("POST", path, token, nil, headers...)
	if res.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, res.Status, res.Body)
	}
	return res.Map(t), passCookie(t, res.Header)
}

// TestStreamPassCookie: the ticket endpoints also set a stream pass, an
// HttpOnly SameSite=Strict cookie scoped by Path to the stream, which
// opens that stream as often as needed (each time renewed, never beyond
// the token), and nothing else: not another stream, not as a ticket, not
// for another caller.
func TestStreamPassCookie(t *testing.T) {
	app, _ := startOperationsApp(t, "LOG_LEVEL", "debug", "SSE_PASS_TTL", "10m", "SSE_MAX_DURATION", "1m")
	alice := testkit.Token(t, "alice", time.Hour)
	bob := testkit.Token(t, "bob", time.Hour)
	p := create(t, app, alice, "passes")
	op := createOperation(t, app, alice, p.ID, "import")
	streamPath := opStreamPath(p.ID, op.ID)

	body, c := issueTicket(t, app, alice, streamPath+"/tickets")
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != streamPath ||
		c.MaxAge < 590 || c.MaxAge > 600 || len(c.Value) < 40 || c.Value == body["ticket"] {
		t.Fatalf("pass cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP, Path=%s, Max-Age about SSE_PASS_TTL, its own code", c, streamPath)
	}
	if body["stream_url"] != streamPath {
		t.Fatalf("stream_url %v, want %s", body["stream_url"], streamPath)
	}
	passExp, err := time.Parse(time.RFC3339Nano, fmt.Sprint(body["pass_expires_at"]))
	if err != nil || passExp.Before(time.Now().Add(9*time.Minute)) || passExp.After(time.Now().Add(10*time.Minute)) {
		t.Fatalf("pass_expires_at %v (%v): want about now + SSE_PASS_TTL", body["pass_expires_at"], err)
	}
	cookie := "stream_pass=" + c.Value

	// Opens the stream, again and again, each time renewing the cookie.
	first := testkit.OpenSSE(t, app.URL+streamPath, "", "Cookie", cookie)
	if first.Status != http.StatusOK {
		t.Fatalf("stream with the pass: %d %s", first.Status, first.Body)
	}
	snap := first.Next(t, 5*time.Second)
	if snap.Event != "snapshot" {
		t.Fatalf("first message %+v", snap)
	}
	if renewed := passCookie(t, first.Header); renewed.Value != c.Value || renewed.Path != streamPath || !renewed.HttpOnly || renewed.MaxAge < 590 {
		t.Fatalf("renewed cookie %+v: the same pass, for another SSE_PASS_TTL", renewed)
	}
	first.Close()
	mustReport(t, app, alice, p.ID, op.ID, 10, "while away")
	again := testkit.OpenSSE(t, app.URL+streamPath, "", "Cookie", cookie, "Last-Event-ID", snap.ID)
	if again.Status != http.StatusOK {
		t.Fatalf("the pass's second stream: %d %s", again.Status, again.Body)
	}
	if e := expectEvent(t, again, "progress", 5*time.Second); e.Operation.Message != "while away" {
		t.Fatalf("resumed with the pass: %+v", e)
	}
	again.Close()

	// Nowhere else: another stream (and the answer deletes the cookie), as
	// a ticket, a ticket as a pass, with another caller's token.
	other := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), "", "Cookie", cookie)
	if other.Status != http.StatusUnauthorized || !strings.Contains(string(other.Body), "stream.pass_invalid") {
		t.Fatalf("the operation's pass on the project's stream: %d %s", other.Status, other.Body)
	}
	if gone := passCookie(t, other.Header); gone.MaxAge >= 0 || gone.Path != projectStreamPath(p.ID) {
		t.Fatalf("an invalid pass's answer sets %+v: want the cookie deleted", gone)
	}
	if asTicket := testkit.OpenSSE(t, app.URL+streamPath+"?ticket="+c.Value, ""); asTicket.Status != http.StatusUnauthorized ||
		!strings.Contains(string(asTicket.Body), "stream.ticket_invalid") {
		t.Fatalf("a pass as a ticket: %d %s", asTicket.Status, asTicket.Body)
	}
	ticketBody, _ := issueTicket(t, app, alice, streamPath+"/tickets")
	if asPass := testkit.OpenSSE(t, app.URL+streamPath, "", "Cookie", "stream_pass="+fmt.Sprint(ticketBody["ticket"])); asPass.Status != http.StatusUnauthorized {
		t.Fatalf("a ticket as a pass: %d %s", asPass.Status, asPass.Body)
	}
	if asBob := testkit.OpenSSE(t, app.URL+streamPath, bob, "Cookie", cookie); asBob.Status != http.StatusNotFound {
		t.Fatalf("bob's token with alice's pass: %d %s (the Authorization header decides)", asBob.Status, asBob.Body)
	}
	if many := testkit.OpenSSE(t, app.URL+streamPath, "", "Cookie", "stream_pass=forged; "+cookie); many.Status != http.StatusOK {
		t.Fatalf("a stray stream_pass cookie beside the valid one: %d %s", many.Status, many.Body)
	}
	if forged := testkit.OpenSSE(t, app.URL+streamPath, "", "Cookie", "stream_pass="+strings.Repeat("x", 4000)); forged.Status != http.StatusUnauthorized {
		t.Fatalf("a forged pass: %d %s", forged.Status, forged.Body)
	}
	// Bob may not even get one for alice's stream.
	if res := app.Do("POST", streamPath+"/tickets", bob, nil); res.Status != http.StatusNotFound || res.Header.Get("Set-Cookie") != "" {
		t.Fatalf("bob asks for a pass to alice's stream: %d %q", res.Status, res.Header.Values("Set-Cookie"))
	}

	// Behind a proxy that terminated TLS the cookie is Secure.
	if _, secure := issueTicket(t, app, alice, streamPath+"/tickets", "X-Forwarded-Proto", "https"); !secure.Secure {
		t.Fatalf("pass cookie behind TLS %+v: want Secure", secure)
	}

	// A pass expires with the token it came from.
	short := testkit.Token(t, "alice", 3*time.Second)
	_, brief := issueTicket(t, app, short, projectStreamPath(p.ID)+"/tickets")
	if brief.MaxAge > 3 || brief.Path != projectStreamPath(p.ID) {
		t.Fatalf("pass from a 3s token: %+v, want Max-Age at most 3", brief)
	}
	if !testkit.Eventually(10*time.Second, func() bool {
		s := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), "", "Cookie", "stream_pass="+brief.Value)
		defer s.Close()
		return s.Status == http.StatusUnauthorized
	}) {
		t.Fatal("a pass still opens its stream after the token it came from expired")
	}

	for _, entry := range app.Logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(line, c.Value) || strings.Contains(line, brief.Value) {
			t.Fatalf("a stream pass is in the logs: %s", line)
		}
	}
}

// TestStreamPassAcrossOrigins: with CORS_ALLOWED_ORIGINS set, a page on
// exactly those origins may make credentialed requests (so its browser
// stores and presents the pass); any other origin gets no CORS headers.
func TestStreamPassAcrossOrigins(t *testing.T) {
	const allowed = "http://app.example.test"
	app, _ := startOperationsApp(t, "CORS_ALLOWED_ORIGINS", allowed)
	alice := testkit.Token(t, "alice", time.Hour)
	p := create(t, app, alice, "cors")
	tickets := projectStreamPath(p.ID) + "/tickets"

	pre := app.Do("OPTIONS", tickets, "", nil, "Origin", allowed,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
	if pre.Status >= 300 || pre.Header.Get("Access-Control-Allow-Origin") != allowed || pre.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight from %s: %d %v", allowed, pre.Status, pre.Header)
	}
	res := app.Do("POST", tickets, alice, nil, "Origin", allowed)
	if res.Status != http.StatusCreated || res.Header.Get("Access-Control-Allow-Origin") != allowed ||
		res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("ticket from %s: %d %v", allowed, res.Status, res.Header)
	}
	c := passCookie(t, res.Header)
	s := testkit.OpenSSE(t, app.URL+projectStreamPath(p.ID), "", "Origin", allowed, "Cookie", "stream_pass="+c.Value)
	if s.Status != http.StatusOK || s.Header.Get("Access-Control-Allow-Origin") != allowed || s.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("stream from %s with the pass: %d %v", allowed, s.Status, s.Header)
	}
	s.Close()

	for _, origin := range []string{"http://evil.example.test", "http://app.example.test.evil.test", "null"} {
		res := app.Do("POST", tickets, alice, nil, "Origin", origin)
		if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("ticket from %s: CORS headers %v", origin, res.Header)
		}
	}
}
