//! SQLite store for the standalone shape: one file, WAL mode, and
//! `synchronous=FULL` so a committed batch survives a crash of the machine,
//! not just of the process (group commit keeps that affordable).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite};
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
       (SELECT position FROM captures WHERE id = ?1), \
       (SELECT position - 1 FROM captures WHERE id > ?1 ORDER BY id LIMIT 1), \
       (SELECT last FROM capture_head))";

const SUMMARY_COLUMNS: &str = "id, path_id, method, subpath, query_string, ip, user_agent, \
                               content_type, body_size, received_at, signature, \
                               json_extract(response, '$.status') AS answer_status, \
                               json_extract(response, '$.rule') AS answer_rule";

pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// The group commit's own connection. In WAL mode a connection drops
    /// its page cache whenever another one has written since its last
    /// transaction; commits spread over the pool re-read their pages each
    /// time, one connection kept for them keeps its cache.
    writer: SqlitePool,
    profiles: profiles::ProfileCache,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A file cannot drop a connection, so no ping before each use:
            // it was one more round trip to the connection's thread per
            // query, the writer's group commit included.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations_sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(e.into()))?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            writer,
            profiles: profiles::ProfileCache::default(),
        })
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt(format!("time {us}")))
}

fn path_info(r: &SqliteRow) -> Result<PathInfo, StoreError> {
    let settings: String = r.try_get("settings")?;
    Ok(PathInfo {
        path_id: path_id(r.try_get("path_id")?)?,
        created_at: from_micros(r.try_get("created_at")?)?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        signing: signing_from_json(r.try_get("signing")?)?,
        forward_signing: signing_from_json(r.try_get("forward_signing")?)?,
        workspace: WorkspaceId::parse(&r.try_get::<String, _>("workspace")?)
            .map_err(StoreError::Corrupt)?,
        workspace_rate: super::teams::webhook_rate(r.try_get("workspace_quotas")?)?,
        workspace_over: r.try_get("workspace_over")?,
    })
}

fn settings_json(path: &PathInfo) -> String {
    serde_json::to_string(&path.settings).expect("settings serialize")
}

fn capture(r: &SqliteRow) -> Result<Capture, StoreError> {
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
        received_at: from_micros(r.try_get("received_at")?)?,
        signature: verdict_from(r.try_get("signature")?)?,
        response: response_from(r.try_get("response")?)?,
    })
}

const FULL_COLUMNS: &str =
    "id, path_id, method, subpath, query_string, headers, header_names, body, ip, received_at, \
     signature, response";

fn summary(row: &SqliteRow) -> Result<CaptureSummary, StoreError> {
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
        received_at: from_micros(row.try_get("received_at")?)?,
        signature: verdict_from(row.try_get("signature")?)?,
        answer_status: answer_column(row.try_get("answer_status")?)?,
        answer_rule: answer_column(row.try_get("answer_rule")?)?,
    })
}

mod filters;
mod profiles;
mod replay_jobs;

use filters::push_filters;

