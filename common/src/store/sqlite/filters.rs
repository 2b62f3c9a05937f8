//! The `WHERE` conditions of a log query, in SQLite.

use sqlx::{QueryBuilder, Sqlite};

use super::super::{like_escape, LogQuery, BODY_SEARCH_BYTES};
use super::micros;

/// `WHERE` conditions of a log query (after `path_id = ?`).
pub(super) fn push_filters(sql: &mut QueryBuilder<Sqlite>, q: &LogQuery) {
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
    if let Some(verdict) = q.signature {
        sql.push(" AND signature = ").push_bind(verdict.as_str());
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
