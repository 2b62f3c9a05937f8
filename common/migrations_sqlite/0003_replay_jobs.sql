-- Replay jobs: the query service's job document (spec, progress, per-capture
-- outcomes) as JSON, with the state and heartbeat as columns so a restart can
-- mark abandoned jobs interrupted. heartbeat is microseconds since the epoch.
CREATE TABLE replay_jobs (
    id        BLOB PRIMARY KEY NOT NULL,
    path_id   TEXT NOT NULL,
    state     TEXT NOT NULL,
    doc       TEXT NOT NULL,
    heartbeat INTEGER NOT NULL
);

CREATE INDEX replay_jobs_state ON replay_jobs (state);
