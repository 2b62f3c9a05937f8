//! What targets answered a job's requests, as stored and as
//! `GET /api/replays/{job_id}/results` lists them.

use common::capture::{header_pairs, BodyEncoding, HeaderValueJson};
use common::store::ReplayResultRecord;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::send::Outcome;

/// The row for the `seq`-th outcome of a job.
pub fn row(job_id: Uuid, seq: i64, outcome: &Outcome) -> ReplayResultRecord {
    let (headers, body, body_truncated) = match &outcome.answer {
        Some(a) => {
            let pairs =
                serde_json::to_string(&header_pairs(&a.headers)).expect("headers serialize");
            (pairs, a.body.to_vec(), a.body_truncated)
        }
        None => ("[]".to_owned(), Vec::new(), false),
    };
    ReplayResultRecord {
        job_id,
        seq,
        capture_id: outcome.capture_id,
        status: outcome.status.map(i32::from),
        latency_ms: outcome.latency_ms,
        error: outcome.error.clone(),
        headers,
        body,
        body_truncated,
    }
}

/// One request of a job and what the target answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResult {
    /// Its place in completion order (the pagination key).
    pub seq: i64,
    pub capture_id: Uuid,
    /// Absent when no answer came.
    pub status: Option<u16>,
    /// From sending the request to the answer's head.
    pub latency_ms: f64,
    pub error: Option<String>,
    /// The answer's headers, `[name, value]` pairs.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub headers: Vec<(String, HeaderValueJson)>,
    /// The first 64 KiB of the answer's body, when UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The same, base64, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    pub body_encoding: BodyEncoding,
    /// The body was longer than what was kept.
    pub body_truncated: bool,
}

impl ReplayResult {
    pub fn from_record(r: ReplayResultRecord) -> Self {
        let headers = serde_json::from_str(&r.headers).unwrap_or_default();
        let (body, body_base64, body_encoding) = BodyEncoding::split(&r.body);
        Self {
            seq: r.seq,
            capture_id: r.capture_id,
            status: r.status.and_then(|s| u16::try_from(s).ok()),
            latency_ms: r.latency_ms,
            error: r.error,
            headers,
            body,
            body_base64,
            body_encoding,
            body_truncated: r.body_truncated,
        }
    }
}
