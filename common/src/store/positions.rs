//! Positions in commit order (issue 15): `insert_batch` of both stores. See
//! `Committed` for the promise; here is how each database keeps it.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::rows::{header_names_json, headers_to_json, response_json};
use super::{Committed, StoreError};
use crate::capture::Capture;

/// The advisory lock key every `insert_batch` holds until it commits (any
/// constant; advisory locks are per database).
const COMMIT_LOCK: i64 = 0x434c_5f50_4f53; // "CL_POS"

/// Rows per INSERT statement: 15 parameters each, well under SQLite's
/// limit of 32,766 bound parameters per statement.
const INSERT_CHUNK: usize = 2048;

/// Postgres: one transaction holding `COMMIT_LOCK`; the rows, the head and
/// its bump in one statement.
pub(super) async fn pg_insert_batch(
    pool: &PgPool,
    captures: &[Capture],
) -> Result<Committed, StoreError> {
    let rows = super::new_rows(captures);
    if rows.is_empty() {
        return Ok(Committed::default());
    }
    let n = rows.len();
    let mut ids = Vec::with_capacity(n);
    let mut paths = Vec::with_capacity(n);
    let mut methods = Vec::with_capacity(n);
    let mut subpaths = Vec::with_capacity(n);
    let mut queries = Vec::with_capacity(n);
    let mut headers = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let mut ips = Vec::with_capacity(n);
    let mut agents = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut sizes = Vec::with_capacity(n);
    let mut times: Vec<DateTime<Utc>> = Vec::with_capacity(n);
    let mut verdicts = Vec::with_capacity(n);
    let mut responses = Vec::with_capacity(n);
    for c in rows {
        ids.push(c.id);
        paths.push(c.path_id.as_str());
        methods.push(c.method.as_str());
        subpaths.push(c.subpath.as_str());
        queries.push(c.query_string.as_str());
        headers.push(headers_to_json(&c.headers));
        names.push(header_names_json(c));
        bodies.push(c.body.as_ref());
        ips.push(c.ip.as_str());
        agents.push(c.user_agent());
        types.push(c.content_type());
        sizes.push(c.body.len() as i64);
        times.push(c.received_at);
        verdicts.push(c.signature.map(|v| v.as_str()));
        responses.push(response_json(c));
    }
    let mut conn = super::pool::acquire(pool).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Serialises batch commits until this transaction ends, so positions
    // are handed out in commit order. It must be its own statement: under
    // READ COMMITTED the next statement's snapshot is taken after the lock
    // is held, so it sees the previous holder's rows and head.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(COMMIT_LOCK)
        .execute(&mut *tx)
        .await?;
    // Under the lock nobody else inserts captures, so `NOT EXISTS` is
    // exact: a redelivered capture gets no position (and no hole), and
    // the new rows get head+1.. in id order. One round trip.
    let done = sqlx::query(
        "WITH head AS (SELECT last FROM capture_head), \
         fresh AS ( \
           SELECT t.* FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], \
               $5::text[], $6::text[], $7::bytea[], $8::text[], $9::text[], $10::text[], \
               $11::int8[], $12::timestamptz[], $13::text[], $14::text[], $15::text[]) \
             AS t(id, path_id, method, subpath, query_string, headers, body, ip, \
               user_agent, content_type, body_size, received_at, header_names, signature, \
               response) \
           WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.id = t.id)), \
         ins AS ( \
           INSERT INTO captures (id, path_id, method, subpath, query_string, headers, body, \
               ip, user_agent, content_type, body_size, received_at, header_names, signature, \
               response, position) \
           SELECT id, path_id, method, subpath, query_string, headers::jsonb, body, ip, \
               user_agent, content_type, body_size, received_at, header_names, signature, \
               response, \
               (SELECT last FROM head) + row_number() OVER (ORDER BY id) \
           FROM fresh \
           RETURNING id, position), \
         bump AS (UPDATE capture_head SET last = last + (SELECT count(*) FROM ins)) \
         SELECT head.last AS prev, ins.id, ins.position \
         FROM head LEFT JOIN ins ON TRUE ORDER BY ins.position",
    )
    .bind(ids)
    .bind(paths)
    .bind(methods)
    .bind(subpaths)
    .bind(queries)
    .bind(headers)
    .bind(bodies)
    .bind(ips)
    .bind(agents)
    .bind(types)
    .bind(sizes)
    .bind(times)
    .bind(names)
    .bind(verdicts)
    .bind(responses)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut committed = Committed::default();
    for row in &done {
        committed.prev = row.try_get("prev")?;
        let id: Option<Uuid> = row.try_get("id")?;
        let position: Option<i64> = row.try_get("position")?;
        if let (Some(id), Some(position)) = (id, position) {
            committed.inserted.push((id, position));
        }
    }
    Ok(committed)
}

