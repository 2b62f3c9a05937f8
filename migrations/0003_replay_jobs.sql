-- Replay jobs: the query service's job document (spec, progress, per-capture
-- outcomes) as JSON text, with the state and heartbeat as columns so a
-- restart can mark abandoned jobs interrupted.
CREATE TABLE replay_jobs (
    id        UUID PRIMARY KEY,
    path_id   TEXT NOT NULL,
    state     TEXT NOT NULL,
    doc       TEXT NOT NULL,
    heartbeat TIMESTAMPTZ NOT NULL
);

CREATE INDEX replay_jobs_state ON replay_jobs (state);
