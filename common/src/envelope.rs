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

use crate::capture::{header_pairs, Capture, Header, HeaderOrder, HeaderValueJson};
use crate::path_id::PathId;

/// The version this code writes; readers refuse versions they do not know.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub v: u32,
    pub id: Uuid,
    pub path_id: PathId,
    pub method: String,
    pub subpath: String,
    pub query_string: String,
    pub headers: Vec<(String, HeaderValueJson)>,
    /// Absent means `grouped` (and writers before it existed).
    #[serde(default, skip_serializing_if = "HeaderOrder::is_grouped")]
    pub header_order: HeaderOrder,
    pub ip: String,
    pub received_at: DateTime<Utc>,
    pub body_size: u64,
    /// Set when the body is stored outside the message (see module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_ref: Option<BodyRef>,
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
    #[error("header value is not valid base64")]
    HeaderValue,
    #[error("body size {declared} does not match the {actual} bytes carried")]
    BodySize { declared: u64, actual: u64 },
}

/// A decoded message: the capture, whose body is empty while `body_ref` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub capture: Capture,
    pub body_ref: Option<BodyRef>,
}

pub fn meta_of(capture: &Capture, body_ref: Option<BodyRef>) -> Meta {
    Meta {
        v: VERSION,
        id: capture.id,
        path_id: capture.path_id.clone(),
        method: capture.method.clone(),
        subpath: capture.subpath.clone(),
        query_string: capture.query_string.clone(),
        headers: header_pairs(&capture.headers),
        header_order: capture.header_order,
        ip: capture.ip.clone(),
        received_at: capture.received_at,
        body_size: capture.body.len() as u64,
        body_ref,
    }
}

/// Encodes a capture with its body inline.
pub fn encode(capture: &Capture) -> Bytes {
    encode_parts(&meta_of(capture, None), &capture.body)
}

/// Encodes a capture whose body was stored out of band at `body_ref`.
pub fn encode_with_ref(capture: &Capture, body_ref: BodyRef) -> Bytes {
    encode_parts(&meta_of(capture, Some(body_ref)), &[])
}

fn encode_parts(meta: &Meta, body: &[u8]) -> Bytes {
    let meta = serde_json::to_vec(meta).expect("meta serializes");
    let mut out = BytesMut::with_capacity(meta.len() + 1 + body.len());
    out.put_slice(&meta);
    out.put_u8(b'\n');
    out.put_slice(body);
    out.freeze()
}

pub fn decode(payload: &Bytes) -> Result<Envelope, DecodeError> {
    let split = payload
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(DecodeError::NoMetaLine)?;
    let meta: Meta = serde_json::from_slice(&payload[..split])?;
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
    let headers = meta
        .headers
        .into_iter()
        .map(|(name, value)| {
            let value = value.to_bytes().map_err(|_| DecodeError::HeaderValue)?;
            Ok(Header {
                name,
                value: Bytes::from(value),
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    Ok(Envelope {
        capture: Capture {
            id: meta.id,
            path_id: meta.path_id,
            method: meta.method,
            subpath: meta.subpath,
            query_string: meta.query_string,
            headers,
            header_order: meta.header_order,
            body,
            ip: meta.ip,
            received_at: meta.received_at,
            signature: None,
        },
        body_ref: meta.body_ref,
    })
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
        }
    }

    #[test]
    fn round_trips_binary_body_and_headers() {
        let c = sample(b"\x00\x01\n\xff binary\n");
        let env = decode(&encode(&c)).unwrap();
        assert_eq!(env.capture, c);
        assert!(env.body_ref.is_none());
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
        let env = decode(&encode_with_ref(&c, r.clone())).unwrap();
        assert_eq!(env.body_ref, Some(r));
        assert!(env.capture.body.is_empty());
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
        let mut meta = meta_of(&sample(b""), None);
        meta.v = 2;
        let payload = encode_parts(&meta, b"");
        assert!(matches!(decode(&payload), Err(DecodeError::Version(2))));
    }
}
