package bootstrap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestTLSSettingsAreCheckedTogether(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		fails string
	}{
		{"both files", map[string]string{"HTTP_TLS_CERT_FILE": "c.pem", "HTTP_TLS_KEY_FILE": "k.pem"}, ""},
		{"a certificate without its key", map[string]string{"HTTP_TLS_CERT_FILE": "c.pem"}, "HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE go together"},
		{"a key without its certificate", map[string]string{"HTTP_TLS_KEY_FILE": "k.pem"}, "go together"},
		{"h2c with TLS", map[string]string{"HTTP_TLS_CERT_FILE": "c.pem", "HTTP_TLS_KEY_FILE": "k.pem", "HTTP_H2C": "true"}, "HTTP_H2C is cleartext HTTP/2"},
		{"h2c alone", map[string]string{"HTTP_H2C": "true"}, ""},
		{"a redirect without TLS", map[string]string{"HTTP_REDIRECT_ADDR": ":8080"}, "HTTP_REDIRECT_ADDR redirects to HTTPS"},
		{"a redirect that is no address", map[string]string{"HTTP_TLS_CERT_FILE": "c.pem", "HTTP_TLS_KEY_FILE": "k.pem", "HTTP_REDIRECT_ADDR": "8080"}, "HTTP_REDIRECT_ADDR must be host:port"},
		{"a redirect on the HTTPS address", map[string]string{"HTTP_TLS_CERT_FILE": "c.pem", "HTTP_TLS_KEY_FILE": "k.pem", "HTTP_ADDR": ":8443", "HTTP_REDIRECT_ADDR": ":8443"}, "must differ from HTTP_ADDR"},
		{"both on free ports", map[string]string{"HTTP_TLS_CERT_FILE": "c.pem", "HTTP_TLS_KEY_FILE": "k.pem", "HTTP_ADDR": "127.0.0.1:0", "HTTP_REDIRECT_ADDR": "127.0.0.1:0"}, ""},
	} {
		_, err := LoadConfig(tc.env)
		switch {
		case tc.fails == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.fails != "" && (err == nil || !strings.Contains(err.Error(), tc.fails)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.fails)
		}
	}
}

func TestTheRedirectKeepsTheURLOnHTTPS(t *testing.T) {
	for _, tc := range []struct {
		host, port, target, want string
		status                   int
	}{
		{"api.example.com", "443", "/api/v1/projects?limit=2", "https://api.example.com/api/v1/projects?limit=2", http.StatusPermanentRedirect},
		{"api.example.com:80", "8443", "/health/live", "https://api.example.com:8443/health/live", http.StatusPermanentRedirect},
		{"[::1]:8080", "8443", "/x?a=%20b", "https://[::1]:8443/x?a=%20b", http.StatusPermanentRedirect},
		{"", "443", "/", "", http.StatusBadRequest},
		{"evil.example/x", "443", "/", "", http.StatusBadRequest},
	} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, tc.target, nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		redirectToHTTPS(func() string { return tc.port }).ServeHTTP(rec, req)
		if rec.Code != tc.status || rec.Header().Get("Location") != tc.want {
			t.Errorf("Host %q %s: %d Location %q, want %d %q", tc.host, tc.target, rec.Code, rec.Header().Get("Location"), tc.status, tc.want)
		}
	}
}

// writePair writes a self-signed certificate for serial and its key.
func writePair(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTheCertificateFollowsItsFiles: loaded once, read again when the
// files change (at a handshake, at most once per interval) or on reload,
// and a broken renewal keeps the pair in use and is reported once.
func TestTheCertificateFollowsItsFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := loadCertificate(certFile, keyFile, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "HTTP_TLS_CERT_FILE") {
		t.Fatalf("missing files: %v, want an error naming the variables", err)
	}
	writePair(t, certFile, keyFile, 1)
	core, logs := observer.New(zap.InfoLevel)
	c, err := loadCertificate(certFile, keyFile, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		got, err := c.get(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Leaf.SerialNumber.Int64()
	}
	if serial() != 1 {
		t.Fatal("not the pair on disk")
	}
	writePair(t, certFile, keyFile, 2)
	if serial() != 1 {
		t.Fatal("the files were looked at again within the interval")
	}
	c.checked.Store(time.Now().Add(-2 * certificateCheckInterval).UnixNano())
	if serial() != 2 {
		t.Fatal("changed files were not read again after the interval")
	}

	// A key that is not the certificate's: the pair in use stays.
	writePair(t, certFile, filepath.Join(dir, "other.key"), 3)
	for range 2 {
		c.checked.Store(time.Now().Add(-2 * certificateCheckInterval).UnixNano())
		if serial() != 2 {
			t.Fatal("a broken renewal replaced the pair in use")
		}
	}
	if n := logs.FilterMessageSnippet("cannot be used").Len(); n != 1 {
		t.Fatalf("the broken renewal was reported %d times, want once", n)
	}
	if err := c.reload(); err == nil {
		t.Fatal("reload of a broken pair succeeded")
	}
	writePair(t, certFile, keyFile, 4)
	if err := c.reload(); err != nil || serial() != 4 {
		t.Fatalf("reload: %v, serial %d", err, serial())
	}
}

func TestTLSConfigIsModern(t *testing.T) {
	cfg := tlsConfig(&certificate{})
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("minimum version %x", cfg.MinVersion)
	}
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		aead := strings.Contains(name, "GCM") || strings.Contains(name, "CHACHA20")
		if !strings.Contains(name, "ECDHE") || !aead {
			t.Errorf("suite %s is not forward-secret AEAD", name)
		}
	}
}
