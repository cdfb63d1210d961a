package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var oidcBuild struct {
	sync.Once
	bin string
	err error
}

// OIDCProvider is the example OpenID Connect provider of
// github.com/zitadel/oidc (test/oidcprovider, with signing keys that
// rotate), started on a free loopback port.
type OIDCProvider struct {
	Issuer string
	pid    int
}

// StartOIDCProvider builds the provider (once per test binary; Go's build
// cache makes later runs quick), starts it, waits for its discovery
// document and stops it by PID when the test ends.
func StartOIDCProvider(t testing.TB) *OIDCProvider {
	t.Helper()
	bin := buildOIDCProvider(t)
	port := freePort(t, false)
	cmd := exec.Command(bin) //nolint:gosec,noctx // the provider this helper built; it outlives any context here and is killed by PID
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "REDIRECT_URI="+OIDCRedirectURI)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logFile, err := os.Create(filepath.Join(t.TempDir(), "oidc.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the OpenID Connect provider: %v", err)
	}
	p := &OIDCProvider{Issuer: fmt.Sprintf("http://localhost:%d/", port), pid: cmd.Process.Pid}
	t.Cleanup(func() {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
		_ = logFile.Close()
	})
	if !Eventually(20*time.Second, func() bool {
		res, err := http.Get(p.Issuer + ".well-known/openid-configuration") //nolint:noctx // a local readiness poll
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}) {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("the OpenID Connect provider did not come up:\n%s", log)
	}
	return p
}

func buildOIDCProvider(t testing.TB) string {
	t.Helper()
	oidcBuild.Do(func() {
		root := ModuleRoot(t)
		oidcBuild.bin = filepath.Join(root, ".tools", "oidcprovider", "server")
		cmd := exec.Command("go", "build", "-o", oidcBuild.bin, ".") //nolint:gosec,noctx // a path under this module
		cmd.Dir = filepath.Join(root, "test", "oidcprovider")        // its own module
		if out, err := cmd.CombinedOutput(); err != nil {
			oidcBuild.err = fmt.Errorf("build the OpenID Connect provider: %w\n%s", err, out)
		}
	})
	if oidcBuild.err != nil {
		t.Fatal(oidcBuild.err)
	}
	return oidcBuild.bin
}

// Rotate makes the provider sign with a new key (ES256 after RS256, and
// back), keeping the old ones in its key set, and waits until the set
// publishes it.
func (p *OIDCProvider) Rotate(t testing.TB) {
	t.Helper()
	before := len(p.KeyIDs(t))
	if err := syscall.Kill(p.pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !Eventually(10*time.Second, func() bool { return len(p.KeyIDs(t)) > before }) {
		t.Fatal("the provider did not publish a new key")
	}
}

// KeyIDs lists the kids the provider publishes, newest first.
func (p *OIDCProvider) KeyIDs(t testing.TB) []string {
	t.Helper()
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	getJSON(t, p.Issuer+".well-known/openid-configuration", &doc)
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	getJSON(t, doc.JWKS, &set)
	ids := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		ids = append(ids, k.KID)
	}
	return ids
}

// OIDCRedirectURI is where the provider sends its authorization codes;
// nothing listens there, the test reads the redirect.
const OIDCRedirectURI = "http://127.0.0.1:9/callback" //nolint:gosec // a URL, not a credential

// OIDCClientID is the provider's confidential web client, whose id is the
// audience of the ID tokens it issues.
const OIDCClientID = "web"

// IDToken signs the provider's test user in through the authorization code
// flow, as a browser would, and returns the ID token it issues (signed
// with its newest key,
// audience OIDCClientID, subject the user's id).
func (p *OIDCProvider) IDToken(t testing.TB) string {
	t.Helper()
	var doc struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
	}
	getJSON(t, p.Issuer+".well-known/openid-configuration", &doc)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	q := url.Values{"client_id": {OIDCClientID}, "redirect_uri": {OIDCRedirectURI}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "nonce": {"n"}}
	loc := follow(t, client, http.MethodGet, doc.Authorization+"?"+q.Encode(), nil, p.Issuer)
	login, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	id := login.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("the provider did not ask for a login: %s", loc)
	}
	form := url.Values{"username": {"test-user@localhost"}, "password": {"verysecure"}, "id": {id}}
	loc = follow(t, client, http.MethodPost, p.Issuer+"login/username", form, p.Issuer)
	for range 5 {
		if strings.HasPrefix(loc, OIDCRedirectURI) {
			break
		}
		loc = follow(t, client, http.MethodGet, loc, nil, p.Issuer)
	}
	back, err := url.Parse(loc)
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("no authorization code in %q", loc)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, doc.Token, strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {OIDCRedirectURI},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(OIDCClientID, "secret")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.IDToken == "" {
		t.Fatalf("token endpoint: %d %s", res.StatusCode, body)
	}
	return tok.IDToken
}

// follow sends one request and returns the redirect it answers with,
// made absolute against base.
func follow(t testing.TB, client *http.Client, method, target string, form url.Values, base string) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	_, _ = io.Copy(io.Discard, res.Body)
	loc := res.Header.Get("Location")
	if res.StatusCode/100 != 3 || loc == "" {
		t.Fatalf("%s %s: %d without a redirect", method, target, res.StatusCode)
	}
	if strings.HasPrefix(loc, "/") {
		loc = strings.TrimSuffix(base, "/") + loc
	}
	return loc
}

func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	res, err := http.Get(u) //nolint:noctx,gosec // a test's one-off read of the provider it started
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}
