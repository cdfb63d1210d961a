package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scoped-api/foundation/domain/kernel"
)

const secret = "0123456789abcdef0123456789abcdef"

func TestIssueThenVerify(t *testing.T) {
	h, err := NewHS256(Settings{Secret: []byte(secret), Issuer: "iss", Audience: "aud"})
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
	if _, err := NewHS256(Settings{}); err == nil {
		t.Fatal("accepted an empty secret")
	}
}

func TestVerifyRefusesEveryBrokenToken(t *testing.T) {
	h, _ := NewHS256(Settings{Secret: []byte(secret)})
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
		"expired beyond leeway": sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(-DefaultLeeway - time.Second).Unix()}),
		"no exp":                sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice"}),
		"no sub":                sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}),
		"blank sub":             sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": " ", "exp": now.Add(time.Hour).Unix()}),
		"HS384":                 sign(jwt.SigningMethodHS384, []byte(secret), valid),
		"alg none":              sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"other secret":          sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid),
		"not yet valid":         sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(2 * time.Hour).Unix(), "nbf": now.Add(time.Hour).Unix()}),
		"garbage":               "a.b.c",
		"exp as a string":       sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": fmt.Sprint(now.Add(time.Hour).Unix())}),
		"iat as a string":       sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "iat": "1"}),
		"iat in the future":     sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(20 * 365 * 24 * time.Hour).Unix(), "iat": now.Add(10 * 365 * 24 * time.Hour).Unix()}),
		"NUL in sub":            sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "ali\x00ce", "exp": now.Add(time.Hour).Unix()}),
		"unknown crit":          critToken(t, valid),
	}
	for name, tok := range cases {
		_, _, err := h.Verify(tok)
		want := kernel.ErrTokenInvalid
		if name == "expired beyond leeway" {
			want = kernel.ErrTokenExpired
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	// An iat within the leeway is clock skew, not a forgery.
	skewed := sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "iat": now.Add(2 * time.Second).Unix()})
	if _, _, err := h.Verify(skewed); err != nil {
		t.Errorf("an iat 2 s ahead: %v", err)
	}
	if _, _, err := h.Verify(sign(jwt.SigningMethodHS256, []byte(secret), valid)); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
}

func TestIssuerAndAudience(t *testing.T) {
	h, _ := NewHS256(Settings{Secret: []byte(secret), Issuer: "https://iss", Audience: "api"})
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
	h, _ := NewHS256(Settings{Secret: []byte(secret)})
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
	now = now.Add(time.Minute + DefaultLeeway + time.Second)
	if _, _, err := h.Verify(tok); !errors.Is(err, kernel.ErrTokenExpired) {
		t.Fatalf("an expired token from the cache: %v", err)
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
	h, _ := NewHS256(Settings{Secret: []byte(secret)})
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

// critToken signs claims with a header naming a critical extension.
func critToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["crit"] = []string{"exp-of-another-kind"}
	tok.Header["exp-of-another-kind"] = true
	s, err := tok.SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzVerify signs arbitrary headers and claims with the right secret, so
// the fuzzer explores the parser behind the signature check. Whatever it
// makes, Verify never panics, fails only with a token class the API maps
// to 401, and accepts only a clean subject and a future expiry.
func FuzzVerify(f *testing.F) {
	exp := time.Now().Add(time.Hour).Unix()
	for _, c := range [][2]string{
		{`{"alg":"HS256","typ":"JWT"}`, fmt.Sprintf(`{"sub":"alice","exp":%d}`, exp)},
		{`{"alg":"HS256"}`, fmt.Sprintf(`{"sub":"ali\u0000ce","exp":%d}`, exp)},
		{`{"alg":"HS256"}`, fmt.Sprintf(`{"sub":"\ud800","exp":%d}`, exp)},
		{`{"alg":"HS256"}`, fmt.Sprintf(`{"sub":"alice","exp":"%d"}`, exp)},
		{`{"alg":"HS256"}`, fmt.Sprintf(`{"sub":"alice","exp":%d,"iat":4102444800}`, exp)},
		{`{"alg":"HS256","crit":["x"],"x":1}`, fmt.Sprintf(`{"sub":"alice","exp":%d}`, exp)},
		{`{"alg":"none"}`, fmt.Sprintf(`{"sub":"alice","exp":%d}`, exp)},
		{`{"alg":"HS256"}`, fmt.Sprintf(`{"sub":"alice","exp":%d.5,"nbf":1e400}`, exp)},
		{`{"alg":"HS256"}`, `{"sub":["a"],"exp":null}`},
	} {
		f.Add(c[0], c[1])
	}
	h, _ := NewHS256(Settings{Secret: []byte(secret)})
	f.Fuzz(func(t *testing.T, header, claims string) {
		enc := base64.RawURLEncoding
		signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(signing))
		sub, expiry, err := h.Verify(signing + "." + enc.EncodeToString(mac.Sum(nil)))
		if err != nil {
			if !errors.Is(err, kernel.ErrTokenInvalid) && !errors.Is(err, kernel.ErrTokenExpired) {
				t.Fatalf("%s.%s: %v is not a token class", header, claims, err)
			}
			return
		}
		if _, err := kernel.ParseSubject(sub.String()); err != nil || time.Until(expiry) < -DefaultLeeway {
			t.Fatalf("%s.%s accepted: sub %q (%v), exp %v", header, claims, sub, err, expiry)
		}
	})
}
