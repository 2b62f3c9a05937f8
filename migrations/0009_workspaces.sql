-- Teams on one deployment (issue 19): workspaces, their API keys (only a
-- SHA-256 of each key is kept) and an audit log. Every path belongs to a
-- workspace; paths made before this migration go to `default`. Times in the
-- new tables are microseconds since the epoch, as in the SQLite store, so
-- both share their statements (common/src/store/teams.rs).
CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    quotas     TEXT NOT NULL DEFAULT '{}',
    -- The storage quota the workspace is over (`max_captures`,
    -- `max_body_bytes`), set by query's usage check; NULL when within.
    over_quota TEXT
);
INSERT INTO workspaces (id, created_at)
    VALUES ('default', (EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT);

ALTER TABLE paths ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default'
    REFERENCES workspaces (id);
CREATE INDEX paths_workspace ON paths (workspace);

CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    workspace    TEXT NOT NULL REFERENCES workspaces (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_workspace ON api_keys (workspace, created_at);

CREATE TABLE audit_log (
    id        UUID PRIMARY KEY,
    workspace TEXT NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT 'null'
);
CREATE INDEX audit_log_workspace ON audit_log (workspace, id);
