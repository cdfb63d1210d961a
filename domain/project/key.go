package project

import (
	"crypto/subtle"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// KeyPermissions are the permissions a project key may hold: a worker's
// work inside one project, never its membership, keys or existence.
const KeyPermissions = kernel.ReadProject | kernel.ReadOperations | kernel.CreateOperations |
	kernel.ReportProgress | kernel.CancelOperations | kernel.ReadContent | kernel.WriteContent

// MaxKeyNameLength bounds a key's name, in characters.
const MaxKeyNameLength = 100

// Errors of project keys.
var (
	ErrKeyNotFound = kernel.NotFound("key.not_found", "no such key in this project")
	ErrKeyRevoked  = kernel.Conflict("key.revoked", "the key is already revoked")
)

// Key is a worker's credential for one project: a name, what it may do,
// and the digest of its secret (the secret itself is shown once and never
// stored).
type Key struct {
	id        kernel.KeyID
	project   kernel.ProjectID
	name      string
	may       kernel.Permission
	digest    []byte
	createdBy kernel.Subject
	createdAt time.Time
	expiresAt *time.Time
	revokedAt *time.Time
}

// NewKey checks a new key's fields; all failures are reported together.
func NewKey(id kernel.KeyID, project kernel.ProjectID, name string, may kernel.Permission, digest []byte,
	createdBy kernel.Subject, now time.Time, expiresAt *time.Time) (*Key, error) {
	if id.IsZero() || project.IsZero() || createdBy.IsZero() || len(digest) == 0 {
		return nil, kernel.Invalid("key.scope_missing", "a key needs an id, a project, a creator and a digest")
	}
	var fields []kernel.FieldError
	if f, ok := keyNameRule.Check(name); !ok {
		fields = append(fields, f)
	}
	if may == 0 || may&^KeyPermissions != 0 {
		fields = append(fields, kernel.FieldError{Field: "permissions",
			Message: "must name at least one of " + KeyPermissions.String() + ", and nothing else"})
	}
	now = kernel.Timestamp(now)
	if expiresAt != nil {
		at := kernel.Timestamp(*expiresAt)
		if !at.After(now) {
			fields = append(fields, kernel.FieldError{Field: "expires_at", Message: "must be in the future"})
		}
		expiresAt = &at
	}
	if len(fields) > 0 {
		return nil, kernel.Invalid("key.invalid", "the key is not valid", fields...)
	}
	return &Key{id: id, project: project, name: name, may: may, digest: digest, createdBy: createdBy, createdAt: now, expiresAt: expiresAt}, nil
}

// RehydrateKey rebuilds a key from storage.
func RehydrateKey(id kernel.KeyID, project kernel.ProjectID, name string, may kernel.Permission, digest []byte,
	createdBy kernel.Subject, createdAt time.Time, expiresAt, revokedAt *time.Time) *Key {
	return &Key{id: id, project: project, name: name, may: may, digest: digest, createdBy: createdBy,
		createdAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt}
}

func (k *Key) ID() kernel.KeyID               { return k.id }
func (k *Key) Project() kernel.ProjectID      { return k.project }
func (k *Key) Name() string                   { return k.name }
func (k *Key) Permissions() kernel.Permission { return k.may }
func (k *Key) Digest() []byte                 { return k.digest }
func (k *Key) CreatedBy() kernel.Subject      { return k.createdBy }
func (k *Key) CreatedAt() time.Time           { return k.createdAt }
func (k *Key) ExpiresAt() *time.Time          { return k.expiresAt }
func (k *Key) RevokedAt() *time.Time          { return k.revokedAt }
func (k *Key) Subject() kernel.Subject        { return kernel.KeySubject(k.id) }

// Usable reports a key neither revoked nor expired at now.
func (k *Key) Usable(now time.Time) bool  { return k.revokedAt == nil && !k.Expired(now) }
func (k *Key) Expired(now time.Time) bool { return k.expiresAt != nil && !now.Before(*k.expiresAt) }

// Matches compares a presented secret's digest in constant time.
func (k *Key) Matches(digest []byte) bool { return subtle.ConstantTimeCompare(k.digest, digest) == 1 }

// Revoke ends the key's use; a revoked key stays listed.
func (k *Key) Revoke(now time.Time) error {
	if k.revokedAt != nil {
		return ErrKeyRevoked
	}
	at := kernel.Timestamp(now)
	k.revokedAt = &at
	return nil
}

var keyNameRule = kernel.Text{Field: "name", Max: MaxKeyNameLength, Required: true}
