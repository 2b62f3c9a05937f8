//! What targets answered, one row per request a replay job made, for both
//! databases. Rows are keyed by (job, seq): `seq` is the request's place in
//! completion order, which is also the pagination key.

use sqlx::{PgPool, QueryBuilder, Row, SqlitePool};
use uuid::Uuid;

use super::StoreError;

/// One recorded answer (or the error that stood for it).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayResultRecord {
    pub job_id: Uuid,
    pub seq: i64,
    pub capture_id: Uuid,
    /// Absent when no answer came.
    pub status: Option<i32>,
    pub latency_ms: f64,
    pub error: Option<String>,
    /// The answer's headers, as the JSON `[name, value]` pairs of captures.
    pub headers: String,
    /// The first bytes of the answer's body (the caller bounds them).
    pub body: Vec<u8>,
    /// Whether the body was longer than what is kept.
    pub body_truncated: bool,
}

const COLUMNS: &str =
    "job_id, seq, capture_id, status, latency_ms, error, headers, body, body_truncated";

fn record<R: Row>(r: &R) -> Result<ReplayResultRecord, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> Uuid: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i32: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ReplayResultRecord {
        job_id: r.try_get("job_id")?,
        seq: r.try_get("seq")?,
        capture_id: r.try_get("capture_id")?,
        status: r.try_get("status")?,
        latency_ms: r.try_get("latency_ms")?,
        error: r.try_get("error")?,
        headers: r.try_get("headers")?,
        body: r.try_get("body")?,
        body_truncated: r.try_get("body_truncated")?,
    })
}

/// The two statements, written once and instantiated for each backend's
/// pool (the SQL and binds are the same; only the pool type differs, and
/// sqlx's generic executor bounds would cost more lines than they save).
macro_rules! statements {
    ($insert:ident, $list:ident, $pool:ty) => {
        /// Each call's rows in one statement; a row already stored is
        /// skipped. Callers send at most a few hundred rows at a time.
        pub(super) async fn $insert(
            pool: &$pool,
            rows: &[ReplayResultRecord],
        ) -> Result<(), StoreError> {
            if rows.is_empty() {
                return Ok(());
            }
            let mut sql = QueryBuilder::new(format!("INSERT INTO replay_results ({COLUMNS}) "));
            sql.push_values(rows, |mut b, r| {
                b.push_bind(r.job_id)
                    .push_bind(r.seq)
                    .push_bind(r.capture_id)
                    .push_bind(r.status)
                    .push_bind(r.latency_ms)
                    .push_bind(r.error.clone())
                    .push_bind(r.headers.clone())
                    .push_bind(r.body.clone())
                    .push_bind(r.body_truncated);
            });
            sql.push(" ON CONFLICT DO NOTHING");
            sql.build().execute(pool).await?;
            Ok(())
        }

        /// Rows of a job with `seq > after`, in seq order, at most `limit`.
        pub(super) async fn $list(
            pool: &$pool,
            job: Uuid,
            after: i64,
            limit: u32,
        ) -> Result<Vec<ReplayResultRecord>, StoreError> {
            let rows = QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM replay_results WHERE job_id = "
            ))
            .push_bind(job)
            .push(" AND seq > ")
            .push_bind(after)
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit))
            .build()
            .fetch_all(pool)
            .await?;
            rows.iter().map(record).collect()
        }
    };
}

statements!(sqlite_insert, sqlite_list, SqlitePool);
statements!(pg_insert, pg_list, PgPool);
