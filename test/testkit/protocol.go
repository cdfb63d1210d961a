package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Protocol is how the apps a test starts serve, and how testkit's clients
// (Do, OpenSSE) speak to them.
type Protocol string

const (
	// HTTP1 is plain HTTP/1.1, the default.
	HTTP1 Protocol = "http/1.1"
	// HTTPS2 is HTTPS under a certificate made for the test run, with
	// HTTP/2 negotiated by ALPN; clients speak nothing else.
	HTTPS2 Protocol = "h2"
	// H2C is cleartext HTTP/2 with prior knowledge (HTTP_H2C).
	H2C Protocol = "h2c"
	// HTTPS1 is the HTTPS listener spoken to over HTTP/1.1 only, as a
	// client without HTTP/2 would: streams take their TLS connection over.
	HTTPS1 Protocol = "https/1.1"
)

var (
	protocol = HTTP1
	clientMu sync.Mutex
	clients  = map[string]registered{} // an app's base URL → the client that speaks its protocol
)

// UseProtocol makes the apps the test starts from now on serve p, until
// the test ends. Tests in this module do not run in parallel.
func UseProtocol(t testing.TB, p Protocol) {
	t.Helper()
	old := protocol
	protocol = p
	t.Cleanup(func() { protocol = old })
}

// CurrentProtocol is what apps started now serve.
func CurrentProtocol() Protocol { return protocol }

type registered struct {
	client   *http.Client
	protocol Protocol
}

// protocolEnv adds what the current protocol needs to an app's environment.
func protocolEnv(t testing.TB, env map[string]string) {
	t.Helper()
	switch protocol {
	case HTTPS2, HTTPS1:
		if env["HTTP_TLS_CERT_FILE"] == "" {
			c := TestCertificate(t)
			env["HTTP_TLS_CERT_FILE"], env["HTTP_TLS_KEY_FILE"] = c.CertFile, c.KeyFile
		}
	case H2C:
		env["HTTP_H2C"] = "true"
	}
}

// register remembers which client speaks to the app at baseURL.
func register(t testing.TB, baseURL string, p Protocol) {
	client := ClientOf(p)
	if client == nil {
		return
	}
	clientMu.Lock()
	clients[baseURL] = registered{client, p}
	clientMu.Unlock()
	t.Cleanup(func() {
		clientMu.Lock()
		delete(clients, baseURL)
		clientMu.Unlock()
		client.CloseIdleConnections()
	})
}

// ClientFor is the client that speaks to the app a test started at url
// (http.DefaultClient for plain HTTP/1.1 apps and other URLs).
func ClientFor(url string) *http.Client {
	c, _ := clientFor(url)
	return c
}

// clientFor is the client for a URL of an app a test started, and the
// protocol its responses must come over (HTTP1 for any other URL).
func clientFor(url string) (*http.Client, Protocol) {
	clientMu.Lock()
	defer clientMu.Unlock()
	for base, r := range clients {
		if url == base || strings.HasPrefix(url, base+"/") {
			return r.client, r.protocol
		}
	}
	return http.DefaultClient, HTTP1
}

// ClientOf is a client that speaks only p (nil for HTTP1: the default
// client), trusting the test run's certificate authority for HTTPS.
func ClientOf(p Protocol) *http.Client {
	switch p {
	case HTTPS2:
		pr := new(http.Protocols)
		pr.SetHTTP2(true)
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testCA.pool(), MinVersion: tls.VersionTLS12}, Protocols: pr}}
	case H2C:
		pr := new(http.Protocols)
		pr.SetUnencryptedHTTP2(true)
		return &http.Client{Transport: &http.Transport{Protocols: pr}}
	case HTTPS1:
		pr := new(http.Protocols)
		pr.SetHTTP1(true)
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testCA.pool(), MinVersion: tls.VersionTLS12}, Protocols: pr}}
	}
	return nil
}

// checkProtocol fails the test when a response did not come over the
// protocol p says: negotiated, not assumed.
func checkProtocol(t TB, res *http.Response, p Protocol) {
	t.Helper()
	major, tlsToo := map[Protocol]int{HTTPS2: 2, H2C: 2, HTTPS1: 1}[p], p == HTTPS2 || p == HTTPS1
	if major != 0 && (res.ProtoMajor != major || tlsToo != (res.TLS != nil)) {
		t.Fatalf("%s %s came over %s (TLS %v), want %s", res.Request.Method, res.Request.URL, res.Proto, res.TLS != nil, p)
	}
}

// Certificate is a server certificate for localhost, 127.0.0.1 and ::1,
// signed by the test run's certificate authority, as PEM files.
type Certificate struct {
	CertFile, KeyFile string
	// CAFile is the authority's certificate, for clients outside Go.
	CAFile string
}

type authority struct {
	once sync.Once
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	err  error
}

var testCA authority

func (a *authority) init() error {
	a.once.Do(func() {
		a.dir, a.err = os.MkdirTemp("", "testkit-ca-")
		if a.err != nil {
			return
		}
		a.key, a.err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if a.err != nil {
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "testkit certificate authority (tests only)"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(100 * 24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &a.key.PublicKey, a.key)
		if err != nil {
			a.err = err
			return
		}
		a.cert, a.err = x509.ParseCertificate(der)
		if a.err == nil {
			a.err = writePEM(filepath.Join(a.dir, "ca.pem"), "CERTIFICATE", der)
		}
	})
	return a.err
}

func (a *authority) pool() *x509.CertPool {
	if err := a.init(); err != nil {
		panic("testkit: certificate authority: " + err.Error())
	}
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// TestCertificate writes a fresh server certificate and key into a
// directory of the test's own; each call makes a new pair (a reload test
// swaps one for another).
func TestCertificate(t testing.TB) Certificate {
	t.Helper()
	if err := testCA.init(); err != nil {
		t.Fatalf("certificate authority: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, testCA.cert, &key.PublicKey, testCA.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := Certificate{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), CAFile: filepath.Join(testCA.dir, "ca.pem")}
	if err := writePEM(c.CertFile, "CERTIFICATE", der); err != nil {
		t.Fatal(err)
	}
	if err := writePEM(c.KeyFile, "PRIVATE KEY", keyDER); err != nil {
		t.Fatal(err)
	}
	return c
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
