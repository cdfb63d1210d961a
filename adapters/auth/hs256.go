// Package auth verifies and issues the API's bearer tokens (JWT, HS256).
package auth

import (
	"errors"
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

// Leeway absorbs clock skew between the token issuer and this server.
const Leeway = 5 * time.Second

// cacheSize bounds the verified-token cache. A client reuses its token for
// many requests; remembering a verified token until it expires saves the
// parse and HMAC on every request after the first.
const cacheSize = 8192

// HS256 verifies tokens signed with one shared secret, pinned to HS256.
type HS256 struct {
	secret   []byte
	issuer   string
	audience string
	parser   *jwt.Parser
	now      func() time.Time

	mu       sync.RWMutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	subject kernel.Subject
	expires time.Time
}

// NewHS256 verifies tokens with secret; issuer and audience are checked
// when non-empty.
func NewHS256(secret []byte, issuer, audience string) (*HS256, error) {
	if len(secret) == 0 {
		return nil, errors.New("auth: empty HS256 secret")
	}
	h := &HS256{secret: secret, issuer: issuer, audience: audience, now: time.Now, verified: map[string]verifiedToken{}}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return h.now() }),
	}
	if issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	if audience != "" {
		opts = append(opts, jwt.WithAudience(audience))
	}
	h.parser = jwt.NewParser(opts...)
	return h, nil
}

var errInvalid = errors.New("invalid token")

// Verify checks signature, algorithm, expiry, issuer and audience and
// returns the token's subject and expiry. Every failure returns the same error.
func (h *HS256) Verify(token string) (kernel.Subject, time.Time, error) {
	h.mu.RLock()
	v, ok := h.verified[token]
	h.mu.RUnlock()
	if ok {
		if h.now().Before(v.expires.Add(Leeway)) {
			return v.subject, v.expires, nil
		}
		h.mu.Lock()
		delete(h.verified, token)
		h.mu.Unlock()
		return kernel.Subject{}, time.Time{}, errInvalid
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
	_, err := h.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return h.secret, nil })
	if err != nil || claims.ExpiresAt == nil {
		return kernel.Subject{}, time.Time{}, errInvalid
	}
	sub, err := kernel.ParseSubject(claims.Subject)
	if err != nil {
		return kernel.Subject{}, time.Time{}, errInvalid
	}
	return sub, claims.ExpiresAt.UTC(), nil
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
