-- +goose Up
CREATE TABLE operations (
    id         uuid        PRIMARY KEY,
    project_id uuid        NOT NULL,
    kind       text        NOT NULL,
    status     text        NOT NULL,
    percent    integer     NOT NULL DEFAULT 0,
    message    text        NOT NULL DEFAULT '',
    -- JSON validated by the domain, kept as the worker sent it.
    result     text,
    error      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    -- Counts changes: a write applies only to the version it read.
    version    bigint      NOT NULL DEFAULT 0
);

-- Serves the keyset list: one project's operations, newest first.
CREATE INDEX operations_project_created ON operations (project_id, created_at DESC, id DESC);

-- Serves the list filtered by status, and the count by status.
CREATE INDEX operations_project_status_created ON operations (project_id, status, created_at DESC, id DESC);

-- Accepted events waiting for the relay to sequence them; id is the acceptance order.
CREATE TABLE operation_outbox (
    id           bigserial   PRIMARY KEY,
    project_id   uuid        NOT NULL,
    operation_id uuid        NOT NULL,
    type         text        NOT NULL,
    at           timestamptz NOT NULL,
    data         text        NOT NULL
);

-- The sequenced event log streams read and resume from.
CREATE TABLE operation_events (
    seq          bigint      PRIMARY KEY,
    project_id   uuid        NOT NULL,
    operation_id uuid        NOT NULL,
    type         text        NOT NULL,
    at           timestamptz NOT NULL,
    data         text        NOT NULL
);

-- Serve a project stream's and an operation stream's replay.
CREATE INDEX operation_events_project_seq ON operation_events (project_id, seq);
CREATE INDEX operation_events_project_operation_seq ON operation_events (project_id, operation_id, seq);


-- The relay's watermarks: the last published seq and the highest pruned one.
CREATE TABLE operation_event_relay (
    id            smallint PRIMARY KEY CHECK (id = 1),
    published_seq bigint   NOT NULL DEFAULT 0,
    horizon_seq   bigint   NOT NULL DEFAULT 0
);
INSERT INTO operation_event_relay (id, published_seq, horizon_seq) VALUES (1, 0, 0);

-- +goose Down
DROP TABLE operation_event_relay;
DROP TABLE operation_events;
DROP TABLE operation_outbox;
DROP TABLE operations;
