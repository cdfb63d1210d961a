package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/bootstrap"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestTokensFromARealOpenIDConnectProvider: the API, configured with only
// the provider's issuer, discovers its keys; an ID token the provider
// issues after a real login is accepted; after the provider rotates its
// signing key (RS256 to ES256), its new tokens are accepted and the old
// one still verifies; tokens with a kid it does not publish, signed by a
// key it does not hold, or with alg changed, are 401.
func TestTokensFromARealOpenIDConnectProvider(t *testing.T) {
	provider := testkit.StartOIDCProvider(t)
	env := testkit.BaseEnv(testkit.NewPostgresDatabase(t))
	delete(env, "AUTH_HS256_SECRET")
	env["AUTH_OIDC_ISSUER"] = provider.Issuer
	env["AUTH_AUDIENCE"] = testkit.OIDCClientID
	app := testkit.StartApp(t, env)

	token := provider.IDToken(t)
	res := app.Do("POST", "/api/v1/projects", token, map[string]any{"name": "from the provider"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create with the provider's token: %d %s", res.Status, res.Body)
	}
	if owner := res.Map(t)["owner"]; owner != "id1" {
		t.Fatalf("the project's owner is %v, want the provider's subject id1", owner)
	}

	header, claims := decodeJWT(t, token)
	provider.Rotate(t)
	rotated := provider.IDToken(t)
	if h, _ := decodeJWT(t, rotated); h["kid"] == header["kid"] || h["alg"] != "ES256" {
		t.Fatalf("the rotated key signs as %v %v, before %v %v", h["kid"], h["alg"], header["kid"], header["alg"])
	}
	for name, tok := range map[string]string{"a token under the new key": rotated, "the token from before the rotation": token} {
		if res := app.Do("GET", "/api/v1/projects", tok, nil); res.Status != http.StatusOK || len(res.Map(t)["items"].([]any)) != 1 {
			t.Fatalf("%s: %d %s", name, res.Status, res.Body)
		}
	}

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	claims["exp"] = float64(time.Now().Add(time.Hour).Unix())
	forged := func(method jwt.SigningMethod, kid string, key any) string {
		tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	kid, _ := header["kid"].(string)
	for name, bad := range map[string]string{
		"a key the provider does not hold, under its kid": forged(jwt.SigningMethodRS256, kid, rsaKey),
		"a kid the provider does not publish":             forged(jwt.SigningMethodRS256, "no-such-kid", rsaKey),
		"alg changed to ES256 under its kid":              forged(jwt.SigningMethodES256, kid, ecKey),
		"alg changed to HS256 (HS256 is off)":             forged(jwt.SigningMethodHS256, kid, []byte(testkit.TestSecret)),
		"no signature":                                    strings.Join(strings.Split(token, ".")[:2], ".") + ".",
	} {
		if res := app.Do("GET", "/api/v1/projects", bad, nil); res.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
		}
	}
	var ready struct {
		Checks map[string]struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	app.Do("GET", "/health/ready", "", nil).JSON(t, &ready)
	if ready.Checks["identity_provider"].Status != "up" {
		t.Fatalf("readiness: %+v", ready.Checks)
	}
}

func TestAProviderThatIsDownAtStartIsAClearStartupError(t *testing.T) {
	env := testkit.BaseEnv(testkit.NewSQLiteURL(t))
	env["AUTH_OIDC_ISSUER"] = "http://127.0.0.1:9/"
	env["AUTH_AUDIENCE"] = "api"
	env["AUTH_JWKS_TIMEOUT"] = "1s"
	start := time.Now()
	cfg, err := bootstrap.LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	app := bootstrap.App(cfg, fx.NopLogger, fx.Decorate(func() *zap.Logger { return zap.NewNop() }))
	if err = app.Err(); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err = app.Start(ctx); err == nil {
			_ = app.Stop(ctx)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "OpenID Connect configuration") {
		t.Fatalf("start with a provider that is down: %v", err)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("the startup error took %v", waited)
	}
}

func decodeJWT(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			t.Fatalf("part %d of the token does not decode", i)
		}
	}
	return header, claims
}
