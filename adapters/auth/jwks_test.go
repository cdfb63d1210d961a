package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/scoped-api/foundation/domain/kernel"
)

// provider serves a JWK Set that a test can change, as a provider
// rotating its keys does, and counts how often it is read.
type provider struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []signer
	fetches atomic.Int64
	down    atomic.Bool
	// latency delays each answer, as a provider across a network does.
	latency atomic.Int64
}

type signer struct {
	kid    string
	method jwt.SigningMethod
	key    any // private
}

func newSigner(t *testing.T, kid string, method jwt.SigningMethod) signer {
	t.Helper()
	var key any
	var err error
	switch method {
	case jwt.SigningMethodES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwt.SigningMethodEdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: method, key: key}
}

func (s signer) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	tok.Header["kid"] = s.kid
	out, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newProvider(t *testing.T, keys ...signer) *provider {
	t.Helper()
	p := &provider{keys: keys}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.fetches.Add(1)
		time.Sleep(time.Duration(p.latency.Load()))
		set := jwkset.NewMemoryStorage()
		p.mu.Lock()
		for _, k := range p.keys {
			jwk, err := jwkset.NewJWKFromKey(k.key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig}})
			if err != nil {
				p.mu.Unlock()
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_ = set.KeyWrite(r.Context(), jwk)
		}
		p.mu.Unlock()
		raw, err := set.JSONPublic(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) publish(keys ...signer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

func newTestJWKS(t *testing.T, p *provider) *JWKS {
	t.Helper()
	j, err := NewJWKS(context.Background(), JWKSSettings{URL: p.URL, Issuer: "https://idp.test/", Audience: "api", Timeout: time.Second, UnknownKIDEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	return j
}

func claimsFor(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "iss": "https://idp.test/", "aud": "api", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
}

func TestEachAlgorithmVerifiesAgainstItsPublishedKey(t *testing.T) {
	keys := []signer{newSigner(t, "r", jwt.SigningMethodRS256), newSigner(t, "e", jwt.SigningMethodES256), newSigner(t, "d", jwt.SigningMethodEdDSA)}
	j := newTestJWKS(t, newProvider(t, keys...))
	for _, k := range keys {
		sub, _, err := j.Verify(k.sign(t, claimsFor("user-"+k.kid)))
		if err != nil || sub.String() != "user-"+k.kid {
			t.Errorf("%s: %v %v", k.method.Alg(), sub, err)
		}
	}
}

// TestRotation: the provider publishes a new key next to the old one; a
// token under the new kid makes the verifier fetch the set once, and
// tokens under the old key keep verifying.
func TestRotation(t *testing.T) {
	a, b := newSigner(t, "a", jwt.SigningMethodRS256), newSigner(t, "b", jwt.SigningMethodES256)
	p := newProvider(t, a)
	j := newTestJWKS(t, p)
	old := a.sign(t, claimsFor("alice"))
	if _, _, err := j.Verify(old); err != nil {
		t.Fatal(err)
	}
	p.publish(b, a)
	if _, _, err := j.Verify(b.sign(t, claimsFor("bob"))); err != nil {
		t.Fatalf("a token under the rotated-in key: %v", err)
	}
	if _, _, err := j.Verify(a.sign(t, claimsFor("carol"))); err != nil {
		t.Fatalf("a token under the old key after the rotation: %v", err)
	}
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("the key set was read %d times, want 2 (start, then the unknown kid)", n)
	}
}

// TestRotationAtAProviderAcrossANetwork: the fetch an unknown kid causes
// gets the whole AUTH_JWKS_TIMEOUT, not the moment a spent rate limit is
// given (it once had 1 ms, so that only a loopback provider's rotation
// was ever picked up before the hourly refresh).
func TestRotationAtAProviderAcrossANetwork(t *testing.T) {
	a, b := newSigner(t, "a", jwt.SigningMethodRS256), newSigner(t, "b", jwt.SigningMethodES256)
	p := newProvider(t, a)
	j := newTestJWKS(t, p)
	p.latency.Store(int64(50 * time.Millisecond))
	p.publish(b, a)
	if _, _, err := j.Verify(b.sign(t, claimsFor("bob"))); err != nil {
		t.Fatalf("a token under the rotated-in key, from a provider 50 ms away: %v", err)
	}
	// The limiter is spent now: another unknown kid is refused without a
	// fetch, and known keys still verify.
	forger := newSigner(t, "forged", jwt.SigningMethodRS256)
	if _, _, err := j.Verify(forger.sign(t, claimsFor("mallory"))); !errors.Is(err, kernel.ErrTokenInvalid) {
		t.Fatalf("an unknown kid while the limiter is spent: %v", err)
	}
	if _, _, err := j.Verify(a.sign(t, claimsFor("carol"))); err != nil {
		t.Fatalf("a known key while the limiter is spent: %v", err)
	}
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("the key set was read %d times, want 2 (start, then the first unknown kid)", n)
	}
}

// TestForgedKIDsCannotHammerTheProvider: a burst of tokens naming kids
// the set does not hold is refused, at the cost of one fetch per
// UnknownKIDEvery, not one per token.
func TestForgedKIDsCannotHammerTheProvider(t *testing.T) {
	p := newProvider(t, newSigner(t, "a", jwt.SigningMethodRS256))
	j := newTestJWKS(t, p)
	forger := newSigner(t, "", jwt.SigningMethodRS256)
	for i := range 200 {
		forger.kid = fmt.Sprintf("forged-%d", i)
		if _, _, err := j.Verify(forger.sign(t, claimsFor("mallory"))); !errors.Is(err, kernel.ErrTokenInvalid) {
			t.Fatalf("forged kid %d: %v", i, err)
		}
	}
	if n := p.fetches.Load(); n > 2 {
		t.Fatalf("200 forged kids caused %d fetches of the key set, want at most 2", n)
	}
}

// TestAlgorithmsArePinnedPerKey: a token cannot make a key verify under
// another algorithm than its own, nor under one outside the allowed set.
func TestAlgorithmsArePinnedPerKey(t *testing.T) {
	r := newSigner(t, "r", jwt.SigningMethodRS256)
	e := newSigner(t, "e", jwt.SigningMethodES256)
	j := newTestJWKS(t, newProvider(t, r, e))
	rsaKey := r.key.(*rsa.PrivateKey)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	cases := map[string]string{
		"ES256 under the RSA key's kid": signer{kid: "r", method: jwt.SigningMethodES256, key: e.key}.sign(t, claimsFor("x")),
		"RS256 under the EC key's kid":  signer{kid: "e", method: jwt.SigningMethodRS256, key: r.key}.sign(t, claimsFor("x")),
		"PS256 with the RSA key":        signer{kid: "r", method: jwt.SigningMethodPS256, key: r.key}.sign(t, claimsFor("x")),
		"RS512 with the RSA key":        signer{kid: "r", method: jwt.SigningMethodRS512, key: r.key}.sign(t, claimsFor("x")),
		"HS256 keyed by the public key": signer{kid: "r", method: jwt.SigningMethodHS256, key: der}.sign(t, claimsFor("x")),
		"no issuer":                     r.sign(t, jwt.MapClaims{"sub": "x", "aud": "api", "exp": time.Now().Add(time.Hour).Unix()}),
		"another audience":              r.sign(t, jwt.MapClaims{"sub": "x", "iss": "https://idp.test/", "aud": "other", "exp": time.Now().Add(time.Hour).Unix()}),
		"none":                          strings.Join(strings.Split(r.sign(t, claimsFor("x")), ".")[:2], ".") + ".",
		"a reserved key: subject":       r.sign(t, claimsFor("key:0123")),
		"exp as a string":               r.sign(t, jwt.MapClaims{"sub": "x", "iss": "https://idp.test/", "aud": "api", "exp": fmt.Sprint(time.Now().Add(time.Hour).Unix())}),
	}
	for name, tok := range cases {
		if _, _, err := j.Verify(tok); !errors.Is(err, kernel.ErrTokenInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := (Verifiers{JWKS: j}).Verify(cases["HS256 keyed by the public key"]); !errors.Is(err, kernel.ErrTokenInvalid) {
		t.Errorf("HS256 through Verifiers without a secret: %v", err)
	}
}

func TestTheSubjectClaimIsConfigurable(t *testing.T) {
	r := newSigner(t, "r", jwt.SigningMethodRS256)
	p := newProvider(t, r)
	j, err := NewJWKS(context.Background(), JWKSSettings{URL: p.URL, Issuer: "https://idp.test/", Audience: "api", SubjectClaim: "oid"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c := claimsFor("ignored")
	c["oid"] = "0f1e-object-id"
	if sub, _, err := j.Verify(r.sign(t, c)); err != nil || sub.String() != "0f1e-object-id" {
		t.Fatalf("subject from oid: %v %v", sub, err)
	}
	if _, _, err := j.Verify(r.sign(t, claimsFor("no-oid"))); !errors.Is(err, kernel.ErrTokenInvalid) {
		t.Fatalf("a token without the subject claim: %v", err)
	}
}

// TestAProviderDownLaterIsAReadinessEntry: cached keys keep verifying
// while the readiness probe reports the provider down, and up again once
// it is back.
func TestAProviderDownLaterIsAReadinessEntry(t *testing.T) {
	r := newSigner(t, "r", jwt.SigningMethodRS256)
	p := newProvider(t, r)
	j := newTestJWKS(t, p)
	j.probeEvery = 0
	if err := j.Check(context.Background()); err != nil {
		t.Fatalf("readiness with the provider up: %v", err)
	}
	p.down.Store(true)
	if err := j.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("readiness with the provider down: %v", err)
	}
	if _, _, err := j.Verify(r.sign(t, claimsFor("alice"))); err != nil {
		t.Fatalf("a token under a cached key while the provider is down: %v", err)
	}
	p.down.Store(false)
	if err := j.Check(context.Background()); err != nil {
		t.Fatalf("readiness with the provider back: %v", err)
	}
}

// TestAProviderDownOrHangingAtStartIsAnErrorWithinTheTimeout.
func TestAProviderDownOrHangingAtStartIsAnErrorWithinTheTimeout(t *testing.T) {
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	defer hanging.Close()
	defer close(hang)
	p := newProvider(t)
	p.down.Store(true)
	for name, s := range map[string]JWKSSettings{
		"answers 503":            {URL: p.URL},
		"hangs":                  {URL: hanging.URL},
		"refuses connections":    {URL: "http://127.0.0.1:9/jwks"},
		"discovery hangs":        {OIDCIssuer: hanging.URL + "/"},
		"discovery is not found": {OIDCIssuer: p.URL + "/"},
	} {
		s.Issuer, s.Audience, s.Timeout = "https://idp.test/", "api", 300*time.Millisecond
		start := time.Now()
		if _, err := NewJWKS(context.Background(), s); err == nil {
			t.Errorf("%s: started", name)
		}
		if waited := time.Since(start); waited > 5*time.Second {
			t.Errorf("%s: the error took %v", name, waited)
		}
	}
	if _, err := NewJWKS(context.Background(), JWKSSettings{URL: p.URL}); err == nil {
		t.Error("started without an issuer and audience to check")
	}
}

func TestDiscoveryMustNameTheSameIssuer(t *testing.T) {
	r := newSigner(t, "r", jwt.SigningMethodRS256)
	keys := newProvider(t, r)
	var issuer string
	disco := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": keys.URL})
	}))
	defer disco.Close()
	issuer = "https://someone-else.test/"
	if _, err := NewJWKS(context.Background(), JWKSSettings{OIDCIssuer: disco.URL + "/", Issuer: disco.URL + "/", Audience: "api"}); err == nil || !strings.Contains(err.Error(), "someone-else") {
		t.Fatalf("a configuration naming another issuer: %v", err)
	}
	issuer = disco.URL + "/"
	j, err := NewJWKS(context.Background(), JWKSSettings{OIDCIssuer: issuer, Issuer: "https://idp.test/", Audience: "api"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, _, err := j.Verify(r.sign(t, claimsFor("alice"))); err != nil {
		t.Fatalf("a token under a discovered key: %v", err)
	}
}
