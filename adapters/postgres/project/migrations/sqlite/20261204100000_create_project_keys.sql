-- +goose Up
-- Workers' credentials for one project each. secret_digest is an HMAC of
-- the secret under the server's AUTH_KEY_SECRET; the secret is never stored.
CREATE TABLE project_keys (
    id            TEXT        PRIMARY KEY,
    project_id    TEXT        NOT NULL REFERENCES projects (id),
    name          TEXT        NOT NULL,
    permissions   TEXT        NOT NULL,
    secret_digest BLOB        NOT NULL,
    created_by    TEXT        NOT NULL,
    created_at    DATETIME    NOT NULL,
    expires_at    DATETIME,
    revoked_at    DATETIME
);

-- Serves a project's key list, newest first.
CREATE INDEX project_keys_project_created ON project_keys (project_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE project_keys;
