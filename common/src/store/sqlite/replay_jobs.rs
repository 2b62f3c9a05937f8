//! Replay jobs in SQLite (the state machine is described in
//! `store/replay_jobs.rs`). Heartbeats are stored as microseconds.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::store::replay_jobs::state_from;
use crate::store::rows::path_id;
use crate::store::{JobState, ReplayJobRecord, StoreError};

// The upsert keeps a stored `cancelled` / `interrupted` state and answers the
// state now stored, so the runner learns of a cancel made by another process.
const SAVE: &str = "INSERT INTO replay_jobs (id, path_id, state, doc, heartbeat) \
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, \
     heartbeat = excluded.heartbeat, state = CASE WHEN replay_jobs.state IN \
     ('cancelled', 'interrupted') THEN replay_jobs.state ELSE excluded.state END \
     RETURNING state";

pub(super) async fn save(pool: &SqlitePool, job: &ReplayJobRecord) -> Result<JobState, StoreError> {
    let row = sqlx::query(SAVE)
        .bind(job.id)
        .bind(job.path_id.as_str())
        .bind(job.state.as_str())
        .bind(&job.doc)
        .bind(job.heartbeat.timestamp_micros())
        .fetch_one(pool)
        .await?;
    state_from(row.try_get("state")?)
}

pub(super) async fn get(
    pool: &SqlitePool,
    id: Uuid,
) -> Result<Option<ReplayJobRecord>, StoreError> {
    let row =
        sqlx::query("SELECT id, path_id, state, doc, heartbeat FROM replay_jobs WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(|r| {
        let us: i64 = r.try_get("heartbeat")?;
        Ok(ReplayJobRecord {
            id: r.try_get("id")?,
            path_id: path_id(r.try_get("path_id")?)?,
            state: state_from(r.try_get("state")?)?,
            doc: r.try_get("doc")?,
            heartbeat: DateTime::from_timestamp_micros(us)
                .ok_or_else(|| StoreError::Corrupt(format!("time {us}")))?,
        })
    })
    .transpose()
}

pub(super) async fn finish(
    pool: &SqlitePool,
    id: Uuid,
    to: JobState,
) -> Result<Option<JobState>, StoreError> {
    sqlx::query("UPDATE replay_jobs SET state = ? WHERE id = ? AND state IN ('queued', 'running')")
        .bind(to.as_str())
        .bind(id)
        .execute(pool)
        .await?;
    Ok(get(pool, id).await?.map(|j| j.state))
}

pub(super) async fn interrupt_stale(
    pool: &SqlitePool,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE replay_jobs SET state = 'interrupted' \
         WHERE state IN ('queued', 'running') AND heartbeat < ?",
    )
    .bind(before.timestamp_micros())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
