-- +goose Up
CREATE TABLE projects (
    id          uuid        PRIMARY KEY,
    owner       text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz
);

-- A name is unique per owner among live projects only: a deleted project frees its name.
CREATE UNIQUE INDEX projects_owner_name_live ON projects (owner, name) WHERE deleted_at IS NULL;

-- Serves the keyset list: one owner's live projects, newest first.
CREATE INDEX projects_owner_created_live ON projects (owner, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- +goose Down
DROP TABLE projects;