/// One `INSERT` of the `rows` (at most [`INSERT_CHUNK`], sorted by id) that
/// are not stored yet, at positions `base + 1..` in id order; returns each
/// inserted row's id and position. Only inside the write transaction of
/// `insert_batch`: with no other writer, `NOT EXISTS` is exact, so a
/// redelivered capture gets no position and positions have no holes.
fn insert_rows(rows: &[&Capture]) -> QueryBuilder<Sqlite> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "INSERT INTO captures (id, path_id, method, subpath, query_string, headers, body, \
         ip, user_agent, content_type, body_size, received_at, header_names, signature, \
         response, position) \
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
         v.column8, v.column9, v.column10, v.column11, v.column12, v.column13, v.column14, \
         v.column15, ",
    );
    // The head is read inside the statement; the `captures_advance_head`
    // trigger moves it as each row goes in. SQLite materialises the SELECT
    // first (it reads the table it inserts into), so every row's position
    // is computed from the head as it was when the statement began.
    sql.push("(SELECT last FROM capture_head) + row_number() OVER (ORDER BY v.column1) FROM (");
    sql.push_values(rows.iter().copied(), |mut row, c| {
        row.push_bind(c.id)
            .push_bind(c.path_id.as_str())
            .push_bind(c.method.as_str())
            .push_bind(c.subpath.as_str())
            .push_bind(c.query_string.as_str())
            .push_bind(headers_to_json(&c.headers))
            // sqlx 0.9's SQLite arguments own their values: this copies the
            // body once (it was borrowed under 0.8). `Bytes` shared with the
            // caller cannot be moved into the `Vec` the argument needs.
            .push_bind(c.body.as_ref())
            .push_bind(c.ip.as_str())
            .push_bind(c.user_agent())
            .push_bind(c.content_type())
            .push_bind(c.body.len() as i64)
            .push_bind(c.received_at.timestamp_micros())
            .push_bind(header_names_json(c))
            .push_bind(c.signature.map(|v| v.as_str()))
            .push_bind(response_json(c));
    });
    sql.push(
        ") AS v WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.id = v.column1) \
         RETURNING id, position",
    );
    sql
}

/// SQLite: one statement when the batch fits in one (every batch the
/// writers make): atomic on its own, with the head read and advanced inside
/// it, so positions are in commit order with no transaction around it (one
/// round trip to sqlx's SQLite worker thread, as before positions). Larger
/// batches take one immediate transaction, so their positions stay
/// contiguous: a feed must never see part of a batch before another
/// writer's rows that sit inside it.
pub(super) async fn sqlite_insert_batch(
    pool: &SqlitePool,
    captures: &[Capture],
) -> Result<Committed, StoreError> {
    let rows = super::new_rows(captures);
    if rows.is_empty() {
        return Ok(Committed::default());
    }
    let mut inserted: Vec<(Uuid, i64)> = Vec::with_capacity(rows.len());
    let mut conn = super::pool::acquire(pool).await?;
    if rows.len() <= INSERT_CHUNK {
        for row in insert_rows(&rows).build().fetch_all(&mut *conn).await? {
            inserted.push((row.try_get("id")?, row.try_get("position")?));
        }
    } else {
        // IMMEDIATE takes the write lock at once and waits for it under the
        // busy timeout; a deferred transaction would fail with SQLITE_BUSY
        // when it tried to upgrade instead.
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            for row in insert_rows(chunk).build().fetch_all(&mut *tx).await? {
                inserted.push((row.try_get("id")?, row.try_get("position")?));
            }
        }
        tx.commit().await?;
    }
    inserted.sort_by_key(|&(_, position)| position);
    // Positions of one statement (or transaction) are contiguous; a batch
    // of redeliveries only (rare) reads the head, as Postgres reports it.
    let prev = match inserted.first() {
        Some(&(_, first)) => first - 1,
        None => {
            // On the connection held: the writer's pool has only this one.
            sqlx::query_scalar("SELECT last FROM capture_head")
                .fetch_one(&mut *conn)
                .await?
        }
    };
    Ok(Committed { prev, inserted })
}
