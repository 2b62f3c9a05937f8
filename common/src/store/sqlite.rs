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
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::rows::{headers_from_json, headers_to_json};
use super::{like_escape, Committed, LogQuery, StoreBackend, StoreError, BODY_SEARCH_BYTES};
use crate::capture::{Capture, CaptureSummary};
use crate::path_id::PathId;
use crate::paths::PathInfo;

/// See `StoreBackend::resume_position`.
const RESUME_POSITION: &str = "SELECT COALESCE( \
       (SELECT position FROM captures WHERE id = ?1), \
       (SELECT position - 1 FROM captures WHERE id > ?1 ORDER BY id LIMIT 1), \
       (SELECT last FROM capture_head))";

/// Rows per INSERT statement: 12 parameters each, well under SQLite's
/// limit of 32,766 bound parameters per statement.
const INSERT_CHUNK: usize = 500;

const SUMMARY_COLUMNS: &str = "id, path_id, method, subpath, query_string, ip, user_agent, \
                               content_type, body_size, received_at";

pub struct SqliteStore {
    pool: SqlitePool,
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
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations_sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(e.into()))?;
        Ok(Self { pool })
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt(format!("time {us}")))
}

fn path_id(raw: String) -> Result<PathId, StoreError> {
    PathId::parse(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn path_info(r: &SqliteRow) -> Result<PathInfo, StoreError> {
    let settings: String = r.try_get("settings")?;
    Ok(PathInfo {
        path_id: path_id(r.try_get("path_id")?)?,
        created_at: from_micros(r.try_get("created_at")?)?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

fn settings_json(path: &PathInfo) -> String {
    serde_json::to_string(&path.settings).expect("settings serialize")
}

fn capture(r: &SqliteRow) -> Result<Capture, StoreError> {
    Ok(Capture {
        id: r.try_get("id")?,
        path_id: path_id(r.try_get("path_id")?)?,
        method: r.try_get("method")?,
        subpath: r.try_get("subpath")?,
        query_string: r.try_get("query_string")?,
        headers: headers_from_json(r.try_get("headers")?)?,
        body: r.try_get::<Vec<u8>, _>("body")?.into(),
        ip: r.try_get("ip")?,
        received_at: from_micros(r.try_get("received_at")?)?,
    })
}

/// `WHERE` conditions of a log query (after `path_id = ?`).
fn push_filters(sql: &mut QueryBuilder<'_, Sqlite>, q: &LogQuery) {
    if let Some(before) = q.before {
        sql.push(" AND id < ").push_bind(before);
    }
    if let Some(method) = &q.method {
        sql.push(" AND method = ").push_bind(method.clone());
    }
    if let Some(since) = q.since {
        sql.push(" AND received_at >= ").push_bind(micros(since));
    }
    if let Some(until) = q.until {
        sql.push(" AND received_at < ").push_bind(micros(until));
    }
    if let Some((name, value)) = &q.header {
        sql.push(" AND EXISTS (SELECT 1 FROM json_each(captures.headers) h WHERE json_extract(h.value, '$[0]') = ")
            .push_bind(name.clone());
        if let Some(value) = value {
            sql.push(" AND json_extract(h.value, '$[1]') = ")
                .push_bind(value.clone());
        }
        sql.push(")");
    }
    if let Some(text) = &q.text {
        // SQLite's LIKE is case-insensitive for ASCII.
        sql.push(format!(
            " AND CAST(substr(body, 1, {BODY_SEARCH_BYTES}) AS TEXT) LIKE "
        ))
        .push_bind(format!("%{}%", like_escape(text)))
        .push(" ESCAPE '\\'");
    }
}

const FULL_COLUMNS: &str =
    "id, path_id, method, subpath, query_string, headers, body, ip, received_at";

fn summary(row: &SqliteRow) -> Result<CaptureSummary, StoreError> {
    Ok(CaptureSummary {
        id: row.try_get("id")?,
        path_id: row.try_get("path_id")?,
        method: row.try_get("method")?,
        subpath: row.try_get("subpath")?,
        query_string: row.try_get("query_string")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        content_type: row.try_get("content_type")?,
        body_size: row.try_get::<i64, _>("body_size")? as u64,
        received_at: from_micros(row.try_get("received_at")?)?,
    })
}

/// One `INSERT` of the `rows` (at most [`INSERT_CHUNK`], sorted by id) that
/// are not stored yet, at positions `base + 1..` in id order; returns each
/// inserted row's id and position. Only inside the write transaction of
/// `insert_batch`: with no other writer, `NOT EXISTS` is exact, so a
/// redelivered capture gets no position and positions have no holes.
fn insert_rows<'a>(rows: &[&'a Capture], base: i64) -> QueryBuilder<'a, Sqlite> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "INSERT INTO captures (id, path_id, method, subpath, query_string, headers, body, \
         ip, user_agent, content_type, body_size, received_at, position) \
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
         v.column8, v.column9, v.column10, v.column11, v.column12, ",
    );
    sql.push_bind(base)
        .push(" + row_number() OVER (ORDER BY v.column1) FROM (");
    sql.push_values(rows.iter().copied(), |mut row, c| {
        row.push_bind(c.id)
            .push_bind(c.path_id.as_str())
            .push_bind(c.method.as_str())
            .push_bind(c.subpath.as_str())
            .push_bind(c.query_string.as_str())
            .push_bind(headers_to_json(&c.headers))
            .push_bind(c.body.as_ref())
            .push_bind(c.ip.as_str())
            .push_bind(c.user_agent())
            .push_bind(c.content_type())
            .push_bind(c.body.len() as i64)
            .push_bind(micros(c.received_at));
    });
    sql.push(
        ") AS v WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.id = v.column1) \
         RETURNING id, position",
    );
    sql
}

#[async_trait]
impl StoreBackend for SqliteStore {
    async fn create_path(&self, path: &PathInfo) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO paths (path_id, created_at, settings) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(path.path_id.as_str())
        .bind(micros(path.created_at))
        .bind(settings_json(path))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn get_path(&self, id: &PathId) -> Result<Option<PathInfo>, StoreError> {
        sqlx::query("SELECT path_id, created_at, settings FROM paths WHERE path_id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(path_info)
            .transpose()
    }

    async fn update_path(&self, path: &PathInfo) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE paths SET settings = ? WHERE path_id = ?")
            .bind(settings_json(path))
            .bind(path.path_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_paths(&self) -> Result<Vec<PathInfo>, StoreError> {
        sqlx::query("SELECT path_id, created_at, settings FROM paths ORDER BY created_at DESC")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(path_info)
            .collect()
    }

    async fn delete_path(&self, id: &PathId) -> Result<bool, StoreError> {
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
    }

    async fn insert_batch(&self, captures: &[Capture]) -> Result<Committed, StoreError> {
        let rows = super::new_rows(captures);
        if rows.is_empty() {
            return Ok(Committed::default());
        }
        // IMMEDIATE takes the write lock before the head is read, so no other
        // writer commits in between (positions in commit order), and waits
        // for it under the busy timeout; a deferred transaction would fail
        // with SQLITE_BUSY when it tried to upgrade instead. One multi-row
        // statement per chunk: every statement is a round trip to sqlx's
        // SQLite worker thread.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let prev: i64 = sqlx::query_scalar("SELECT last FROM capture_head")
            .fetch_one(&mut *tx)
            .await?;
        let mut inserted = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(INSERT_CHUNK) {
            let base = prev + inserted.len() as i64;
            for row in insert_rows(chunk, base).build().fetch_all(&mut *tx).await? {
                inserted.push((row.try_get("id")?, row.try_get("position")?));
            }
        }
        inserted.sort_by_key(|&(_, position): &(Uuid, i64)| position);
        sqlx::query("UPDATE capture_head SET last = ?")
            .bind(prev + inserted.len() as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Committed { prev, inserted })
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
        sqlx::query(&format!(
            "SELECT {FULL_COLUMNS} FROM captures WHERE path_id = ? AND id = ?"
        ))
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
    async fn save_replay_job(&self, job: &super::ReplayJobRecord) -> Result<String, StoreError> {
        super::replay_jobs::sqlite_save(&self.pool, job).await
    }

    async fn get_replay_job(&self, id: Uuid) -> Result<Option<super::ReplayJobRecord>, StoreError> {
        super::replay_jobs::sqlite_get(&self.pool, id).await
    }

    async fn finish_replay_job(&self, id: Uuid, to: &str) -> Result<Option<String>, StoreError> {
        super::replay_jobs::sqlite_finish(&self.pool, id, to).await
    }

    async fn interrupt_stale_replay_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        super::replay_jobs::sqlite_interrupt_stale(&self.pool, before).await
    }
}
