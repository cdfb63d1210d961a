package testkit

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SSEEvent is one Server-Sent Events message.
type SSEEvent struct {
	ID    string
	Event string
	Data  string
	Retry string
}

// SSE is a Server-Sent Events client reading one stream in the background.
type SSE struct {
	Status int
	Header http.Header
	// Body is the response body when the status is not 200.
	Body     []byte
	events   chan SSEEvent
	comments chan string
	done     chan struct{}
	cancel   context.CancelFunc
	mu       sync.Mutex
	retries  []string
}

// OpenSSE connects to url with token (may be empty) and extra headers
// (name, value pairs), and starts reading.
func OpenSSE(t TB, url, token string, headers ...string) *SSE {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// One connection per stream on HTTP/1.1; on HTTP/2 the app's client
	// multiplexes them, as a browser does.
	client, p := clientFor(url)
	if p == HTTP1 {
		client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	res, err := client.Do(req) //nolint:bodyclose // closed by the reading goroutine, or below when not 200
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	checkProtocol(t, res, p)
	s := &SSE{Status: res.StatusCode, Header: res.Header, events: make(chan SSEEvent, 100000),
		comments: make(chan string, 1000), done: make(chan struct{}), cancel: cancel}
	if res.StatusCode != http.StatusOK {
		buf := make([]byte, 64<<10)
		n, _ := res.Body.Read(buf)
		s.Body = buf[:n]
		_ = res.Body.Close()
		cancel()
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		defer func() { _ = res.Body.Close() }()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev SSEEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" || ev.Event != "" || ev.ID != "" {
					s.events <- ev
				}
				ev = SSEEvent{}
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- strings.TrimSpace(line[1:]):
				default:
				}
			default:
				name, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch name {
				case "id":
					ev.ID = value
				case "event":
					ev.Event = value
				case "data":
					ev.Data = value
				case "retry":
					s.mu.Lock()
					s.retries = append(s.retries, value)
					s.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Next returns the next message, failing the test after timeout.
func (s *SSE) Next(t TB, timeout time.Duration) SSEEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(timeout):
		t.Fatalf("no stream message within %v", timeout)
		return SSEEvent{}
	}
}

// TryNext returns the next message, or false when the stream ended or
// nothing came within timeout.
func (s *SSE) TryNext(timeout time.Duration) (SSEEvent, bool) {
	select {
	case ev := <-s.events:
		return ev, true
	default:
	}
	select {
	case ev := <-s.events:
		return ev, true
	case <-s.done:
		select {
		case ev := <-s.events:
			return ev, true
		default:
			return SSEEvent{}, false
		}
	case <-time.After(timeout):
		return SSEEvent{}, false
	}
}

// WaitEnd waits until the server ends the stream and returns the messages
// that were still unread; it fails the test after timeout.
func (s *SSE) WaitEnd(t TB, timeout time.Duration) []SSEEvent {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		t.Fatalf("the stream did not end within %v", timeout)
	}
	var rest []SSEEvent
	for {
		select {
		case ev := <-s.events:
			rest = append(rest, ev)
		default:
			return rest
		}
	}
}

// Ended reports whether the server ended the stream.
func (s *SSE) Ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Retries are the retry: hints received so far.
func (s *SSE) Retries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.retries...)
}

// Comments drains the comment lines (keepalives) received so far.
func (s *SSE) Comments() []string {
	var out []string
	for {
		select {
		case c := <-s.comments:
			out = append(out, c)
		default:
			return out
		}
	}
}

// Close disconnects.
func (s *SSE) Close() {
	s.cancel()
	<-s.done
}

// RawStream opens a stream on a plain TCP connection and never reads it:
// a consumer that falls behind. Close the returned connection to end it.
func RawStream(t TB, baseURL, path, token string) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(baseURL, "http://")
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatalf("write request: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
