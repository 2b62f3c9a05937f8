//! Postgres store for the split shape. Batches go in as one `INSERT ...
//! SELECT FROM UNNEST(...)` under an advisory lock that serialises batch
//! commits (so positions follow commit order): a redelivered capture is
//! skipped rather than doubled.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::rows::{answer_column, headers_from_columns, path_id, response_from};
use super::signing::{signing_from_json, signing_to_json, verdict_from};
use super::{Committed, LogQuery, StoreBackend, StoreError};
use crate::capture::{Capture, CaptureSummary};
use crate::path_id::PathId;
use crate::paths::PathInfo;
use crate::signing::SigningProfile;
use crate::workspaces::{ApiKey, AuditEntry, Workspace, WorkspaceId};

/// See `StoreBackend::resume_position`.
const RESUME_POSITION: &str = "SELECT COALESCE( \
       (SELECT position FROM captures WHERE id = $1), \
       (SELECT position - 1 FROM captures WHERE id > $1 ORDER BY id LIMIT 1), \
       (SELECT last FROM capture_head))";

const SUMMARY_COLUMNS: &str = "id, path_id, method, subpath, query_string, ip, user_agent, \
                               content_type, body_size, received_at, signature, \
                               (response::json->>'status')::int8 AS answer_status, \
                               (response::json->>'rule')::int8 AS answer_rule";

pub struct PostgresStore {
    pub(super) pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        sqlx::migrate!("../migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(e.into()))?;
        Ok(Self { pool })
    }
}

fn summary(row: &PgRow) -> Result<CaptureSummary, StoreError> {
    Ok(CaptureSummary {
        id: row.try_get("id")?,
        path_id: path_id(row.try_get("path_id")?)?,
        method: row.try_get("method")?,
        subpath: row.try_get("subpath")?,
        query_string: row.try_get("query_string")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        content_type: row.try_get("content_type")?,
        body_size: row.try_get::<i64, _>("body_size")? as u64,
        received_at: row.try_get("received_at")?,
        signature: verdict_from(row.try_get("signature")?)?,
        answer_status: answer_column(row.try_get("answer_status")?)?,
        answer_rule: answer_column(row.try_get("answer_rule")?)?,
    })
}

fn path_info(row: &PgRow) -> Result<PathInfo, StoreError> {
    let settings: String = row.try_get("settings")?;
    Ok(PathInfo {
        path_id: path_id(row.try_get("path_id")?)?,
        created_at: row.try_get("created_at")?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        signing: signing_from_json(row.try_get("signing")?)?,
        forward_signing: signing_from_json(row.try_get("forward_signing")?)?,
        workspace: WorkspaceId::parse(&row.try_get::<String, _>("workspace")?)
            .map_err(StoreError::Corrupt)?,
        workspace_rate: super::teams::webhook_rate(row.try_get("workspace_quotas")?)?,
        workspace_over: row.try_get("workspace_over")?,
    })
}

fn settings_json(path: &PathInfo) -> String {
    serde_json::to_string(&path.settings).expect("settings serialize")
}

fn capture(r: &PgRow) -> Result<Capture, StoreError> {
    let (headers, header_order) =
        headers_from_columns(r.try_get("headers")?, r.try_get("header_names")?)?;
    Ok(Capture {
        id: r.try_get("id")?,
        path_id: path_id(r.try_get("path_id")?)?,
        method: r.try_get("method")?,
        subpath: r.try_get("subpath")?,
        query_string: r.try_get("query_string")?,
        headers,
        header_order,
        body: r.try_get::<Vec<u8>, _>("body")?.into(),
        ip: r.try_get("ip")?,
        received_at: r.try_get("received_at")?,
        signature: verdict_from(r.try_get("signature")?)?,
        response: response_from(r.try_get("response")?)?,
    })
}

const FULL_COLUMNS: &str =
    "id, path_id, method, subpath, query_string, headers::text AS headers, header_names, \
     body, ip, received_at, signature, response";

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

mod filters;
mod replay_jobs;

