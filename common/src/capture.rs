//! The capture: one HTTP request exactly as a sender made it.
//!
//! Everything that must survive byte for byte lives here (method, subpath, raw
//! query string, ordered headers with raw values, raw body). Derived fields
//! (user agent, content type, decoded query pairs) are computed from those, so
//! there is a single source of truth.

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::path_id::PathId;
use crate::signing::Verdict;

/// One header as received: the name (in the case sent when the capture's
/// `header_order` is `wire`, lower-cased otherwise) and the raw value bytes,
/// which need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Bytes,
}

/// A captured request. `id` is a UUIDv7 assigned at ingest: time-ordered, so it
/// doubles as the pagination key, the SSE event id and the JetStream dedup id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub id: Uuid,
    pub path_id: PathId,
    pub method: String,
    pub subpath: String,
    pub query_string: String,
    pub headers: Vec<Header>,
    pub header_order: HeaderOrder,
    pub body: Bytes,
    pub ip: String,
    pub received_at: DateTime<Utc>,
    /// The signature verdict, when the path has a signing profile. Set by
    /// the writer just before the capture is stored (where the secret is);
    /// never on the stream.
    pub signature: Option<Verdict>,
    /// What ingest answered, when the path has response rules.
    pub response: Option<SentResponse>,
}

/// The answer a sender got, recorded with the capture when its path has
/// response rules: which rule gave it (none: the path's custom response or
/// the default) and what was sent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SentResponse {
    /// Index of the rule in the path's list; absent when no rule matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    pub status: u16,
    /// `[name, value]` pairs, as sent.
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    /// The body as sent (at most 64 KiB: what a rule may answer).
    pub body: String,
    #[serde(default)]
    pub delay_ms: u64,
    /// Why a template could not render (the sender then got a 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How far `headers` are as on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeaderOrder {
    /// The header lines in the order sent, names in the case sent.
    Wire,
    /// Grouped by name in first-seen order, names lower-cased (HTTP/2, a
    /// connection the wire recorder could not follow, older captures).
    #[default]
    Grouped,
}

impl HeaderOrder {
    pub fn is_grouped(&self) -> bool {
        *self == Self::Grouped
    }
}

impl Capture {
    /// A small POST with no headers and an empty body: what templates are
    /// tried on when they are configured.
    pub fn sample() -> Self {
        Self {
            id: Uuid::now_v7(),
            path_id: PathId::parse("sample").expect("a valid id"),
            method: "POST".into(),
            subpath: String::new(),
            query_string: String::new(),
            headers: Vec::new(),
            header_order: HeaderOrder::Grouped,
            body: Bytes::new(),
            ip: "127.0.0.1".into(),
            received_at: Utc::now(),
            signature: None,
            response: None,
        }
    }

    /// The first value of a header, as UTF-8 (lossy), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(&h.value).into_owned())
    }

    pub fn user_agent(&self) -> Option<String> {
        self.header("user-agent")
    }

    pub fn content_type(&self) -> Option<String> {
        self.header("content-type")
    }

    pub fn summary(&self) -> CaptureSummary {
        CaptureSummary {
            id: self.id,
            path_id: self.path_id.clone(),
            method: self.method.clone(),
            subpath: self.subpath.clone(),
            query_string: self.query_string.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent(),
            content_type: self.content_type(),
            body_size: self.body.len() as u64,
            received_at: self.received_at,
            signature: self.signature,
            answer_status: self.response.as_ref().map(|r| r.status),
            answer_rule: self.response.as_ref().and_then(|r| r.rule),
        }
    }

    /// The JSON view of the whole capture served by the detail endpoint.
    pub fn detail(&self) -> CaptureDetail {
        let (body, body_base64, body_encoding) = BodyEncoding::split(&self.body);
        CaptureDetail {
            summary: self.summary(),
            query_params: parse_query(&self.query_string),
            headers: header_pairs(&self.headers),
            header_order: self.header_order,
            body,
            body_base64,
            body_encoding,
            response: self.response.clone(),
        }
    }
}

/// Decodes a raw query string into ordered `(name, value)` pairs, duplicates
/// kept. Never fails: bytes that are not valid UTF-8 after percent-decoding
/// are replaced, and the raw string stays available beside the pairs.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// What a list of captures shows: no headers, no body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaptureSummary {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub path_id: PathId,
    /// Any HTTP method token, extension methods included.
    pub method: String,
    /// What followed `/webhook/{path_id}`, e.g. `/github/push`; may be empty.
    pub subpath: String,
    /// Raw query string exactly as received, without the `?`.
    pub query_string: String,
    pub ip: String,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub body_size: u64,
    pub received_at: DateTime<Utc>,
    /// `valid`, `invalid`, `stale` or `missing` when the path had a signing
    /// profile as the capture arrived; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Verdict>,
    /// The status the sender was answered, when the path has response
    /// rules (the detail's `response` has the whole answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_status: Option<u16>,
    /// The rule that answered (its index); absent when none matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_rule: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    Utf8,
    Base64,
}

