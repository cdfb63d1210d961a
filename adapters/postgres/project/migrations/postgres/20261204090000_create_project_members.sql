-- +goose Up
-- Who may act in a project, and as what. project_created_at repeats the
-- project's creation time so that a member's project list is one keyset
-- scan of this table's index, newest project first.
CREATE TABLE project_members (
    project_id         uuid        NOT NULL REFERENCES projects (id),
    subject            text        NOT NULL,
    role               text        NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    project_created_at timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (project_id, subject)
);

-- Exactly one owner per project: a transfer demotes before it promotes.
CREATE UNIQUE INDEX project_members_one_owner ON project_members (project_id) WHERE role = 'owner';

-- Serves the list of a subject's projects, newest first.
CREATE INDEX project_members_subject_projects ON project_members (subject, project_created_at DESC, project_id DESC);

-- Every existing project gets its owner as its owner member.
INSERT INTO project_members (project_id, subject, role, project_created_at, created_at, updated_at)
SELECT id, owner, 'owner', created_at, created_at, created_at FROM projects;

-- The list now reads memberships.
DROP INDEX projects_owner_created_live;

-- +goose Down
CREATE INDEX projects_owner_created_live ON projects (owner, created_at DESC, id DESC) WHERE deleted_at IS NULL;
DROP TABLE project_members;
