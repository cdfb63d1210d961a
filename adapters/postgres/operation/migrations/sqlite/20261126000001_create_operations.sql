-- +goose Up
CREATE TABLE operations (
    id         TEXT     PRIMARY KEY,
    project_id TEXT     NOT NULL,
    kind       TEXT     NOT NULL,
    status     TEXT     NOT NULL,
    percent    INTEGER  NOT NULL DEFAULT 0,
    message    TEXT     NOT NULL DEFAULT '',
    result     TEXT,
    error      TEXT     NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    version    INTEGER  NOT NULL DEFAULT 0
);

-- Serves the keyset list: one project's operations, newest first.
CREATE INDEX operations_project_created ON operations (project_id, created_at DESC, id DESC);

-- Serves the list filtered by status, and the count by status.
CREATE INDEX operations_project_status_created ON operations (project_id, status, created_at DESC, id DESC);

-- Accepted events waiting for the relay to sequence them; id is the
-- acceptance order (AUTOINCREMENT: never reused, even once the table is empty).
CREATE TABLE operation_outbox (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    project_id   TEXT     NOT NULL,
    operation_id TEXT     NOT NULL,
    type         TEXT     NOT NULL,
    at           DATETIME NOT NULL,
    data         TEXT     NOT NULL
);

-- The sequenced event log streams read and resume from.
CREATE TABLE operation_events (
    seq          INTEGER  PRIMARY KEY,
    project_id   TEXT     NOT NULL,
    operation_id TEXT     NOT NULL,
    type         TEXT     NOT NULL,
    at           DATETIME NOT NULL,
    data         TEXT     NOT NULL
);

-- Serve a project stream's and an operation stream's replay.
CREATE INDEX operation_events_project_seq ON operation_events (project_id, seq);
CREATE INDEX operation_events_project_operation_seq ON operation_events (project_id, operation_id, seq);


-- The relay's watermarks: the last published seq and the highest pruned one.
CREATE TABLE operation_event_relay (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    published_seq INTEGER NOT NULL DEFAULT 0,
    horizon_seq   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO operation_event_relay (id, published_seq, horizon_seq) VALUES (1, 0, 0);

-- +goose Down
DROP TABLE operation_event_relay;
DROP TABLE operation_events;
DROP TABLE operation_outbox;
DROP TABLE operations;
