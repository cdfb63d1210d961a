//go:build unix

package operation

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// maxDiscard bounds what one departure check reads, and drops, of what a
// client sent after its request (an SSE client sends nothing).
const maxDiscard = 4 << 10

// departureCheck returns a check that reports, without blocking, whether
// the client of conn has closed or reset its end of the connection; nil
// when conn does not expose its descriptor (the next failed write then
// ends the stream). The check costs one non-blocking read per call and
// no goroutine.
//
// Over TLS it looks at the socket below: the stream never reads from its
// connection again, so dropping raw bytes (a close_notify) breaks nothing.
func departureCheck(conn net.Conn) func() bool {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() bool { return clientLeft(raw) }
}

func clientLeft(raw syscall.RawConn) bool {
	var buf [128]byte
	left := false
	err := raw.Read(func(fd uintptr) bool {
		for read := 0; read < maxDiscard; {
			n, err := syscall.Read(int(fd), buf[:])
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN):
				// Nothing to read: the client is still there.
			case err != nil || n == 0:
				// Reset, or end of file: the client closed its end. A
				// client that only half-closes is taken as gone too: an
				// SSE client has no request left to send.
				left = true
			default:
				read += n
				continue
			}
			return true
		}
		return true
	})
	return left || err != nil
}
