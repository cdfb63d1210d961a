package operation

import (
	"net"
	"net/http"
	"time"
)

// streamConn is where a pump writes a stream: each write is sent at once,
// or fails after the write timeout (a client that stopped reading).
type streamConn interface {
	write(b []byte) bool
	close()
}

// hijacked is an HTTP/1.1 connection taken over from the server.
type hijacked struct {
	conn    net.Conn
	timeout time.Duration
}

func (c hijacked) write(b []byte) bool {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.conn.Write(b)
	return err == nil
}

func (c hijacked) close() { _ = c.conn.Close() }

// flushed is an HTTP/2 stream, written through its http.ResponseController.
// HTTP/2's write deadline is a timer that resets the stream when it fires,
// writing or not, so it is set for each write and lifted after it: an
// idle stream lives as long as the pump keeps it.
type flushed struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	broken  bool
}

func newFlushed(w http.ResponseWriter, timeout time.Duration) *flushed {
	f := &flushed{w: w, rc: http.NewResponseController(w), timeout: timeout}
	// The server's WriteTimeout has been running since the request came.
	f.broken = f.rc.SetWriteDeadline(time.Time{}) != nil
	return f
}

func (f *flushed) write(b []byte) bool {
	if f.broken {
		return false
	}
	if f.rc.SetWriteDeadline(time.Now().Add(f.timeout)) != nil {
		f.broken = true
		return false
	}
	if _, err := f.w.Write(b); err != nil {
		f.broken = true
		return false
	}
	if err := f.rc.Flush(); err != nil {
		f.broken = true
		return false
	}
	f.broken = f.rc.SetWriteDeadline(time.Time{}) != nil
	return !f.broken
}

// close leaves the stream's end to the server: the continuation returns.
func (f *flushed) close() {}