#[async_trait]
impl StoreBackend for SqliteStore {
    async fn create_path(&self, path: &PathInfo) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO paths (path_id, created_at, settings, signing, forward_signing, workspace) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(path.path_id.as_str())
        .bind(micros(path.created_at))
        .bind(settings_json(path))
        .bind(signing_to_json(path.signing.as_ref()))
        .bind(signing_to_json(path.forward_signing.as_ref()))
        .bind(path.workspace.as_str())
        .execute(&self.pool);
        if self.profiles.after_write(insert).await?.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn get_path(&self, id: &PathId) -> Result<Option<PathInfo>, StoreError> {
        sqlx::query("SELECT path_id, created_at, settings, signing, forward_signing, workspace, \
             (SELECT quotas FROM workspaces w WHERE w.id = paths.workspace) AS workspace_quotas, \
             (SELECT over_quota FROM workspaces w WHERE w.id = paths.workspace) AS workspace_over FROM paths WHERE path_id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(path_info)
            .transpose()
    }

    async fn update_path(&self, path: &PathInfo) -> Result<bool, StoreError> {
        let update = sqlx::query(
            "UPDATE paths SET settings = ?, signing = ?, forward_signing = ? WHERE path_id = ?",
        )
        .bind(settings_json(path))
        .bind(signing_to_json(path.signing.as_ref()))
        .bind(signing_to_json(path.forward_signing.as_ref()))
        .bind(path.path_id.as_str())
        .execute(&self.pool);
        Ok(self.profiles.after_write(update).await?.rows_affected() > 0)
    }

    async fn list_paths(&self) -> Result<Vec<PathInfo>, StoreError> {
        sqlx::query(
            "SELECT path_id, created_at, settings, signing, forward_signing, workspace, \
             (SELECT quotas FROM workspaces w WHERE w.id = paths.workspace) AS workspace_quotas, \
             (SELECT over_quota FROM workspaces w WHERE w.id = paths.workspace) AS workspace_over FROM paths \
             ORDER BY created_at DESC",
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
        self.profiles.get(&self.pool, ids).await
    }

    async fn delete_path(&self, id: &PathId) -> Result<bool, StoreError> {
        let delete = async {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query("DELETE FROM paths WHERE path_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM captures WHERE path_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        };
        self.profiles.after_write(delete).await
    }

    async fn insert_batch(&self, captures: &[Capture]) -> Result<Committed, StoreError> {
        super::positions::sqlite_insert_batch(&self.writer, captures).await
    }

    async fn head(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT last FROM capture_head")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn list_captures(
        &self,
        path: &PathId,
        q: &LogQuery,
    ) -> Result<Vec<CaptureSummary>, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM captures WHERE path_id = "
        ));
        sql.push_bind(path.as_str());
        push_filters(&mut sql, q);
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(q.limit as i64);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(summary).collect()
    }

    async fn list_positions(
        &self,
        path: Option<&PathId>,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<Vec<(i64, CaptureSummary)>, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
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

    async fn get_capture(&self, path: &PathId, id: Uuid) -> Result<Option<Capture>, StoreError> {
        // Safe: built only from our own column list constant; the values are binds.
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {FULL_COLUMNS} FROM captures WHERE path_id = ? AND id = ?"
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
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
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
        let done = sqlx::query("DELETE FROM captures WHERE path_id = ?")
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
                "DELETE FROM captures WHERE id IN (SELECT id FROM captures WHERE path_id = ? \
                 ORDER BY id DESC LIMIT ? OFFSET ?)",
            )
            .bind(path.as_str())
            .bind(limit as i64)
            .bind(keep as i64)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        if let Some(cutoff) = older_than {
            deleted += sqlx::query(
                "DELETE FROM captures WHERE id IN (SELECT id FROM captures WHERE path_id = ? \
                 AND received_at < ? LIMIT ?)",
            )
            .bind(path.as_str())
            .bind(micros(cutoff))
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
        super::replay_results::sqlite_insert(&self.pool, rows).await
    }

    async fn list_replay_results(
        &self,
        job: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<Vec<super::ReplayResultRecord>, StoreError> {
        super::replay_results::sqlite_list(&self.pool, job, after, limit).await
    }

    async fn create_workspace(&self, w: &Workspace) -> Result<(), StoreError> {
        super::teams::sqlite::create_workspace(&self.pool, w).await
    }

    async fn get_workspace(&self, id: &WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        super::teams::sqlite::get_workspace(&self.pool, id).await
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        super::teams::sqlite::list_workspaces(&self.pool).await
    }

    async fn update_workspace(&self, w: &Workspace) -> Result<bool, StoreError> {
        super::teams::sqlite::update_workspace(&self.pool, w).await
    }

    async fn count_paths(&self, ws: &WorkspaceId) -> Result<u64, StoreError> {
        super::teams::sqlite::count_paths(&self.pool, ws).await
    }

    async fn workspace_usage(&self) -> Result<Vec<(WorkspaceId, u64, u64)>, StoreError> {
        super::teams::sqlite::workspace_usage(&self.pool).await
    }

    async fn set_over_quota(&self, ws: &WorkspaceId, over: Option<&str>) -> Result<(), StoreError> {
        super::teams::sqlite::set_over_quota(&self.pool, ws, over).await
    }

    async fn create_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        super::teams::sqlite::create_key(&self.pool, k).await
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        super::teams::sqlite::key_by_hash(&self.pool, hash).await
    }

    async fn list_keys(&self, ws: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        super::teams::sqlite::list_keys(&self.pool, ws).await
    }

    async fn revoke_key(
        &self,
        ws: &WorkspaceId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        super::teams::sqlite::revoke_key(&self.pool, ws, id, at).await
    }

    async fn touch_key(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        super::teams::sqlite::touch_key(&self.pool, id, at).await
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        super::teams::sqlite::append_audit(&self.pool, e).await
    }

    async fn list_audit(
        &self,
        ws: &WorkspaceId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        super::teams::sqlite::list_audit(&self.pool, ws, before, limit).await
    }
}