impl BodyEncoding {
    /// Bytes as the JSON views carry them: `(text, base64, encoding)`, the
    /// text when they are UTF-8, otherwise base64.
    pub fn split(bytes: &[u8]) -> (Option<String>, Option<String>, Self) {
        match std::str::from_utf8(bytes) {
            Ok(text) => (Some(text.to_owned()), None, Self::Utf8),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                Self::Base64,
            ),
        }
    }
}

/// Headers as the JSON views and the stream format carry them: ordered
/// `[name, value]` pairs.
pub fn header_pairs(headers: &[Header]) -> Vec<(String, HeaderValueJson)> {
    headers
        .iter()
        .map(|h| (h.name.clone(), HeaderValueJson::from_bytes(&h.value)))
        .collect()
}

/// Headers in JSON as `[name, value]` pairs, a value being a string when it
/// is UTF-8 and `{"base64": ...}` otherwise: written and read here, straight
/// from and into [`Header`]s, for the stream format and the store's columns
/// (the JSON views build [`header_pairs`], which masking edits).
pub mod header_json {
    use bytes::Bytes;
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    use super::{Header, HeaderValueJson};

    /// Names as they are (`#[serde(serialize_with)]`).
    pub fn serialize<S: Serializer>(headers: &[Header], s: S) -> Result<S::Ok, S::Error> {
        write(headers, false, s)
    }

    /// Names lower-cased, as the store's `headers` column keeps them (its
    /// header search matches names exactly).
    pub fn to_string_lowercase(headers: &[Header]) -> String {
        let mut out = Vec::with_capacity(64 * headers.len());
        write(headers, true, &mut serde_json::Serializer::new(&mut out))
            .expect("headers serialize");
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    fn write<S: Serializer>(headers: &[Header], lowercase: bool, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(headers.len()))?;
        for h in headers {
            let lower;
            let name = if lowercase && h.name.bytes().any(|b| b.is_ascii_uppercase()) {
                lower = h.name.to_ascii_lowercase();
                lower.as_str()
            } else {
                h.name.as_str()
            };
            match std::str::from_utf8(&h.value) {
                Ok(text) => seq.serialize_element(&(name, text))?,
                Err(_) => seq.serialize_element(&(name, HeaderValueJson::from_bytes(&h.value)))?,
            }
        }
        seq.end()
    }

    /// `#[serde(deserialize_with)]`; a value that is not valid base64 is an
    /// error of the document.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Header>, D::Error> {
        Vec::<(String, HeaderValueJson)>::deserialize(d)?
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    HeaderValueJson::Text(text) => Bytes::from(text.into_bytes()),
                    binary => Bytes::from(binary.to_bytes().map_err(|_| {
                        serde::de::Error::custom("header value is not valid base64")
                    })?),
                };
                Ok(Header { name, value })
            })
            .collect()
    }

    pub fn from_str(raw: &str) -> Result<Vec<Header>, serde_json::Error> {
        deserialize(&mut serde_json::Deserializer::from_str(raw))
    }
}

/// A header value in JSON: a string when the bytes are UTF-8, otherwise
/// `{"base64": "..."}` so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum HeaderValueJson {
    Text(String),
    Binary { base64: String },
}

impl HeaderValueJson {
    pub fn from_bytes(value: &[u8]) -> Self {
        match std::str::from_utf8(value) {
            Ok(text) => Self::Text(text.to_owned()),
            Err(_) => Self::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(value),
            },
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match self {
            Self::Text(text) => Ok(text.as_bytes().to_vec()),
            Self::Binary { base64 } => base64::engine::general_purpose::STANDARD.decode(base64),
        }
    }
}

/// The whole capture as the detail endpoint serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaptureDetail {
    #[serde(flatten)]
    pub summary: CaptureSummary,
    /// Decoded query parameters, in order, duplicates kept.
    #[schema(value_type = Vec<Vec<String>>)]
    pub query_params: Vec<(String, String)>,
    /// Headers in the order received, duplicates kept: when `header_order`
    /// is `wire`, exactly the header lines as sent (order across names and
    /// the names' case included).
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub headers: Vec<(String, HeaderValueJson)>,
    /// `wire`: `headers` are the lines as sent. `grouped`: grouped by name,
    /// names lower-cased (HTTP/2, or the head could not be read as sent).
    /// Absent on captures stored before this field existed.
    #[serde(default)]
    pub header_order: HeaderOrder,
    /// The body when it is valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body, base64-encoded, when it is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    pub body_encoding: BodyEncoding,
    /// What the sender was answered, when the path has response rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<SentResponse>,
}
