-- Postgres schema of the split shape's store (applied at query start and by
-- `callback-listener migrate`).
CREATE TABLE paths (
    path_id    TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE captures (
    id           UUID PRIMARY KEY,
    path_id      TEXT NOT NULL,
    method       TEXT NOT NULL,
    subpath      TEXT NOT NULL,
    query_string TEXT NOT NULL,
    headers      JSONB NOT NULL,
    body         BYTEA NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT,
    content_type TEXT,
    body_size    BIGINT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL
);

-- Keyset pagination newest first within a path.
CREATE INDEX captures_path_id_id ON captures (path_id, id DESC);
