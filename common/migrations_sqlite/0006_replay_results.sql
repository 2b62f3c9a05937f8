-- What targets answered replay jobs, as in migrations/0006_replay_results.sql.
CREATE TABLE replay_results (
    job_id         BLOB NOT NULL,
    seq            INTEGER NOT NULL,
    capture_id     BLOB NOT NULL,
    status         INTEGER,
    latency_ms     REAL NOT NULL,
    error          TEXT,
    headers        TEXT NOT NULL,
    body           BLOB NOT NULL,
    body_truncated INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
);
