//! Replay jobs at rest, for both databases. The job document is opaque JSON
//! owned by the query service; the store only guards the state machine: a job
//! that was cancelled or interrupted stays so, whatever a late save says.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row, SqlitePool};
use uuid::Uuid;

use super::StoreError;

/// States after which a job never runs again.
pub const FINAL_STATES: [&str; 3] = ["done", "cancelled", "interrupted"];

/// One replay job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayJobRecord {
    pub id: Uuid,
    pub path_id: String,
    /// `queued`, `running`, `done`, `cancelled` or `interrupted`.
    pub state: String,
    /// The job document (JSON).
    pub doc: String,
    /// When the process running the job last saved it.
    pub heartbeat: DateTime<Utc>,
}

// The upsert keeps a stored `cancelled` / `interrupted` state and answers the
// state now stored, so the runner learns of a cancel made by another process.
const SQLITE_SAVE: &str = "INSERT INTO replay_jobs (id, path_id, state, doc, heartbeat) \
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, \
     heartbeat = excluded.heartbeat, state = CASE WHEN replay_jobs.state IN \
     ('cancelled', 'interrupted') THEN replay_jobs.state ELSE excluded.state END \
     RETURNING state";

const PG_SAVE: &str = "INSERT INTO replay_jobs (id, path_id, state, doc, heartbeat) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, \
     heartbeat = excluded.heartbeat, state = CASE WHEN replay_jobs.state IN \
     ('cancelled', 'interrupted') THEN replay_jobs.state ELSE excluded.state END \
     RETURNING state";

pub(super) async fn sqlite_save(
    pool: &SqlitePool,
    job: &ReplayJobRecord,
) -> Result<String, StoreError> {
    let row = sqlx::query(SQLITE_SAVE)
        .bind(job.id)
        .bind(&job.path_id)
        .bind(&job.state)
        .bind(&job.doc)
        .bind(job.heartbeat.timestamp_micros())
        .fetch_one(pool)
        .await?;
    Ok(row.try_get("state")?)
}

pub(super) async fn pg_save(pool: &PgPool, job: &ReplayJobRecord) -> Result<String, StoreError> {
    let row = sqlx::query(PG_SAVE)
        .bind(job.id)
        .bind(&job.path_id)
        .bind(&job.state)
        .bind(&job.doc)
        .bind(job.heartbeat)
        .fetch_one(pool)
        .await?;
    Ok(row.try_get("state")?)
}

pub(super) async fn sqlite_get(
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
            path_id: r.try_get("path_id")?,
            state: r.try_get("state")?,
            doc: r.try_get("doc")?,
            heartbeat: DateTime::from_timestamp_micros(us)
                .ok_or_else(|| StoreError::Corrupt(format!("time {us}")))?,
        })
    })
    .transpose()
}

pub(super) async fn pg_get(pool: &PgPool, id: Uuid) -> Result<Option<ReplayJobRecord>, StoreError> {
    let row =
        sqlx::query("SELECT id, path_id, state, doc, heartbeat FROM replay_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(|r| {
        Ok(ReplayJobRecord {
            id: r.try_get("id")?,
            path_id: r.try_get("path_id")?,
            state: r.try_get("state")?,
            doc: r.try_get("doc")?,
            heartbeat: r.try_get("heartbeat")?,
        })
    })
    .transpose()
}

/// Moves a queued or running job to `to` (`cancelled` / `interrupted`);
/// returns the state stored afterwards, `None` when there is no such job.
pub(super) async fn sqlite_finish(
    pool: &SqlitePool,
    id: Uuid,
    to: &str,
) -> Result<Option<String>, StoreError> {
    sqlx::query("UPDATE replay_jobs SET state = ? WHERE id = ? AND state IN ('queued', 'running')")
        .bind(to)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(sqlite_get(pool, id).await?.map(|j| j.state))
}

pub(super) async fn pg_finish(
    pool: &PgPool,
    id: Uuid,
    to: &str,
) -> Result<Option<String>, StoreError> {
    sqlx::query(
        "UPDATE replay_jobs SET state = $1 WHERE id = $2 AND state IN ('queued', 'running')",
    )
    .bind(to)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(pg_get(pool, id).await?.map(|j| j.state))
}

/// Marks queued or running jobs whose heartbeat is older than `before` as
/// interrupted; returns how many.
pub(super) async fn sqlite_interrupt_stale(
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

pub(super) async fn pg_interrupt_stale(
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
