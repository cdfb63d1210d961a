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

// verifier is what HS256 and JWKS share: the strict parse, the subject
// claim and the verified-token cache.
type verifier struct {
	parser       *jwt.Parser
	key          jwt.Keyfunc
	subjectClaim string
	leeway       time.Duration
	now          func() time.Time

	mu       sync.RWMutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	subject kernel.Subject
	expires time.Time
}

type verifierSettings struct {
	methods          []string
	issuer, audience string
	subjectClaim     string
	leeway           time.Duration
	key              jwt.Keyfunc
}

func newVerifier(s verifierSettings) *verifier {
	if s.leeway <= 0 {
		s.leeway = DefaultLeeway
	}
	if s.subjectClaim == "" {
		s.subjectClaim = "sub"
	}
	v := &verifier{key: s.key, subjectClaim: s.subjectClaim, leeway: s.leeway, now: time.Now, verified: map[string]verifiedToken{}}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(s.methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.leeway),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	}
	if s.issuer != "" {
		opts = append(opts, jwt.WithIssuer(s.issuer))
	}
	if s.audience != "" {
		opts = append(opts, jwt.WithAudience(s.audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v
}

// Verify checks signature, algorithm, expiry, not-before, issued-at,
// issuer, audience, the header's crit and that the dates are numbers, and
// returns the token's subject and expiry. A token that has expired is
// kernel.ErrTokenExpired; every other failure is kernel.ErrTokenInvalid,
// whichever check failed.
func (v *verifier) Verify(token string) (kernel.Subject, time.Time, error) {
	v.mu.RLock()
	got, ok := v.verified[token]
	v.mu.RUnlock()
	if ok {
		if v.now().Before(got.expires.Add(v.leeway)) {
			return got.subject, got.expires, nil
		}
		v.mu.Lock()
		delete(v.verified, token)
		v.mu.Unlock()
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenExpired
	}
	sub, exp, err := v.verify(token)
	if err == nil {
		v.mu.Lock()
		if len(v.verified) >= cacheSize {
			clear(v.verified) // crude but bounded; a full cache refills from live traffic
		}
		v.verified[token] = verifiedToken{subject: sub, expires: exp}
		v.mu.Unlock()
	}
	return sub, exp, err
}

func (v *verifier) verify(token string) (kernel.Subject, time.Time, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		// RFC 7515 §4.1.11: a crit header names extensions the recipient
		// must understand; this one understands none.
		if _, ok := t.Header["crit"]; ok {
			return nil, errCrit
		}
		return v.key(t)
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired) && onlyExpired(err):
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenExpired
	case err != nil || !numericDates(token):
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	}
	raw, _ := claims[v.subjectClaim].(string)
	sub, err := kernel.ParseSubject(raw)
	if err != nil {
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	}
	return sub, exp.UTC(), nil
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

// headerAlg reads a token's alg without verifying anything, to route it
// to the verifier that pins that algorithm.
func headerAlg(token string) string {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.Alg
}
