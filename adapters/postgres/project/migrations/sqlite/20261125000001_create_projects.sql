-- +goose Up
CREATE TABLE projects (
    id          TEXT     PRIMARY KEY,
    owner       TEXT     NOT NULL,
    name        TEXT     NOT NULL,
    description TEXT     NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    deleted_at  DATETIME
);

-- A name is unique per owner among live projects only: a deleted project frees its name.
CREATE UNIQUE INDEX projects_owner_name_live ON projects (owner, name) WHERE deleted_at IS NULL;

-- Serves the keyset list: one owner's live projects, newest first.
CREATE INDEX projects_owner_created_live ON projects (owner, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- +goose Down
DROP TABLE projects;
