-- What targets answered replay jobs (issue 16): one row per request, keyed
-- by the job and the request's place in completion order.
CREATE TABLE replay_results (
    job_id         UUID NOT NULL,
    seq            BIGINT NOT NULL,
    capture_id     UUID NOT NULL,
    status         INTEGER,
    latency_ms     DOUBLE PRECISION NOT NULL,
    error          TEXT,
    headers        TEXT NOT NULL,
    body           BYTEA NOT NULL,
    body_truncated BOOLEAN NOT NULL,
    PRIMARY KEY (job_id, seq)
);
