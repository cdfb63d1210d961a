package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// certificateCheckInterval is how often a handshake may look at the key
// pair's files for a change: a stat of two files at most once a second.
const certificateCheckInterval = time.Second

// certificate is the key pair HTTPS serves. It is read again when either
// file changes (noticed at the first handshake after it, within
// certificateCheckInterval) or when reload is called (SIGHUP); a pair that
// cannot be read keeps the one in use, so that a half-written renewal never
// takes the listener down. Handshakes in progress and open connections keep
// the certificate they started with.
type certificate struct {
	certFile, keyFile string
	log               *zap.Logger

	current atomic.Pointer[tls.Certificate]
	checked atomic.Int64 // unix nanoseconds of the last look at the files

	mu     sync.Mutex // serialises reads of the files
	stamp  fileStamp  // of the pair in use
	failed fileStamp  // of the last pair that could not be read, reported once
}

// fileStamp tells one version of the pair from another.
type fileStamp struct {
	certTime, keyTime time.Time
	certSize, keySize int64
}

func stampOf(certFile, keyFile string) (fileStamp, error) {
	c, err := os.Stat(certFile)
	if err != nil {
		return fileStamp{}, err
	}
	k, err := os.Stat(keyFile)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{certTime: c.ModTime(), keyTime: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// loadCertificate reads the pair once; an error names the variables to fix.
func loadCertificate(certFile, keyFile string, log *zap.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log}
	stamp, err := stampOf(certFile, keyFile)
	if err == nil {
		err = c.read(stamp)
	}
	if err != nil {
		return nil, fmt.Errorf("HTTP_TLS_CERT_FILE %s and HTTP_TLS_KEY_FILE %s: %w", certFile, keyFile, err)
	}
	c.checked.Store(time.Now().UnixNano())
	return c, nil
}

// read loads the pair and, when it is valid, serves it from now on.
// Callers hold mu, or own c alone.
func (c *certificate) read(stamp fileStamp) error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return err
	}
	pair.Leaf = leaf
	if now := time.Now(); now.After(leaf.NotAfter) {
		c.log.Warn("the TLS certificate has expired", zap.Time("not_after", leaf.NotAfter))
	} else if leaf.NotAfter.Sub(now) < 7*24*time.Hour {
		c.log.Warn("the TLS certificate expires within a week", zap.Time("not_after", leaf.NotAfter))
	}
	c.current.Store(&pair)
	c.stamp = stamp
	c.log.Info("TLS certificate loaded", zap.String("subject", leaf.Subject.String()),
		zap.Strings("dns_names", leaf.DNSNames), zap.Time("not_after", leaf.NotAfter))
	return nil
}

// reload reads the pair again whether or not the files look changed.
func (c *certificate) reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp, err := stampOf(c.certFile, c.keyFile)
	if err == nil {
		err = c.read(stamp)
	}
	if err != nil {
		c.log.Error("TLS certificate not reloaded; the one in use stays", zap.Error(err))
	}
	return err
}

// refresh reads the pair again if its files changed since it was read.
func (c *certificate) refresh() {
	now := time.Now().UnixNano()
	last := c.checked.Load()
	if now-last < int64(certificateCheckInterval) || !c.checked.CompareAndSwap(last, now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp, err := stampOf(c.certFile, c.keyFile)
	if err != nil || stamp == c.stamp || stamp == c.failed {
		return // a missing file during a renewal is looked at again later
	}
	if err := c.read(stamp); err != nil {
		c.failed = stamp
		c.log.Error("TLS certificate files changed but cannot be used; the one in use stays", zap.Error(err))
	}
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.refresh()
	return c.current.Load(), nil
}

// tlsConfig is Mozilla's "intermediate" configuration: TLS 1.2 and 1.3,
// and for 1.2 only forward-secret AEAD suites (1.3's are not
// configurable). HTTP/2 is negotiated by the server (ServeTLS adds h2).
func tlsConfig(cert *certificate) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cert.get,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// redirectToHTTPS answers every request with a permanent redirect (308:
// the method and body are kept) to the same host, path and query on
// HTTPS at httpsPort; 443 is left out of the URL.
func redirectToHTTPS(httpsPort func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || strings.ContainsAny(host, "/\\@") {
			http.Error(w, "a Host header naming this server is required", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]" // an IPv6 literal
		}
		if port := httpsPort(); port != "443" {
			host += ":" + port
		}
		w.Header().Set("Connection", "close")
		// The host is the one the client asked for (no '/', '\\' or '@' in it): a client can
		// only send itself to HTTPS at an address it named.
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect) //nolint:gosec // G710: see above
	})
}

// loadTLS reads the key pair and reloads it on SIGHUP from now on; without
// HTTP_TLS_CERT_FILE it does nothing.
func (s *Server) loadTLS() error {
	if s.cfg.HTTP.TLSCertFile == "" {
		return nil
	}
	cert, err := loadCertificate(s.cfg.HTTP.TLSCertFile, s.cfg.HTTP.TLSKeyFile, s.log.Named("tls"))
	if err != nil {
		return err
	}
	s.cert = cert
	s.srv.TLSConfig = tlsConfig(cert)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	s.hup = hup
	go func() {
		for range hup {
			_ = cert.reload()
		}
	}()
	return nil
}

func (s *Server) stopTLS() {
	if s.hup != nil {
		signal.Stop(s.hup)
		close(s.hup)
		s.hup = nil
	}
}

// serve serves HTTPS when there is a key pair, plain HTTP (with h2c when
// HTTP_H2C is set) otherwise.
func (s *Server) serve(ln net.Listener) error {
	if s.cert != nil {
		return s.srv.ServeTLS(ln, "", "")
	}
	return s.srv.Serve(ln)
}

// protocols names what the listener speaks, for its start line.
func (s *Server) protocols() []string {
	switch {
	case s.cert != nil:
		return []string{"h2", "http/1.1"}
	case s.cfg.HTTP.H2C:
		return []string{"h2c", "http/1.1"}
	default:
		return []string{"http/1.1"}
	}
}

// listenRedirect binds HTTP_REDIRECT_ADDR and serves the redirect to
// HTTPS there; a busy port fails the start like HTTP_ADDR's.
func (s *Server) listenRedirect(ctx context.Context) error {
	if s.cfg.HTTP.RedirectAddr == "" {
		return nil
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.HTTP.RedirectAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_REDIRECT_ADDR %s: %w", s.cfg.HTTP.RedirectAddr, err)
	}
	s.redirectLn = ln
	s.redirect = &http.Server{
		Handler: redirectToHTTPS(func() string {
			_, port, _ := net.SplitHostPort(s.Addr())
			return port
		}),
		ReadHeaderTimeout: s.cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.HTTP.ReadTimeout,
		WriteTimeout:      s.cfg.HTTP.WriteTimeout,
		IdleTimeout:       s.cfg.HTTP.IdleTimeout,
		ErrorLog:          zap.NewStdLog(s.log.Named("http.redirect")),
	}
	go func() {
		if err := s.redirect.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("HTTPS redirect server failed", zap.Error(err))
		}
	}()
	s.log.Info("HTTPS redirect listening", zap.String("url", "http://"+ln.Addr().String()), zap.String("to", s.URL()))
	return nil
}
