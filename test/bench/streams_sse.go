package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rawStream is one Server-Sent Events stream read straight off its TCP
// connection: the API hijacks the connection and writes the stream without
// chunking (Connection: close), so the body is the event text itself.
type rawStream struct {
	conn net.Conn // HTTP/1.1; nil on HTTP/2
	br   *bufio.Reader
	// HTTP/2: the response body, and the request's cancel, which resets
	// the stream (its read deadline is a timer that calls it).
	body   io.ReadCloser
	cancel context.CancelFunc
	mu     sync.Mutex
	timer  *time.Timer
}

// setReadDeadline ends reads that have not returned by t.
func (s *rawStream) setReadDeadline(t time.Time) {
	if s.conn != nil {
		_ = s.conn.SetReadDeadline(t)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(time.Until(t), s.cancel)
}

// h2Client speaks cleartext HTTP/2 with prior knowledge (the API's
// HTTP_H2C) and opens another connection whenever one has as many
// streams as the server allows (250 by default).
func h2Client() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

// openH2 opens one stream over client's HTTP/2 connections.
func openH2(ctx context.Context, client *http.Client, addr, path, token string, bufSize int) (*rawStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
		_ = res.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET %s: %s over %s", path, res.Status, res.Proto)
	}
	return &rawStream{br: bufio.NewReaderSize(res.Body, bufSize), body: res.Body, cancel: cancel}, nil
}

// errFinished is a 204: the operation finished and the client has it all.
var errFinished = errors.New("stream finished (204)")

// openRaw sends GET path with the token (and Last-Event-ID when lastID is
// not empty) and reads the response head; anything but 200 is an error.
func openRaw(ctx context.Context, addr, path, token, lastID string, bufSize int) (*rawStream, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + token + "\r\n"
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	req += "\r\n"
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		_ = conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, bufSize)
	status, err := br.ReadString('\n')
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("read status: %w", err)
	}
	code := 0
	if f := strings.Fields(status); len(f) >= 2 {
		code, _ = strconv.Atoi(f[1])
	}
	if code != http.StatusOK {
		_ = conn.Close()
		if code == http.StatusNoContent {
			return nil, errFinished
		}
		return nil, fmt.Errorf("GET %s: %s", path, strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("read header: %w", err)
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return &rawStream{conn: conn, br: br}, nil
}

// sseMsg is one message of a stream.
type sseMsg struct {
	ID    int64
	Event string
	Data  string
}

// next reads the next message, skipping comments; at is when its first
// line was read.
func (s *rawStream) next() (m sseMsg, at time.Time, err error) {
	started := false
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			return m, at, err
		}
		if !started {
			at = time.Now()
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if m.Event != "" || m.Data != "" {
				return m, at, nil
			}
			started = false
			m = sseMsg{}
			continue
		case strings.HasPrefix(line, ":"):
			continue
		}
		started = true
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			m.ID, _ = strconv.ParseInt(value, 10, 64)
		case "event":
			m.Event = value
		case "data":
			m.Data = value
		}
	}
}

func (s *rawStream) close() {
	if s.conn != nil {
		_ = s.conn.Close()
		return
	}
	s.cancel()
	_ = s.body.Close()
}

// messageOf is the operation's message in an event's data.
func messageOf(data string) (string, error) {
	var ev struct {
		Operation struct {
			Message string `json:"message"`
		} `json:"operation"`
	}
	err := json.Unmarshal([]byte(data), &ev)
	return ev.Operation.Message, err
}

// follower reads one stream in its own goroutine and hands every message
// to on. With resume set, a stream the server ends is reopened with
// Last-Event-ID, as a browser would: the API promises each event exactly
// once across such reconnects.
type follower struct {
	addr, path, token string
	resume            bool
	on                func(m sseMsg, at time.Time)

	mu      sync.Mutex
	cur     *rawStream
	stopped bool
	// Written by the goroutine only; read after done.
	lastID     int64
	reconnects int
	err        error
	done       chan struct{}
}

func follow(f *follower, first *rawStream) *follower {
	f.cur, f.done = first, make(chan struct{})
	go f.run()
	return f
}

func (f *follower) run() {
	defer close(f.done)
	for {
		f.mu.Lock()
		s, stopped := f.cur, f.stopped
		f.mu.Unlock()
		if stopped {
			return
		}
		for {
			m, at, err := s.next()
			if err != nil {
				break
			}
			if m.ID > 0 {
				f.lastID = m.ID
			}
			f.on(m, at)
		}
		s.close()
		f.mu.Lock()
		stopped = f.stopped
		f.mu.Unlock()
		if stopped || !f.resume {
			if !stopped {
				f.err = errors.New("the server ended the stream")
			}
			return
		}
		var next *rawStream
		var err error
		for attempt := 0; attempt < 50; attempt++ {
			time.Sleep(20 * time.Millisecond)
			next, err = openRaw(context.Background(), f.addr, f.path, f.token, strconv.FormatInt(f.lastID, 10), 16<<10)
			if err == nil || errors.Is(err, errFinished) {
				break
			}
		}
		if err != nil {
			if !errors.Is(err, errFinished) {
				f.err = fmt.Errorf("reconnect: %w", err)
			}
			return
		}
		f.reconnects++
		f.mu.Lock()
		f.cur = next
		if f.stopped {
			next.close()
		}
		f.mu.Unlock()
	}
}

// stop closes the stream and waits for the goroutine.
func (f *follower) stop() {
	f.mu.Lock()
	f.stopped = true
	if f.cur != nil {
		f.cur.close()
	}
	f.mu.Unlock()
	<-f.done
}

// openMany opens n streams with a few dialers at a time; path(i) is the
// i-th stream's path. On error every stream already opened is closed.
func openMany(ctx context.Context, addr, token string, n, dialers, bufSize int, path func(i int) string) ([]*rawStream, error) {
	return openManyWith(ctx, nil, addr, token, n, dialers, bufSize, path)
}

// openManyWith is openMany over HTTP/2 connections of h2 when it is set.
func openManyWith(ctx context.Context, h2 *http.Client, addr, token string, n, dialers, bufSize int, path func(i int) string) ([]*rawStream, error) {
	streams := make([]*rawStream, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var s *rawStream
				var err error
				if h2 != nil {
					s, err = openH2(ctx, h2, addr, path(i), token, bufSize)
				} else {
					s, err = openRaw(ctx, addr, path(i), token, "", bufSize)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("stream %d: %w", i, err)
				}
				streams[i] = s
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		for _, s := range streams {
			if s != nil {
				s.close()
			}
		}
		return nil, firstErr
	}
	return streams, nil
}
