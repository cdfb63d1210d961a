-- +goose Up
-- Counts changes: a conditional write (If-Match) applies only to the version it names.
ALTER TABLE projects ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE projects DROP COLUMN version;
