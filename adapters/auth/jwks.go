package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/scoped-api/foundation/domain/kernel"
)

// JWKSMethods are the algorithms a token from an identity provider may
// use; each key is further pinned by its own type (and its alg, when the
// JWK names one), so a token cannot switch an RSA key to another method.
var JWKSMethods = []string{"RS256", "ES256", "EdDSA"}

// JWKSSettings configure a verifier of an identity provider's tokens.
type JWKSSettings struct {
	// URL is the JWK Set's; with OIDCIssuer instead, it is discovered.
	URL        string
	OIDCIssuer string
	// Issuer and Audience are required: they are what tells this API's
	// tokens from the provider's others.
	Issuer, Audience string
	// SubjectClaim names the claim that identifies the caller ("sub").
	SubjectClaim string
	Leeway       time.Duration
	// Timeout bounds each request to the provider, the first included.
	Timeout time.Duration
	// Refresh is how often the key set is fetched again; UnknownKIDEvery
	// is the least time between fetches caused by tokens naming a key the
	// set does not hold (a rotation), so forged kids cannot hammer the
	// provider.
	Refresh, UnknownKIDEvery time.Duration
	Client                   *http.Client
}

// JWKS verifies tokens signed by an identity provider's keys.
type JWKS struct {
	*verifier
	keys   keyfunc.Keyfunc
	url    string
	client *http.Client
	cancel context.CancelFunc

	probeEvery time.Duration
	mu         sync.Mutex
	probedAt   time.Time
	probeErr   error
	failingAt  time.Time
}

// NewJWKS fetches the provider's keys (discovering them first for an
// OpenID Connect issuer) and fails, within Timeout, when it cannot.
func NewJWKS(ctx context.Context, s JWKSSettings) (*JWKS, error) {
	if s.Issuer == "" || s.Audience == "" {
		return nil, errors.New("auth: tokens of an identity provider need an issuer and an audience to check")
	}
	if s.Timeout <= 0 {
		s.Timeout = 5 * time.Second
	}
	if s.Refresh <= 0 {
		s.Refresh = time.Hour
	}
	if s.UnknownKIDEvery <= 0 {
		s.UnknownKIDEvery = 10 * time.Second
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: s.Timeout}
	}
	url := s.URL
	if s.OIDCIssuer != "" {
		var err error
		if url, err = discover(ctx, client, s.OIDCIssuer); err != nil {
			return nil, err
		}
	}
	j := &JWKS{url: url, client: client, probeEvery: probeEvery}
	// The background refresh outlives the start's deadline.
	refreshCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	failFirst := false // a provider down at start is a startup error, not an empty key set
	unknownKID := rate.NewLimiter(rate.Every(s.UnknownKIDEvery), 1)
	keys, err := keyfunc.NewDefaultOverrideCtx(refreshCtx, []string{url}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               s.Timeout,
		NoErrorReturnFirstHTTPReq: &failFirst,
		RefreshInterval:           s.Refresh,
		RefreshUnknownKID:         unknownKID,
		// The limiter's wait and the fetch it allows share this bound
		// (jwkset gives both one context): the fetch needs all of it.
		RateLimitWaitMax: s.Timeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(_ context.Context, err error) { j.failed(err) }
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: the identity provider's keys at %s cannot be read: %w", url, err)
	}
	j.keys, j.cancel = keys, cancel
	j.verifier = newVerifier(verifierSettings{
		methods: JWKSMethods, issuer: s.Issuer, audience: s.Audience, subjectClaim: s.SubjectClaim, leeway: s.Leeway,
		key: func(t *jwt.Token) (any, error) {
			timeout := s.Timeout
			if unknownKID.Tokens() < 1 {
				// Spent: a known kid is read from memory and needs no
				// time; an unknown one is refused at once rather than
				// held until the limiter allows the next fetch.
				timeout = time.Millisecond
			}
			kctx, kcancel := context.WithTimeout(refreshCtx, timeout)
			defer kcancel()
			return keys.KeyfuncCtx(kctx)(t)
		},
	})
	return j, nil
}

// Close stops the background refresh.
func (j *JWKS) Close() { j.cancel() }

func (j *JWKS) failed(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failingAt.IsZero() {
		j.failingAt = time.Now()
	}
	j.probeErr = err
}

// probeEvery bounds how often readiness asks the provider itself.
const probeEvery = 30 * time.Second

// Check reports whether the provider's key set can be read now, asking
// it at most every 30 s; cached keys keep verifying meanwhile, so it is a
// reported readiness entry, not a required one.
func (j *JWKS) Check(ctx context.Context) error {
	j.mu.Lock()
	if time.Since(j.probedAt) < j.probeEvery {
		err := j.probeErr
		j.mu.Unlock()
		return err
	}
	j.mu.Unlock()
	err := j.probe(ctx)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.probedAt, j.probeErr = time.Now(), err
	if err == nil {
		j.failingAt = time.Time{}
	} else if j.failingAt.IsZero() {
		j.failingAt = time.Now()
	}
	return err
}

func (j *JWKS) probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return err
	}
	res, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("the identity provider's keys cannot be read: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the identity provider's keys answered %d", res.StatusCode)
	}
	return nil
}

// discover reads the OpenID Connect configuration of issuer and returns
// its jwks_uri; the document must name the same issuer (OpenID Connect
// Discovery §4.3).
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("auth: AUTH_OIDC_ISSUER: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("auth: the OpenID Connect configuration at %s cannot be read: %w", u, err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("auth: the OpenID Connect configuration at %s answered %d", u, res.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("auth: the OpenID Connect configuration at %s is not JSON: %w", u, err)
	}
	if doc.Issuer != issuer || doc.JWKSURI == "" {
		return "", fmt.Errorf("auth: the OpenID Connect configuration at %s names issuer %q (want %q) and jwks_uri %q", u, doc.Issuer, issuer, doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

// Verifiers routes each token to the verifier that pins its algorithm:
// HS256 to the shared secret (when one is configured), the provider's
// algorithms to its keys. Either may be nil.
type Verifiers struct {
	HS256 *HS256
	JWKS  *JWKS
}

// Verify verifies token with the verifier for its alg.
func (v Verifiers) Verify(token string) (kernel.Subject, time.Time, error) {
	if headerAlg(token) == jwt.SigningMethodHS256.Alg() {
		if v.HS256 == nil {
			return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
		}
		return v.HS256.Verify(token)
	}
	if v.JWKS == nil {
		if v.HS256 == nil {
			return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
		}
		return v.HS256.Verify(token) // refused for its alg, as before
	}
	return v.JWKS.Verify(token)
}
