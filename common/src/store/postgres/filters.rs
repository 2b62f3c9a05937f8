//! The `WHERE` conditions of a log query, in Postgres.

use sqlx::{Postgres, QueryBuilder};

use super::super::{like_escape, LogQuery};

/// The indexed expression of migration 0002: the lower-cased first 64 KiB of
/// the body in `encode(..., 'escape')` form.
const BODY_TEXT: &str = "lower(encode(substring(body FROM 1 FOR 65536), 'escape'))";

/// Search text in the form `BODY_TEXT` has: backslash doubled, NUL and
/// non-ASCII bytes as `\ooo` octal escapes.
fn escape_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.to_lowercase().bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            0 | 0x80..=0xff => out.push_str(&format!("\\{b:03o}")),
            _ => out.push(b as char),
        }
    }
    out
}

/// `WHERE` conditions of a log query (after `path_id = $1`).
pub(super) fn push_filters(sql: &mut QueryBuilder<Postgres>, q: &LogQuery) {
    if let Some(before) = q.before {
        sql.push(" AND id < ").push_bind(before);
    }
    if let Some(method) = &q.method {
        sql.push(" AND method = ").push_bind(method.clone());
    }
    if let Some(since) = q.since {
        sql.push(" AND received_at >= ").push_bind(since);
    }
    if let Some(until) = q.until {
        sql.push(" AND received_at < ").push_bind(until);
    }
    if let Some(verdict) = q.signature {
        sql.push(" AND signature = ").push_bind(verdict.as_str());
    }
    match &q.header {
        Some((name, Some(value))) => {
            // Containment, served by the jsonb_path_ops index.
            sql.push(" AND headers @> jsonb_build_array(jsonb_build_array(")
                .push_bind(name.clone())
                .push("::text, ")
                .push_bind(value.clone())
                .push("::text))");
        }
        Some((name, None)) => {
            sql.push(" AND EXISTS (SELECT 1 FROM jsonb_array_elements(headers) h WHERE h->>0 = ")
                .push_bind(name.clone())
                .push(")");
        }
        None => {}
    }
    if let Some(text) = &q.text {
        sql.push(format!(" AND {BODY_TEXT} LIKE "))
            .push_bind(format!("%{}%", like_escape(&escape_encoded(text))))
            .push(" ESCAPE '\\'");
    }
}
