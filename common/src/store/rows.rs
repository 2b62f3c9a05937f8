//! Row <-> capture conversions shared by both SQL stores: headers are kept as
//! a JSON array of `[name, value]` pairs (a non-UTF-8 value as
//! `{"base64": ...}`), which both SQLite and Postgres store and search.

use bytes::Bytes;

use crate::capture::{Header, HeaderValueJson};
use crate::store::StoreError;

pub fn headers_to_json(headers: &[Header]) -> String {
    let pairs: Vec<(&str, HeaderValueJson)> = headers
        .iter()
        .map(|h| (h.name.as_str(), HeaderValueJson::from_bytes(&h.value)))
        .collect();
    serde_json::to_string(&pairs).expect("headers serialize")
}

pub fn headers_from_json(raw: &str) -> Result<Vec<Header>, StoreError> {
    let pairs: Vec<(String, HeaderValueJson)> =
        serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    pairs
        .into_iter()
        .map(|(name, value)| {
            let value = value
                .to_bytes()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(Header {
                name,
                value: Bytes::from(value),
            })
        })
        .collect()
}
