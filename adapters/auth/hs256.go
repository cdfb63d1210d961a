// Package auth verifies and issues the API's bearer tokens (JWT, HS256).
package auth

import (
	"errors"
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
	*verifier
	secret   []byte
	issuer   string
	audience string
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
	h := &HS256{secret: s.Secret, issuer: s.Issuer, audience: s.Audience}
	h.verifier = newVerifier(verifierSettings{
		methods: []string{jwt.SigningMethodHS256.Alg()}, issuer: s.Issuer, audience: s.Audience, leeway: s.Leeway,
		key: func(*jwt.Token) (any, error) { return h.secret, nil },
	})
	return h, nil
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
