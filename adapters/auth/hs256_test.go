package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scoped-api/foundation/domain/kernel"
)

const secret = "0123456789abcdef0123456789abcdef"

func TestIssueThenVerify(t *testing.T) {
	h, err := NewHS256([]byte(secret), "iss", "aud")
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := kernel.ParseSubject("alice")
	tok, err := h.Issue(alice, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sub, exp, err := h.Verify(tok)
	if err != nil || sub != alice || time.Until(exp) < 59*time.Minute {
		t.Fatalf("verify: %v %v %v", sub, exp, err)
	}
	if _, err := h.Issue(kernel.Subject{}, time.Hour); err == nil {
		t.Fatal("issued a token without a subject")
	}
	if _, err := h.Issue(alice, 0); err == nil {
		t.Fatal("issued a token without a lifetime")
	}
	if _, err := NewHS256(nil, "", ""); err == nil {
		t.Fatal("accepted an empty secret")
	}
}

func TestVerifyRefusesEveryBrokenToken(t *testing.T) {
	h, _ := NewHS256([]byte(secret), "", "")
	now := time.Now()
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}
	cases := map[string]string{
		"expired beyond leeway": sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(-Leeway - time.Second).Unix()}),
		"no exp":                sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice"}),
		"no sub":                sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}),
		"blank sub":             sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": " ", "exp": now.Add(time.Hour).Unix()}),
		"HS384":                 sign(jwt.SigningMethodHS384, []byte(secret), valid),
		"alg none":              sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"other secret":          sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid),
		"not yet valid":         sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(2 * time.Hour).Unix(), "nbf": now.Add(time.Hour).Unix()}),
		"garbage":               "a.b.c",
	}
	for name, tok := range cases {
		if _, _, err := h.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := h.Verify(sign(jwt.SigningMethodHS256, []byte(secret), valid)); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
}

func TestIssuerAndAudience(t *testing.T) {
	h, _ := NewHS256([]byte(secret), "https://iss", "api")
	claims := func(iss, aud string) jwt.MapClaims {
		return jwt.MapClaims{"sub": "a", "exp": time.Now().Add(time.Hour).Unix(), "iss": iss, "aud": aud}
	}
	for name, c := range map[string]jwt.MapClaims{"wrong iss": claims("https://x", "api"), "wrong aud": claims("https://iss", "x")} {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if _, _, err := h.Verify(tok); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("https://iss", "api")).SignedString([]byte(secret))
	if _, _, err := h.Verify(tok); err != nil {
		t.Fatal(err)
	}
}

func TestVerifiedTokensAreRememberedOnlyUntilTheyExpire(t *testing.T) {
	h, _ := NewHS256([]byte(secret), "", "")
	now := time.Now()
	h.now = func() time.Time { return now }
	alice, _ := kernel.ParseSubject("alice")
	tok, _ := h.Issue(alice, time.Minute)
	for range 2 { // the second call is answered from the cache
		if sub, _, err := h.Verify(tok); err != nil || sub != alice {
			t.Fatalf("verify: %v %v", sub, err)
		}
	}
	if len(h.verified) != 1 {
		t.Fatalf("cache holds %d tokens", len(h.verified))
	}
	now = now.Add(time.Minute + Leeway + time.Second)
	if _, _, err := h.Verify(tok); err == nil {
		t.Fatal("an expired token was accepted from the cache")
	}
	if len(h.verified) != 0 {
		t.Fatal("the expired token stayed cached")
	}
	// A failed verification is never cached.
	if _, _, err := h.Verify(tok + "x"); err == nil || len(h.verified) != 0 {
		t.Fatalf("bad token: %v, cache %d", err, len(h.verified))
	}
}

func TestTheCacheIsBounded(t *testing.T) {
	h, _ := NewHS256([]byte(secret), "", "")
	for i := range cacheSize + 10 {
		sub, _ := kernel.ParseSubject(fmt.Sprintf("user-%d", i))
		tok, _ := h.Issue(sub, time.Hour)
		if _, _, err := h.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.verified) > cacheSize {
		t.Fatalf("cache grew to %d", len(h.verified))
	}
}
