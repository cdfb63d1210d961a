// Package auth verifies and issues the API's bearer tokens (JWT, HS256).
package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scoped-api/foundation/domain/kernel"
)

// DevelopmentSecret signs tokens when no secret is configured outside
// production. It is public, so production refuses it.
const DevelopmentSecret = "development-only-secret--never-use-in-production"

// MinSecretBytes is the shortest secret production accepts (RFC 7518 §3.2
// asks for a key at least as long as the hash output).
const MinSecretBytes = 32

// DefaultLeeway absorbs clock skew between the token issuer and this
// server when AUTH_LEEWAY is not set.
const DefaultLeeway = 5 * time.Second

// cacheSize bounds the verified-token cache. A client reuses its token for
// many requests; remembering a verified token until it expires saves the
// parse and HMAC on every request after the first.
const cacheSize = 8192

// HS256 verifies tokens signed with one shared secret, pinned to HS256.
type HS256 struct {
	secret   []byte
	issuer   string
	audience string
	leeway   time.Duration
	parser   *jwt.Parser
	now      func() time.Time

	mu       sync.RWMutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	subject kernel.Subject
	expires time.Time
}

// Settings configure an HS256 verifier.
type Settings struct {
	Secret []byte
	// Issuer and Audience are checked when non-empty.
	Issuer, Audience string
	// Leeway absorbs clock skew in exp, nbf and iat; zero means DefaultLeeway.
	Leeway time.Duration
}

// NewHS256 verifies tokens as s says.
func NewHS256(s Settings) (*HS256, error) {
	if len(s.Secret) == 0 {
		return nil, errors.New("auth: empty HS256 secret")
	}
	if s.Leeway <= 0 {
		s.Leeway = DefaultLeeway
	}
	h := &HS256{secret: s.Secret, issuer: s.Issuer, audience: s.Audience, leeway: s.Leeway, now: time.Now, verified: map[string]verifiedToken{}}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.Leeway),
		jwt.WithTimeFunc(func() time.Time { return h.now() }),
	}
	issuer, audience := s.Issuer, s.Audience
	if issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	if audience != "" {
		opts = append(opts, jwt.WithAudience(audience))
	}
	h.parser = jwt.NewParser(opts...)
	return h, nil
}

// Verify checks signature, algorithm, expiry, not-before, issued-at,
// issuer, audience, the header's crit and that the dates are numbers, and
// returns the token's subject and expiry. A token that has expired is
// kernel.ErrTokenExpired; every other failure is kernel.ErrTokenInvalid,
// whichever check failed.
func (h *HS256) Verify(token string) (kernel.Subject, time.Time, error) {
	h.mu.RLock()
	v, ok := h.verified[token]
	h.mu.RUnlock()
	if ok {
		if h.now().Before(v.expires.Add(h.leeway)) {
			return v.subject, v.expires, nil
		}
		h.mu.Lock()
		delete(h.verified, token)
		h.mu.Unlock()
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenExpired
	}
	sub, exp, err := h.verify(token)
	if err == nil {
		h.mu.Lock()
		if len(h.verified) >= cacheSize {
			clear(h.verified) // crude but bounded; a full cache refills from live traffic
		}
		h.verified[token] = verifiedToken{subject: sub, expires: exp}
		h.mu.Unlock()
	}
	return sub, exp, err
}

func (h *HS256) verify(token string) (kernel.Subject, time.Time, error) {
	var claims jwt.RegisteredClaims
	_, err := h.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		// RFC 7515 §4.1.11: a crit header names extensions the recipient
		// must understand; this one understands none.
		if _, ok := t.Header["crit"]; ok {
			return nil, errCrit
		}
		return h.secret, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired) && onlyExpired(err):
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenExpired
	case err != nil || claims.ExpiresAt == nil || !numericDates(token):
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	}
	sub, err := kernel.ParseSubject(claims.Subject)
	if err != nil {
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	}
	return sub, claims.ExpiresAt.UTC(), nil
}

var errCrit = errors.New("unsupported crit header")

// onlyExpired reports that expiry is the token's one fault: a token that
// is also forged or malformed is invalid, not expired. (The parser wraps
// every claim failure in ErrTokenInvalidClaims, expiry included.)
func onlyExpired(err error) bool {
	for _, other := range []error{jwt.ErrTokenMalformed, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenUnverifiable,
		jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidAudience,
		jwt.ErrTokenRequiredClaimMissing} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

// numericDates reports whether exp, nbf and iat, where present, are JSON
// numbers (RFC 7519 §2 NumericDate): the parser also reads "123" as a date.
func numericDates(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return false
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return false
		}
	}
	return true
}

// Issue signs a token for sub valid for ttl, with the configured issuer and audience.
func (h *HS256) Issue(sub kernel.Subject, ttl time.Duration) (string, error) {
	if sub.IsZero() || ttl <= 0 {
		return "", errors.New("auth: a token needs a subject and a positive lifetime")
	}
	now := h.now()
	claims := jwt.RegisteredClaims{
		Subject:   sub.String(),
		Issuer:    h.issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if h.audience != "" {
		claims.Audience = jwt.ClaimStrings{h.audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(h.secret)
}
