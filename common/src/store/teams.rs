//! Workspaces, API keys and the audit log, for both databases: the same
//! statements (built with `QueryBuilder`, so placeholders suit each), times
//! as microseconds since the epoch in both (migration 0009).

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::StoreError;
use crate::workspaces::{ApiKey, AuditEntry, Scope, Workspace, WorkspaceId};

pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(super) fn from_micros(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| StoreError::Corrupt(format!("time {v}")))
}

fn workspace_id(raw: String) -> Result<WorkspaceId, StoreError> {
    WorkspaceId::parse(&raw).map_err(StoreError::Corrupt)
}

/// A path's workspace's `webhooks_per_second`, from the quotas joined in.
pub(super) fn webhook_rate(quotas: Option<String>) -> Result<Option<u32>, StoreError> {
    let Some(raw) = quotas else {
        return Ok(None);
    };
    let q: crate::workspaces::Quotas =
        serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(q.webhooks_per_second)
}

const KEY_COLUMNS: &str =
    "id, workspace, name, prefix, hash, scope, created_at, expires_at, revoked_at, last_used_at";
const AUDIT_COLUMNS: &str = "id, workspace, at, actor, action, target, detail";

/// Rows to records; generic over the two databases' rows.
macro_rules! readers {
    ($row:ty) => {
        pub(super) fn workspace(r: &$row) -> Result<Workspace, StoreError> {
            let quotas: String = r.try_get("quotas")?;
            Ok(Workspace {
                id: workspace_id(r.try_get("id")?)?,
                created_at: from_micros(r.try_get("created_at")?)?,
                quotas: serde_json::from_str(&quotas)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                over_quota: r.try_get("over_quota")?,
            })
        }

        pub(super) fn key(r: &$row) -> Result<ApiKey, StoreError> {
            let scope: String = r.try_get("scope")?;
            let time = |name: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
                r.try_get::<Option<i64>, _>(name)?
                    .map(from_micros)
                    .transpose()
            };
            Ok(ApiKey {
                id: r.try_get("id")?,
                workspace: workspace_id(r.try_get("workspace")?)?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                hash: r.try_get("hash")?,
                scope: Scope::parse(&scope)
                    .ok_or_else(|| StoreError::Corrupt(format!("scope {scope:?}")))?,
                created_at: from_micros(r.try_get("created_at")?)?,
                expires_at: time("expires_at")?,
                revoked_at: time("revoked_at")?,
                last_used_at: time("last_used_at")?,
            })
        }

        pub(super) fn audit(r: &$row) -> Result<AuditEntry, StoreError> {
            let detail: String = r.try_get("detail")?;
            Ok(AuditEntry {
                id: r.try_get("id")?,
                workspace: workspace_id(r.try_get("workspace")?)?,
                at: from_micros(r.try_get("at")?)?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: serde_json::from_str(&detail)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        }
    };
}

/// The statements, instantiated per database (the SQL and binds are the
/// same; the pool and row types differ).
macro_rules! statements {
    ($name:ident, $pool:ty, $row:ty, $db:ty) => {
        pub(super) mod $name {
            use super::*;
            use sqlx::QueryBuilder;

            readers!($row);

            pub(in crate::store) async fn create_workspace(
                pool: &$pool,
                w: &Workspace,
            ) -> Result<(), StoreError> {
                let done = QueryBuilder::<$db>::new(
                    "INSERT INTO workspaces (id, created_at, quotas) VALUES (",
                )
                .push_bind(w.id.as_str().to_owned())
                .push(", ")
                .push_bind(micros(w.created_at))
                .push(", ")
                .push_bind(serde_json::to_string(&w.quotas).expect("quotas serialize"))
                .push(") ON CONFLICT DO NOTHING")
                .build()
                .execute(pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict);
                }
                Ok(())
            }

            pub(in crate::store) async fn get_workspace(
                pool: &$pool,
                id: &WorkspaceId,
            ) -> Result<Option<Workspace>, StoreError> {
                QueryBuilder::<$db>::new(
                    "SELECT id, created_at, quotas, over_quota FROM workspaces WHERE id = ",
                )
                .push_bind(id.as_str().to_owned())
                .build()
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(workspace)
                .transpose()
            }

            pub(in crate::store) async fn list_workspaces(
                pool: &$pool,
            ) -> Result<Vec<Workspace>, StoreError> {
                QueryBuilder::<$db>::new(
                    "SELECT id, created_at, quotas, over_quota FROM workspaces ORDER BY id",
                )
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(workspace)
                .collect()
            }

            pub(in crate::store) async fn update_workspace(
                pool: &$pool,
                w: &Workspace,
            ) -> Result<bool, StoreError> {
                let done = QueryBuilder::<$db>::new("UPDATE workspaces SET quotas = ")
                    .push_bind(serde_json::to_string(&w.quotas).expect("quotas serialize"))
                    .push(" WHERE id = ")
                    .push_bind(w.id.as_str().to_owned())
                    .build()
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            pub(in crate::store) async fn create_key(
                pool: &$pool,
                k: &ApiKey,
            ) -> Result<(), StoreError> {
                let mut sql = QueryBuilder::<$db>::new(format!(
                    "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ("
                ));
                let mut s = sql.separated(", ");
                s.push_bind(k.id)
                    .push_bind(k.workspace.as_str().to_owned())
                    .push_bind(k.name.clone())
                    .push_bind(k.prefix.clone())
                    .push_bind(k.hash.clone())
                    .push_bind(k.scope.as_str())
                    .push_bind(micros(k.created_at))
                    .push_bind(k.expires_at.map(micros))
                    .push_bind(k.revoked_at.map(micros))
                    .push_bind(k.last_used_at.map(micros));
                sql.push(") ON CONFLICT DO NOTHING");
                let done = sql.build().execute(pool).await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict);
                }
                Ok(())
            }

            pub(in crate::store) async fn key_by_hash(
                pool: &$pool,
                hash: &str,
            ) -> Result<Option<ApiKey>, StoreError> {
                QueryBuilder::<$db>::new(format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = "
                ))
                .push_bind(hash.to_owned())
                .build()
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(key)
                .transpose()
            }

            pub(in crate::store) async fn list_keys(
                pool: &$pool,
                ws: &WorkspaceId,
            ) -> Result<Vec<ApiKey>, StoreError> {
                QueryBuilder::<$db>::new(format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE workspace = "
                ))
                .push_bind(ws.as_str().to_owned())
                .push(" ORDER BY created_at, id")
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(key)
                .collect()
            }

            pub(in crate::store) async fn revoke_key(
                pool: &$pool,
                ws: &WorkspaceId,
                id: Uuid,
                at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let done = QueryBuilder::<$db>::new("UPDATE api_keys SET revoked_at = ")
                    .push_bind(micros(at))
                    .push(" WHERE revoked_at IS NULL AND workspace = ")
                    .push_bind(ws.as_str().to_owned())
                    .push(" AND id = ")
                    .push_bind(id)
                    .build()
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            pub(in crate::store) async fn touch_key(
                pool: &$pool,
                id: Uuid,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                QueryBuilder::<$db>::new("UPDATE api_keys SET last_used_at = ")
                    .push_bind(micros(at))
                    .push(" WHERE id = ")
                    .push_bind(id)
                    .build()
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn append_audit(
                pool: &$pool,
                e: &AuditEntry,
            ) -> Result<(), StoreError> {
                let mut sql = QueryBuilder::<$db>::new(format!(
                    "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ("
                ));
                let mut s = sql.separated(", ");
                s.push_bind(e.id)
                    .push_bind(e.workspace.as_str().to_owned())
                    .push_bind(micros(e.at))
                    .push_bind(e.actor.clone())
                    .push_bind(e.action.clone())
                    .push_bind(e.target.clone())
                    .push_bind(e.detail.to_string());
                sql.push(")");
                sql.build().execute(pool).await?;
                Ok(())
            }

            pub(in crate::store) async fn list_audit(
                pool: &$pool,
                ws: &WorkspaceId,
                before: Option<Uuid>,
                limit: u32,
            ) -> Result<Vec<AuditEntry>, StoreError> {
                let mut sql = QueryBuilder::<$db>::new(format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE workspace = "
                ));
                sql.push_bind(ws.as_str().to_owned());
                if let Some(before) = before {
                    sql.push(" AND id < ").push_bind(before);
                }
                sql.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                sql.build()
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(audit)
                    .collect()
            }

            pub(in crate::store) async fn workspace_usage(
                pool: &$pool,
            ) -> Result<Vec<(WorkspaceId, u64, u64)>, StoreError> {
                let rows = QueryBuilder::<$db>::new(
                    "SELECT p.workspace AS workspace, COUNT(c.id) AS n, \
                     CAST(COALESCE(SUM(c.body_size), 0) AS BIGINT) AS bytes \
                     FROM paths p JOIN captures c ON c.path_id = p.path_id GROUP BY p.workspace",
                )
                .build()
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            workspace_id(r.try_get("workspace")?)?,
                            r.try_get::<i64, _>("n")? as u64,
                            r.try_get::<i64, _>("bytes")? as u64,
                        ))
                    })
                    .collect()
            }

            pub(in crate::store) async fn set_over_quota(
                pool: &$pool,
                ws: &WorkspaceId,
                over: Option<&str>,
            ) -> Result<(), StoreError> {
                QueryBuilder::<$db>::new("UPDATE workspaces SET over_quota = ")
                    .push_bind(over.map(str::to_owned))
                    .push(" WHERE id = ")
                    .push_bind(ws.as_str().to_owned())
                    .build()
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn count_paths(
                pool: &$pool,
                ws: &WorkspaceId,
            ) -> Result<u64, StoreError> {
                let n: i64 =
                    QueryBuilder::<$db>::new("SELECT COUNT(*) AS n FROM paths WHERE workspace = ")
                        .push_bind(ws.as_str().to_owned())
                        .build()
                        .fetch_one(pool)
                        .await?
                        .try_get("n")?;
                Ok(n as u64)
            }
        }
    };
}

statements!(
    sqlite,
    sqlx::SqlitePool,
    sqlx::sqlite::SqliteRow,
    sqlx::Sqlite
);
statements!(pg, sqlx::PgPool, sqlx::postgres::PgRow, sqlx::Postgres);
