package project

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// KeyPrefix starts every project key's token, so that a key is told from
// a JWT at a glance (and by secret scanners): "sfk_<key id>_<secret>".
const KeyPrefix = "sfk_"

const (
	keySecretBytes = 32
	keyIDHex       = 32
	keyTokenLength = len(KeyPrefix) + keyIDHex + 1 + 43 // 43: 32 bytes in unpadded base64url
	keyCacheSize   = 4096
)

// MinKeySecretBytes is the shortest server key for key digests that
// production accepts.
const MinKeySecretBytes = 32

// DevelopmentKeySecret keys the digests when no secret is configured
// outside production. It is public, so production refuses it.
const DevelopmentKeySecret = "development-only-key-secret--never-use-in-production"

// Keys holds the project key use cases and authenticates their tokens.
// A key's secret is shown once, at creation; what is stored is its HMAC
// under the server's secret, so a leaked table authenticates nobody.
type Keys struct {
	repo   ports.Repository
	gate   *Gate
	clock  shared.Clock
	ids    shared.IDGenerator
	secret []byte
	ttl    time.Duration

	mu    sync.Mutex
	known map[kernel.KeyID]knownKey
}

type knownKey struct {
	key   *project.Key
	until time.Time
}

// KeySettings configure Keys: Secret keys the digests; a key looked up is
// remembered for CacheTTL (the gate's), so a revocation made on another
// instance applies within it.
type KeySettings struct {
	Secret   []byte
	CacheTTL time.Duration
}

// NewKeys builds the key use cases; every dependency is required.
func NewKeys(repo ports.Repository, gate *Gate, clock shared.Clock, ids shared.IDGenerator, s KeySettings) *Keys {
	if repo == nil || gate == nil || clock == nil || ids == nil || len(s.Secret) == 0 {
		panic("project.NewKeys: nil dependency or no secret")
	}
	k := &Keys{repo: repo, gate: gate, clock: clock, ids: ids, secret: s.Secret, ttl: s.CacheTTL, known: map[kernel.KeyID]knownKey{}}
	gate.keys = k
	return k
}

// CreateKey is the input of Keys.CreateKey.
type CreateKey struct {
	Name        string
	Permissions kernel.Permission
	ExpiresAt   *time.Time
}

// CreateKey makes a key of the access's project and returns it with its
// token, which is never shown again.
func (k *Keys) CreateKey(ctx context.Context, access kernel.ProjectAccess, cmd CreateKey) (*project.Key, string, error) {
	if err := requireAccess(access, kernel.ManageKeys); err != nil {
		return nil, "", err
	}
	secret := make([]byte, keySecretBytes)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	encoded := base64.RawURLEncoding.EncodeToString(secret)
	id := kernel.IDFrom[kernel.KeyKind](k.ids.NewID())
	key, err := project.NewKey(id, access.Project(), cmd.Name, cmd.Permissions, k.digest(encoded), access.Subject(), k.clock.Now(), cmd.ExpiresAt)
	if err != nil {
		return nil, "", err
	}
	if err := k.repo.AddKey(ctx, access, key); err != nil {
		return nil, "", err
	}
	raw := id.UUID()
	return key, KeyPrefix + hex.EncodeToString(raw[:]) + "_" + encoded, nil
}

// ListKeys is the input of Keys.ListKeys; Limit must be 1..kernel.MaxPageLimit.
type ListKeys struct {
	Limit  int
	Cursor *kernel.Cursor
}

// ListKeys returns one page of the project's keys, newest first, without secrets.
func (k *Keys) ListKeys(ctx context.Context, access kernel.ProjectAccess, q ListKeys) (ports.KeyPage, error) {
	if err := requireAccess(access, kernel.ManageKeys); err != nil {
		return ports.KeyPage{}, err
	}
	if err := kernel.CheckPageLimit(q.Limit); err != nil {
		return ports.KeyPage{}, err
	}
	return k.repo.Keys(ctx, access, ports.KeyQuery{Limit: q.Limit, After: q.Cursor})
}

