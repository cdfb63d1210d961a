package project

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	appproject "github.com/scoped-api/foundation/application/project"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// KeysPath is a project's key collection.
const KeysPath = BasePath + "/{project_id}/keys"

// Key is a project key as its managers see it: never its secret.
type Key struct {
	ID          string     `json:"id" format:"uuid" doc:"The key's id; the access log names a key's requests by it"`
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions" nullable:"false" doc:"What the key may do in the project"`
	CreatedBy   string     `json:"created_by" doc:"The subject of the member who created it"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty" doc:"When it stops working; absent for never"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty" doc:"When it was revoked; absent while it works"`
}

func toKey(k *project.Key) Key {
	return Key{ID: k.ID().String(), Name: k.Name(), Permissions: k.Permissions().Names(), CreatedBy: k.CreatedBy().String(),
		CreatedAt: k.CreatedAt(), ExpiresAt: k.ExpiresAt(), RevokedAt: k.RevokedAt()}
}

// CreatedKey is a new key with its token, shown this once.
type CreatedKey struct {
	Key
	Token string `json:"token" doc:"The bearer token (sfk_…): shown only in this answer, stored only as a digest"`
}

// CreateKeyRequest creates a project key.
type CreateKeyRequest struct {
	Name        string     `json:"name" minLength:"1" maxLength:"100" doc:"What the key is for"`
	Permissions []string   `json:"permissions" nullable:"false" minItems:"1" maxItems:"7" uniqueItems:"true" enum:"project:read,operations:read,operations:create,operations:report,operations:cancel,content:read,content:write" doc:"What the key may do: a worker typically needs operations:read and operations:report"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty" doc:"When it stops working (in the future); absent for never"`
}

// KeyPage is one page of a project's keys, newest first.
type KeyPage struct {
	Items      []Key  `json:"items" nullable:"false"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
}

type (
	createKeyInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Body      CreateKeyRequest
	}
	createKeyOutput struct {
		Location     string `header:"Location" doc:"The key's URL"`
		CacheControl string `header:"Cache-Control" doc:"no-store: the answer holds a secret"`
		Body         CreatedKey
	}
	listKeysInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Limit     int    `query:"limit" default:"20" minimum:"1" maximum:"100" doc:"Page size, 1 to 100"`
		Cursor    string `query:"cursor" doc:"next_cursor of the previous page"`
	}
	listKeysOutput struct {
		Body KeyPage
	}
	revokeKeyInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		KeyID     string `path:"key_id" format:"uuid" doc:"The key's id"`
	}
)

func (h *Handler) registerKeys(api huma.API) {
	tags := []string{"keys"}
	httpkit.DeclareTag(api, "keys", "Project keys: credentials for workers, acting only inside one project and within their permissions")
	scoped := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(api, huma.Operation{
		OperationID:   "create-key",
		Method:        http.MethodPost,
		Path:          KeysPath,
		Summary:       "Create a project key",
		Description:   "Admins and the owner only. The answer carries the token once; send it as Authorization: Bearer <token>. The key acts only in this project, within its permissions.",
		Tags:          tags,
		Security:      httpkit.Protected,
		DefaultStatus: http.StatusCreated,
		Errors:        append([]int{http.StatusBadRequest}, scoped...),
	}, h.createKey)
	huma.Register(api, huma.Operation{
		OperationID: "list-keys",
		Method:      http.MethodGet,
		Path:        KeysPath,
		Summary:     "List a project's keys, newest first",
		Description: "Admins and the owner only; revoked keys are listed with revoked_at, secrets never.",
		Tags:        tags,
		Security:    httpkit.Protected,
		Errors:      scoped,
	}, h.listKeys)
	huma.Register(api, huma.Operation{
		OperationID:   "revoke-key",
		Method:        http.MethodDelete,
		Path:          KeysPath + "/{key_id}",
		Summary:       "Revoke a project key",
		Description:   "Admins and the owner only. The key is refused (401) at once on this instance and within PROJECT_GATE_CACHE_TTL on the others; its open streams end. A key revoked before is 409 key.revoked.",
		Tags:          tags,
		Security:      httpkit.Protected,
		DefaultStatus: http.StatusNoContent,
		Errors:        append([]int{http.StatusConflict}, scoped...),
	}, h.revokeKey)
}

func (h *Handler) createKey(ctx context.Context, in *createKeyInput) (*createKeyOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	var may kernel.Permission
	for _, name := range in.Body.Permissions {
		p, ok := kernel.ParsePermission(name)
		if !ok {
			return nil, httpkit.FromError(ctx, kernel.Invalid("key.invalid", "the key is not valid",
				kernel.FieldError{Field: "permissions", Message: "names an unknown permission"}))
		}
		may |= p
	}
	k, token, err := h.keys.CreateKey(ctx, access, appproject.CreateKey{Name: in.Body.Name, Permissions: may, ExpiresAt: in.Body.ExpiresAt})
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return &createKeyOutput{
		Location:     BasePath + "/" + access.Project().String() + "/keys/" + k.ID().String(),
		CacheControl: "no-store",
		Body:         CreatedKey{Key: toKey(k), Token: token},
	}, nil
}

func (h *Handler) listKeys(ctx context.Context, in *listKeysInput) (*listKeysOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	q := appproject.ListKeys{Limit: in.Limit}
	if in.Cursor != "" {
		if q.Cursor, err = httpkit.ParseCursor(ctx, in.Cursor); err != nil {
			return nil, err
		}
	}
	page, err := h.keys.ListKeys(ctx, access, q)
	if err != nil {
		return nil, httpkit.FromError(ctx, err).WithLocation("body.", "query.")
	}
	out := &listKeysOutput{}
	out.Body.Items = make([]Key, len(page.Items))
	for i, k := range page.Items {
		out.Body.Items[i] = toKey(k)
	}
	if page.Next != nil {
		out.Body.NextCursor = httpkit.EncodeCursor(*page.Next)
	}
	return out, nil
}

func (h *Handler) revokeKey(ctx context.Context, in *revokeKeyInput) (*struct{}, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	id, err := kernel.ParseID[kernel.KeyKind](in.KeyID)
	if err != nil {
		return nil, httpkit.FromError(ctx, err).WithLocation("body.", "path.")
	}
	if err := h.keys.RevokeKey(ctx, access, id); err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return nil, nil
}
