-- SQLite schema of the standalone store. Ids are 16-byte UUIDv7 blobs, whose
-- byte order is their time order; received_at is microseconds since the epoch.
CREATE TABLE paths (
    path_id    TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE captures (
    id           BLOB PRIMARY KEY NOT NULL,
    path_id      TEXT NOT NULL,
    method       TEXT NOT NULL,
    subpath      TEXT NOT NULL,
    query_string TEXT NOT NULL,
    headers      TEXT NOT NULL,
    body         BLOB NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT,
    content_type TEXT,
    body_size    INTEGER NOT NULL,
    received_at  INTEGER NOT NULL
);

CREATE INDEX captures_path_id_id ON captures (path_id, id);
