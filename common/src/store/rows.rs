//! Row <-> capture conversions shared by both SQL stores: headers are kept as
//! a JSON array of `[name, value]` pairs (a non-UTF-8 value as
//! `{"base64": ...}`), which both SQLite and Postgres store and search.
//! Names are stored lower-cased (header search matches them exactly); the
//! names as sent go beside them in `header_names` (see migration 0007).

use crate::capture::{header_json, Capture, Header, HeaderOrder, SentResponse};
use crate::store::StoreError;

pub fn headers_to_json(headers: &[Header]) -> String {
    header_json::to_string_lowercase(headers)
}

/// The `header_names` column: the names as sent, when they are.
pub fn header_names_json(c: &Capture) -> Option<String> {
    (c.header_order == HeaderOrder::Wire).then(|| {
        let names: Vec<&str> = c.headers.iter().map(|h| h.name.as_str()).collect();
        serde_json::to_string(&names).expect("names serialize")
    })
}

/// The `response` column: what ingest answered, when it was recorded.
pub fn response_json(c: &Capture) -> Option<String> {
    c.response
        .as_ref()
        .map(|r| serde_json::to_string(r).expect("a response serializes"))
}

pub fn response_from(raw: Option<String>) -> Result<Option<SentResponse>, StoreError> {
    raw.map(|r| serde_json::from_str(&r).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// A summary's answer status or rule, read out of the `response` JSON by
/// the query (an integer column, NULL when there is none).
pub fn answer_column<T: TryFrom<i64>>(raw: Option<i64>) -> Result<Option<T>, StoreError> {
    raw.map(|v| T::try_from(v).map_err(|_| StoreError::Corrupt(format!("answer field {v}"))))
        .transpose()
}

/// Headers and their order from the two columns.
pub fn headers_from_columns(
    raw: &str,
    names: Option<&str>,
) -> Result<(Vec<Header>, HeaderOrder), StoreError> {
    let mut headers = headers_from_json(raw)?;
    let Some(names) = names else {
        return Ok((headers, HeaderOrder::Grouped));
    };
    let names: Vec<String> =
        serde_json::from_str(names).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if names.len() != headers.len() {
        return Err(StoreError::Corrupt(
            "header_names does not match headers".into(),
        ));
    }
    for (h, name) in headers.iter_mut().zip(names) {
        h.name = name;
    }
    Ok((headers, HeaderOrder::Wire))
}

fn headers_from_json(raw: &str) -> Result<Vec<Header>, StoreError> {
    header_json::from_str(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A `path_id` column's value, refused when it is not a path id.
pub(super) fn path_id(raw: String) -> Result<crate::path_id::PathId, super::StoreError> {
    crate::path_id::PathId::try_from(raw).map_err(|e| super::StoreError::Corrupt(e.to_string()))
}