use filters::push_filters;

#[async_trait]
impl StoreBackend for PostgresStore {
    async fn create_path(&self, path: &PathInfo) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO paths (path_id, created_at, settings, signing, forward_signing, workspace) \
             VALUES ($1, $2, $3::jsonb, $4, $5, $6)",
        )
        .bind(path.path_id.as_str())
        .bind(path.created_at)
        .bind(settings_json(path))
        .bind(signing_to_json(path.signing.as_ref()))
        .bind(signing_to_json(path.forward_signing.as_ref()))
        .bind(path.workspace.as_str())
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    async fn get_path(&self, id: &PathId) -> Result<Option<PathInfo>, StoreError> {
        sqlx::query(
            "SELECT path_id, created_at, settings::text AS settings, signing, forward_signing, workspace, \
             (SELECT quotas FROM workspaces w WHERE w.id = paths.workspace) AS workspace_quotas, \
             (SELECT over_quota FROM workspaces w WHERE w.id = paths.workspace) AS workspace_over \
             FROM paths WHERE path_id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(path_info)
        .transpose()
    }

    async fn update_path(&self, path: &PathInfo) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE paths SET settings = $1::jsonb, signing = $3, forward_signing = $4 \
             WHERE path_id = $2",
        )
        .bind(settings_json(path))
        .bind(path.path_id.as_str())
        .bind(signing_to_json(path.signing.as_ref()))
        .bind(signing_to_json(path.forward_signing.as_ref()))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_paths(&self) -> Result<Vec<PathInfo>, StoreError> {
        sqlx::query(
            "SELECT path_id, created_at, settings::text AS settings, signing, forward_signing, workspace, \
             (SELECT quotas FROM workspaces w WHERE w.id = paths.workspace) AS workspace_quotas, \
             (SELECT over_quota FROM workspaces w WHERE w.id = paths.workspace) AS workspace_over \
             FROM paths ORDER BY created_at DESC",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(path_info)
        .collect()
    }

    async fn signing_profiles(
        &self,
        ids: &[&str],
    ) -> Result<Vec<(String, SigningProfile)>, StoreError> {
        super::signing::pg_profiles(&self.pool, ids).await
    }

    async fn delete_path(&self, id: &PathId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM paths WHERE path_id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM captures WHERE path_id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_batch(&self, captures: &[Capture]) -> Result<Committed, StoreError> {
        super::positions::pg_insert_batch(&self.pool, captures).await
    }

    async fn head(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT last FROM capture_head")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn list_positions(
        &self,
        path: Option<&PathId>,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<Vec<(i64, CaptureSummary)>, StoreError> {
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT position, {SUMMARY_COLUMNS} FROM captures WHERE position > "
        ));
        sql.push_bind(after)
            .push(" AND position <= ")
            .push_bind(upto);
        if let Some(path) = path {
            sql.push(" AND path_id = ").push_bind(path.as_str());
        }
        sql.push(" ORDER BY position ASC LIMIT ")
            .push_bind(limit as i64);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("position")?, summary(r)?)))
            .collect()
    }

    async fn resume_position(&self, id: Uuid) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(RESUME_POSITION)
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn list_captures(
        &self,
        path: &PathId,
        q: &LogQuery,
    ) -> Result<Vec<CaptureSummary>, StoreError> {
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM captures WHERE path_id = "
        ));
        sql.push_bind(path.as_str());
        push_filters(&mut sql, q);
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(q.limit as i64);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(summary).collect()
    }

    async fn get_capture(&self, path: &PathId, id: Uuid) -> Result<Option<Capture>, StoreError> {
        // Safe: built only from our own column list constant; the values are binds.
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {FULL_COLUMNS} FROM captures WHERE path_id = $1 AND id = $2"
        )))
        .bind(path.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(capture)
        .transpose()
    }

    async fn list_full(&self, path: &PathId, q: &LogQuery) -> Result<Vec<Capture>, StoreError> {
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT {FULL_COLUMNS} FROM captures WHERE path_id = "
        ));
        sql.push_bind(path.as_str());
        push_filters(&mut sql, q);
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(q.limit as i64);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(capture).collect()
    }

    async fn clear_captures(&self, path: &PathId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM captures WHERE path_id = $1")
            .bind(path.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn prune_batch(
        &self,
        path: &PathId,
        keep_newest: Option<u64>,
        older_than: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        if let Some(keep) = keep_newest {
            deleted += sqlx::query(
                "DELETE FROM captures WHERE id IN (SELECT id FROM captures WHERE path_id = $1 \
                 ORDER BY id DESC OFFSET $2 LIMIT $3)",
            )
            .bind(path.as_str())
            .bind(keep as i64)
            .bind(limit as i64)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        if let Some(cutoff) = older_than {
            deleted += sqlx::query(
                "DELETE FROM captures WHERE id IN (SELECT id FROM captures WHERE path_id = $1 \
                 AND received_at < $2 LIMIT $3)",
            )
            .bind(path.as_str())
            .bind(cutoff)
            .bind(limit as i64)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(deleted)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
    async fn save_replay_job(
        &self,
        job: &super::ReplayJobRecord,
    ) -> Result<super::JobState, StoreError> {
        replay_jobs::save(&self.pool, job).await
    }

    async fn get_replay_job(&self, id: Uuid) -> Result<Option<super::ReplayJobRecord>, StoreError> {
        replay_jobs::get(&self.pool, id).await
    }

    async fn finish_replay_job(
        &self,
        id: Uuid,
        to: super::JobState,
    ) -> Result<Option<super::JobState>, StoreError> {
        replay_jobs::finish(&self.pool, id, to).await
    }

    async fn interrupt_stale_replay_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        replay_jobs::interrupt_stale(&self.pool, before).await
    }

    async fn save_replay_results(
        &self,
        rows: &[super::ReplayResultRecord],
    ) -> Result<(), StoreError> {
        super::replay_results::pg_insert(&self.pool, rows).await
    }

    async fn list_replay_results(
        &self,
        job: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<Vec<super::ReplayResultRecord>, StoreError> {
        super::replay_results::pg_list(&self.pool, job, after, limit).await
    }

    async fn create_workspace(&self, w: &Workspace) -> Result<(), StoreError> {
        super::teams::pg::create_workspace(&self.pool, w).await
    }

    async fn get_workspace(&self, id: &WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        super::teams::pg::get_workspace(&self.pool, id).await
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        super::teams::pg::list_workspaces(&self.pool).await
    }

    async fn update_workspace(&self, w: &Workspace) -> Result<bool, StoreError> {
        super::teams::pg::update_workspace(&self.pool, w).await
    }

    async fn count_paths(&self, ws: &WorkspaceId) -> Result<u64, StoreError> {
        super::teams::pg::count_paths(&self.pool, ws).await
    }

    async fn workspace_usage(&self) -> Result<Vec<(WorkspaceId, u64, u64)>, StoreError> {
        super::teams::pg::workspace_usage(&self.pool).await
    }

    async fn set_over_quota(&self, ws: &WorkspaceId, over: Option<&str>) -> Result<(), StoreError> {
        super::teams::pg::set_over_quota(&self.pool, ws, over).await
    }

    async fn create_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        super::teams::pg::create_key(&self.pool, k).await
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        super::teams::pg::key_by_hash(&self.pool, hash).await
    }

    async fn list_keys(&self, ws: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        super::teams::pg::list_keys(&self.pool, ws).await
    }

    async fn revoke_key(
        &self,
        ws: &WorkspaceId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        super::teams::pg::revoke_key(&self.pool, ws, id, at).await
    }

    async fn touch_key(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        super::teams::pg::touch_key(&self.pool, id, at).await
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        super::teams::pg::append_audit(&self.pool, e).await
    }

    async fn list_audit(
        &self,
        ws: &WorkspaceId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        super::teams::pg::list_audit(&self.pool, ws, before, limit).await
    }
}
