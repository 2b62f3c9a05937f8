-- Workspaces, API keys and the audit log: see migrations/0009_workspaces.sql
-- of the Postgres store.
CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL,
    quotas     TEXT NOT NULL DEFAULT '{}',
    -- The storage quota the workspace is over (`max_captures`,
    -- `max_body_bytes`), set by query's usage check; NULL when within.
    over_quota TEXT
);
INSERT INTO workspaces (id, created_at)
    VALUES ('default', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));

-- No REFERENCES here: SQLite cannot add one with a default to a table that
-- has rows; the API only ever names a workspace that exists.
ALTER TABLE paths ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
CREATE INDEX paths_workspace ON paths (workspace);

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY NOT NULL,
    workspace    TEXT NOT NULL REFERENCES workspaces (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_keys_workspace ON api_keys (workspace, created_at);

CREATE TABLE audit_log (
    id        BLOB PRIMARY KEY NOT NULL,
    workspace TEXT NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT 'null'
);
CREATE INDEX audit_log_workspace ON audit_log (workspace, id);
