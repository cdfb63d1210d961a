package testkit

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP relay in front of a real service that a test can break on
// purpose: Freeze makes it swallow traffic (a hanging dependency), Cut
// drops every connection and refuses new ones (a dependency that is down).
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	mode    int // 0 forward, 1 frozen, 2 cut
	conns   map[net.Conn]struct{}
	closed  bool
	markers [][]byte // FreezeAfter's, while armed
}

const (
	proxyForward = iota
	proxyFrozen
	proxyCut
)

// NewProxy listens on a random loopback port and relays to target.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Freeze stops relaying bytes in both directions; connections stay open.
func (p *Proxy) Freeze() { p.setMode(proxyFrozen) }

// FreezeAfter lets traffic through until one connection has sent the
// markers in this order (case-insensitive, each within one read), and
// freezes right after relaying the bytes that held the last one: for
// example a statement that reaches the database and whose answer never
// comes back.
func (p *Proxy) FreezeAfter(markers ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.markers = nil
	for _, m := range markers {
		p.markers = append(p.markers, bytes.ToLower([]byte(m)))
	}
}

// seen advances one connection's progress through the armed markers and
// reports whether the last one has now been sent.
func (p *Proxy) seen(next *int, chunk []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.markers) == 0 {
		return false
	}
	lower := bytes.ToLower(chunk)
	for *next < len(p.markers) && bytes.Contains(lower, p.markers[*next]) {
		*next++
	}
	if *next < len(p.markers) {
		return false
	}
	p.markers = nil
	p.mode = proxyFrozen
	return true
}

// Cut closes every connection and refuses new ones.
func (p *Proxy) Cut() {
	p.setMode(proxyCut)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore relays normally again (for new connections).
func (p *Proxy) Restore() { p.setMode(proxyForward) }

// Close stops the proxy.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
}

func (p *Proxy) setMode(m int) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

func (p *Proxy) currentMode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.currentMode() == proxyCut || !p.track(in) {
			_ = in.Close()
			continue
		}
		go p.relay(in)
	}
}

func (p *Proxy) relay(in net.Conn) {
	out, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		_ = in.Close()
		return
	}
	if !p.track(out) {
		_ = in.Close()
		_ = out.Close()
		return
	}
	pipe := func(dst, src net.Conn, upstream bool) {
		buf := make([]byte, 32*1024)
		next := 0
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if p.currentMode() != proxyForward {
					continue // swallowed: the peer waits forever
				}
				if upstream {
					p.seen(&next, buf[:n]) // frozen before the answer can come back
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		_ = dst.Close()
		_ = src.Close()
	}
	go pipe(out, in, true)
	go pipe(in, out, false)
}
