-- +goose Up
-- One row per caller and key: the answer of a write, stored in the write's own transaction.
CREATE TABLE idempotency_keys (
    subject     TEXT     NOT NULL,
    key         TEXT     NOT NULL,
    fingerprint BLOB     NOT NULL,
    status      INTEGER  NOT NULL,
    header      TEXT     NOT NULL,
    body        BLOB     NOT NULL,
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (subject, key)
);

-- Serves pruning by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
