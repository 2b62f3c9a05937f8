//! Replay jobs in Postgres (the state machine is described in
//! `store/replay_jobs.rs`).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::store::replay_jobs::state_from;
use crate::store::rows::path_id;
use crate::store::{JobState, ReplayJobRecord, StoreError};

// The upsert keeps a stored `cancelled` / `interrupted` state and answers the
// state now stored, so the runner learns of a cancel made by another process.
const SAVE: &str = "INSERT INTO replay_jobs (id, path_id, state, doc, heartbeat) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, \
     heartbeat = excluded.heartbeat, state = CASE WHEN replay_jobs.state IN \
     ('cancelled', 'interrupted') THEN replay_jobs.state ELSE excluded.state END \
     RETURNING state";

pub(super) async fn save(pool: &PgPool, job: &ReplayJobRecord) -> Result<JobState, StoreError> {
    let row = sqlx::query(SAVE)
        .bind(job.id)
        .bind(job.path_id.as_str())
        .bind(job.state.as_str())
        .bind(&job.doc)
        .bind(job.heartbeat)
        .fetch_one(pool)
        .await?;
    state_from(row.try_get("state")?)
}

pub(super) async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ReplayJobRecord>, StoreError> {
    let row =
        sqlx::query("SELECT id, path_id, state, doc, heartbeat FROM replay_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(|r| {
        Ok(ReplayJobRecord {
            id: r.try_get("id")?,
            path_id: path_id(r.try_get("path_id")?)?,
            state: state_from(r.try_get("state")?)?,
            doc: r.try_get("doc")?,
            heartbeat: r.try_get("heartbeat")?,
        })
    })
    .transpose()
}

pub(super) async fn finish(
    pool: &PgPool,
    id: Uuid,
    to: JobState,
) -> Result<Option<JobState>, StoreError> {
    sqlx::query(
        "UPDATE replay_jobs SET state = $1 WHERE id = $2 AND state IN ('queued', 'running')",
    )
    .bind(to.as_str())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(get(pool, id).await?.map(|j| j.state))
}

pub(super) async fn interrupt_stale(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE replay_jobs SET state = 'interrupted' \
         WHERE state IN ('queued', 'running') AND heartbeat < $1",
    )
    .bind(before)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
