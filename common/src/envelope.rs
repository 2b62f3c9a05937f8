//! The stream format: how a capture travels on the bus (JetStream message
//! payload). Documented in docs/STREAM_FORMAT.md; other languages read it by
//! splitting the payload at the first `\n`.
//!
//! ```text
//! payload = meta-json "\n" body-bytes
//! ```
//!
//! `meta-json` is one line of compact JSON (JSON never needs a raw newline)
//! carrying `"v": 1` and every field but the body. The body follows raw, never
//! base64-inflated. When the body is too large for one message, it is stored
//! out of band and `meta.body_ref` names where (the payload body is then empty).

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::capture::{header_json, Capture, Header, HeaderOrder, SentResponse};
use crate::path_id::PathId;

/// The version this code writes; readers refuse versions they do not know.
pub const VERSION: u32 = 1;

/// The meta line as written: borrowed from the capture, so encoding copies
/// nothing but the bytes it writes.
#[derive(Serialize)]
struct MetaOut<'a> {
    v: u32,
    id: Uuid,
    path_id: &'a PathId,
    method: &'a str,
    subpath: &'a str,
    query_string: &'a str,
    #[serde(serialize_with = "header_json::serialize")]
    headers: &'a [Header],
    #[serde(skip_serializing_if = "HeaderOrder::is_grouped")]
    header_order: HeaderOrder,
    ip: &'a str,
    received_at: DateTime<Utc>,
    body_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_ref: Option<&'a BodyRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a SentResponse>,
}

/// The meta line as read: the capture's fields, moved into it as they are.
#[derive(Deserialize)]
struct MetaIn {
    v: u32,
    id: Uuid,
    path_id: PathId,
    method: String,
    subpath: String,
    query_string: String,
    #[serde(deserialize_with = "header_json::deserialize")]
    headers: Vec<Header>,
    /// Absent means `grouped` (and writers before it existed).
    #[serde(default)]
    header_order: HeaderOrder,
    ip: String,
    received_at: DateTime<Utc>,
    body_size: u64,
    #[serde(default)]
    body_ref: Option<BodyRef>,
    /// What ingest answered (paths with response rules).
    #[serde(default)]
    response: Option<SentResponse>,
}

/// Where an out-of-band body lives: a JetStream object store bucket and the
/// object's name (the capture id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyRef {
    pub bucket: String,
    pub object: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("payload has no meta line")]
    NoMetaLine,
    #[error("meta is not valid JSON for this format: {0}")]
    Meta(#[from] serde_json::Error),
    #[error("unsupported stream format version {0}")]
    Version(u32),
    #[error("body size {declared} does not match the {actual} bytes carried")]
    BodySize { declared: u64, actual: u64 },
}

/// Encodes a capture with its body inline.
pub fn encode(capture: &Capture) -> Bytes {
    encode_parts(capture, None, &capture.body)
}

/// Encodes a capture whose body was stored out of band at `body_ref`.
pub fn encode_with_ref(capture: &Capture, body_ref: &BodyRef) -> Bytes {
    encode_parts(capture, Some(body_ref), &[])
}

fn encode_parts(capture: &Capture, body_ref: Option<&BodyRef>, body: &[u8]) -> Bytes {
    let meta = MetaOut {
        v: VERSION,
        id: capture.id,
        path_id: &capture.path_id,
        method: &capture.method,
        subpath: &capture.subpath,
        query_string: &capture.query_string,
        headers: &capture.headers,
        header_order: capture.header_order,
        ip: &capture.ip,
        received_at: capture.received_at,
        body_size: capture.body.len() as u64,
        body_ref,
        response: capture.response.as_ref(),
    };
    let mut out = BytesMut::with_capacity(256 + 64 * capture.headers.len() + body.len());
    serde_json::to_writer((&mut out).writer(), &meta).expect("meta serializes");
    out.put_u8(b'\n');
    out.put_slice(body);
    out.freeze()
}

