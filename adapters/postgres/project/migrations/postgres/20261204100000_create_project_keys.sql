-- +goose Up
-- Workers' credentials for one project each. secret_digest is an HMAC of
-- the secret under the server's AUTH_KEY_SECRET; the secret is never stored.
CREATE TABLE project_keys (
    id            uuid        PRIMARY KEY,
    project_id    uuid        NOT NULL REFERENCES projects (id),
    name          text        NOT NULL,
    permissions   text        NOT NULL,
    secret_digest bytea       NOT NULL,
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz
);

-- Serves a project's key list, newest first.
CREATE INDEX project_keys_project_created ON project_keys (project_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE project_keys;