// RevokeKey ends the key id's use: at once on this instance (its streams
// end too), within the cache TTL on others.
func (k *Keys) RevokeKey(ctx context.Context, access kernel.ProjectAccess, id kernel.KeyID) error {
	if err := requireAccess(access, kernel.ManageKeys); err != nil {
		return err
	}
	now := k.clock.Now()
	key, err := k.repo.UpdateKey(ctx, access, id, func(key *project.Key) error { return key.Revoke(now) })
	if err != nil {
		return err
	}
	k.mu.Lock()
	delete(k.known, id)
	k.mu.Unlock()
	k.gate.revoke(key.Subject(), key.Project())
	return nil
}

// IsKey reports whether a bearer token is in a key's form rather than a JWT's.
func (k *Keys) IsKey(token string) bool { return isKey(token) }

func isKey(token string) bool { return strings.HasPrefix(token, KeyPrefix) }

// Authenticate checks a key's token and returns the subject it acts as
// and when it expires (zero when it does not). Every failure is
// kernel.ErrTokenInvalid, or kernel.ErrTokenExpired for an expired key.
func (k *Keys) Authenticate(ctx context.Context, token string) (kernel.Subject, time.Time, error) {
	id, secret, ok := parseKeyToken(token)
	if !ok {
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	}
	key, err := k.lookup(ctx, id)
	if errors.Is(err, project.ErrKeyNotFound) {
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	}
	if err != nil {
		return kernel.Subject{}, time.Time{}, err
	}
	now := k.clock.Now()
	switch {
	case !key.Matches(k.digest(secret)) || key.RevokedAt() != nil:
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenInvalid
	case key.Expired(now):
		return kernel.Subject{}, time.Time{}, kernel.ErrTokenExpired
	}
	var expires time.Time
	if at := key.ExpiresAt(); at != nil {
		expires = *at
	}
	return key.Subject(), expires, nil
}

// permissions is the gate's question for a key's subject: what the key
// may do in project, or project.ErrNotFound when it is not that
// project's, or not usable.
func (k *Keys) permissions(ctx context.Context, id kernel.KeyID, projectID kernel.ProjectID) (kernel.Permission, error) {
	key, err := k.lookup(ctx, id)
	if errors.Is(err, project.ErrKeyNotFound) {
		return 0, project.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	if key.Project() != projectID || !key.Usable(k.clock.Now()) {
		return 0, project.ErrNotFound
	}
	return key.Permissions(), nil
}

func (k *Keys) lookup(ctx context.Context, id kernel.KeyID) (*project.Key, error) {
	now := k.clock.Now()
	k.mu.Lock()
	got, ok := k.known[id]
	k.mu.Unlock()
	if ok && now.Before(got.until) {
		return got.key, nil
	}
	key, err := k.repo.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	if k.ttl > 0 {
		k.mu.Lock()
		if len(k.known) >= keyCacheSize {
			clear(k.known)
		}
		k.known[id] = knownKey{key: key, until: now.Add(k.ttl)}
		k.mu.Unlock()
	}
	return key, nil
}

func (k *Keys) digest(secret string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func parseKeyToken(token string) (kernel.KeyID, string, bool) {
	if len(token) != keyTokenLength || !isKey(token) {
		return kernel.KeyID{}, "", false
	}
	rest := token[len(KeyPrefix):]
	idHex, secret, ok := strings.Cut(rest, "_")
	if !ok || len(idHex) != keyIDHex {
		return kernel.KeyID{}, "", false
	}
	if _, err := hex.DecodeString(idHex); err != nil {
		return kernel.KeyID{}, "", false
	}
	id, err := kernel.ParseID[kernel.KeyKind](idHex[:8] + "-" + idHex[8:12] + "-" + idHex[12:16] + "-" + idHex[16:20] + "-" + idHex[20:])
	if err != nil {
		return kernel.KeyID{}, "", false
	}
	if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != keySecretBytes {
		return kernel.KeyID{}, "", false
	}
	return id, secret, true
}