/// The capture a payload carries and, when its body is stored out of band,
/// where (the capture's body is then empty until the caller fetches it:
/// `bus::jetstream::read_capture`).
pub fn decode(payload: &Bytes) -> Result<(Capture, Option<BodyRef>), DecodeError> {
    let split = payload
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(DecodeError::NoMetaLine)?;
    let meta: MetaIn = serde_json::from_slice(&payload[..split])?;
    if meta.v != VERSION {
        return Err(DecodeError::Version(meta.v));
    }
    let body = payload.slice(split + 1..);
    if meta.body_ref.is_none() && meta.body_size != body.len() as u64 {
        return Err(DecodeError::BodySize {
            declared: meta.body_size,
            actual: body.len() as u64,
        });
    }
    let capture = Capture {
        id: meta.id,
        path_id: meta.path_id,
        method: meta.method,
        subpath: meta.subpath,
        query_string: meta.query_string,
        headers: meta.headers,
        header_order: meta.header_order,
        body,
        ip: meta.ip,
        received_at: meta.received_at,
        signature: None,
        response: meta.response,
    };
    Ok((capture, meta.body_ref))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(body: &'static [u8]) -> Capture {
        Capture {
            id: Uuid::now_v7(),
            path_id: PathId::parse("gh_hooks-1").unwrap(),
            method: "PROPFIND".into(),
            subpath: "/a/b".into(),
            query_string: "x=1&x=2&y=%ZZ".into(),
            headers: vec![
                Header {
                    name: "x-a".into(),
                    value: Bytes::from_static(b"1"),
                },
                Header {
                    name: "x-bin".into(),
                    value: Bytes::from_static(b"\xff\xfe\n"),
                },
                Header {
                    name: "x-a".into(),
                    value: Bytes::from_static(b"2"),
                },
            ],
            header_order: HeaderOrder::Grouped,
            body: Bytes::from_static(body),
            ip: "10.0.0.1".into(),
            received_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            signature: None,
            response: None,
        }
    }

    #[test]
    fn round_trips_binary_body_and_headers() {
        let c = sample(b"\x00\x01\n\xff binary\n");
        let (decoded, body_ref) = decode(&encode(&c)).unwrap();
        assert_eq!(decoded, c);
        assert!(body_ref.is_none());
    }

    #[test]
    fn headers_are_written_as_the_json_views_write_them() {
        let c = sample(b"");
        let payload = encode(&c);
        let meta: serde_json::Value =
            serde_json::from_slice(&payload[..payload.len() - 1]).unwrap();
        assert_eq!(
            meta["headers"],
            serde_json::json!([["x-a", "1"], ["x-bin", {"base64": "//4K"}], ["x-a", "2"]])
        );
        assert!(meta.get("header_order").is_none(), "grouped is the default");
    }

    #[test]
    fn the_answer_sent_travels_with_the_capture() {
        let mut c = sample(b"{}");
        c.response = Some(SentResponse {
            rule: Some(2),
            rule_name: Some("retry".into()),
            status: 500,
            headers: vec![("retry-after".into(), "1".into())],
            body: "try again".into(),
            delay_ms: 10,
            error: None,
        });
        let (decoded, _) = decode(&encode(&c)).unwrap();
        assert_eq!(decoded, c);
    }

    #[test]
    fn body_is_carried_raw_not_inflated() {
        let c = sample(b"0123456789");
        let payload = encode(&c);
        assert!(payload.ends_with(b"\n0123456789"));
    }

    #[test]
    fn out_of_band_body_keeps_its_reference() {
        let c = sample(b"big");
        let r = BodyRef {
            bucket: "B".into(),
            object: c.id.to_string(),
        };
        let (decoded, body_ref) = decode(&encode_with_ref(&c, &r)).unwrap();
        assert_eq!(body_ref, Some(r));
        assert!(decoded.body.is_empty());
    }

    #[test]
    fn refuses_unknown_versions_and_garbage() {
        assert!(matches!(
            decode(&Bytes::from_static(b"no newline")),
            Err(DecodeError::NoMetaLine)
        ));
        assert!(matches!(
            decode(&Bytes::from_static(b"{}\n")),
            Err(DecodeError::Meta(_))
        ));
        let v1 = encode(&sample(b""));
        let v2 = String::from_utf8(v1.to_vec())
            .unwrap()
            .replacen("{\"v\":1,", "{\"v\":2,", 1);
        assert!(matches!(
            decode(&Bytes::from(v2)),
            Err(DecodeError::Version(2))
        ));
    }
}
