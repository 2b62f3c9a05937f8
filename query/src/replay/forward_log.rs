//! The record of forwarding attempts (`GET /api/paths/{path_id}/forwards`):
//! in memory, the newest [`KEEP`] per path and target (each target of a
//! path keeps its own log, so a busy one cannot push out a quiet one's),
//! each with what the target
//! answered (status, headers, the first 64 KiB of the body, time to answer).
//! Answer bodies are bounded across all paths by [`BODY_BUDGET`]: past it,
//! the oldest attempts keep their status and headers but lose their body.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use common::capture::{header_pairs, BodyEncoding, HeaderValueJson};
use common::PathId;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::send::Answer;

/// Attempts remembered per path and target.
pub const KEEP: usize = 200;
/// Answer body bytes kept in memory across all paths.
const BODY_BUDGET: usize = 32 << 20;

/// One delivery attempt of one capture.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attempt {
    pub capture_id: Uuid,
    /// 1 for the first try.
    pub attempt: u32,
    /// The URL the capture was sent to.
    pub target: String,
    /// The target's name (`targets[].name`); absent for the path's
    /// `forward_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// The target's status; absent when it did not answer.
    pub status: Option<u16>,
    pub latency_ms: f64,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
    /// What the target answered; absent when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerView>,
}

/// A target's answer as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerView {
    /// `[name, value]` pairs.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub headers: Vec<(String, HeaderValueJson)>,
    /// The first 64 KiB of the body, when UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The same, base64, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    pub body_encoding: BodyEncoding,
    /// The body was longer than what was kept.
    pub body_truncated: bool,
    /// The body was dropped from memory to keep within the budget shared
    /// by all paths (newer answers keep theirs).
    pub body_dropped: bool,
}

impl AnswerView {
    pub fn of(a: &Answer) -> Self {
        let (body, body_base64, body_encoding) = BodyEncoding::split(&a.body);
        Self {
            headers: header_pairs(&a.headers),
            body,
            body_base64,
            body_encoding,
            body_truncated: a.body_truncated,
            body_dropped: false,
        }
    }

    fn body_len(&self) -> usize {
        self.body.as_ref().map_or(0, String::len) + self.body_base64.as_ref().map_or(0, String::len)
    }

    fn drop_body(&mut self) {
        self.body = None;
        self.body_base64 = None;
        self.body_dropped = true;
    }
}

#[derive(Debug, Default)]
pub struct Forwards {
    log: Mutex<Log>,
}

/// A path and one of its targets (`""`: its `forward_url`).
type LogKey = (PathId, String);

#[derive(Debug, Default)]
struct Log {
    by_target: HashMap<LogKey, VecDeque<(u64, Attempt)>>,
    /// Attempts still holding a body, oldest first: (log, sequence).
    with_body: VecDeque<(LogKey, u64)>,
    body_bytes: usize,
    /// Attempts held, all paths.
    held: usize,
    next: u64,
}

impl Forwards {
    pub(super) fn record(&self, path: &PathId, attempt: Attempt) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let log = &mut *log;
        let seq = log.next;
        log.next += 1;
        let bytes = attempt.answer.as_ref().map_or(0, AnswerView::body_len);
        let key = (
            path.clone(),
            attempt.target_name.clone().unwrap_or_default(),
        );
        let entries = log.by_target.entry(key.clone()).or_default();
        if entries.len() == KEEP {
            if let Some((_, old)) = entries.pop_back() {
                log.body_bytes -= old.answer.as_ref().map_or(0, AnswerView::body_len);
                log.held -= 1;
            }
        }
        entries.push_front((seq, attempt));
        log.held += 1;
        if bytes > 0 {
            log.body_bytes += bytes;
            log.with_body.push_back((key, seq));
        }
        // Entries of attempts gone with KEEP: forgotten once they are most.
        if log.with_body.len() > 2 * log.held {
            let by_target = &log.by_target;
            log.with_body.retain(|(k, s)| {
                by_target
                    .get(k)
                    .is_some_and(|e| e.iter().any(|(seq, a)| seq == s && a.answer.is_some()))
            });
        }
        while log.body_bytes > BODY_BUDGET {
            let Some((key, seq)) = log.with_body.pop_front() else {
                break;
            };
            let found = log
                .by_target
                .get_mut(&key)
                .and_then(|e| e.iter_mut().find(|(s, _)| *s == seq))
                .and_then(|(_, a)| a.answer.as_mut());
            if let Some(answer) = found {
                log.body_bytes -= answer.body_len();
                answer.drop_body();
            }
        }
    }

    /// Newest first: of one target (`""`: the `forward_url`), or of all
    /// the path's.
    pub fn of(&self, path: &PathId, target: Option<&str>) -> Vec<Attempt> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<&(u64, Attempt)> = log
            .by_target
            .iter()
            .filter(|((p, t), _)| p == path && target.is_none_or(|want| want == t))
            .flat_map(|(_, e)| e.iter())
            .collect();
        all.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        all.into_iter().map(|(_, a)| a.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(body: usize) -> Attempt {
        Attempt {
            capture_id: Uuid::now_v7(),
            attempt: 1,
            target: "http://t".into(),
            target_name: None,
            status: Some(200),
            latency_ms: 1.0,
            error: None,
            at: Utc::now(),
            answer: Some(AnswerView::of(&Answer {
                headers: Vec::new(),
                body: bytes::Bytes::from(vec![b'a'; body]),
                body_truncated: false,
            })),
        }
    }

    #[test]
    fn answer_bodies_stay_within_the_budget_oldest_dropped_first() {
        let log = Forwards::default();
        let body = 64 << 10;
        let paths: Vec<PathId> = (0..8)
            .map(|i| PathId::parse(&format!("p{i}")).unwrap())
            .collect();
        // Three times the budget, over eight paths (under KEEP each).
        for n in 0..(3 * BODY_BUDGET / body) {
            log.record(&paths[n % 8], attempt(body));
        }
        let held: usize = log.log.lock().unwrap().body_bytes;
        assert!(held <= BODY_BUDGET, "{held} bytes held");
        for path in &paths {
            let attempts = log.of(path, None);
            let newest = attempts.first().unwrap().answer.as_ref().unwrap();
            let oldest = attempts.last().unwrap().answer.as_ref().unwrap();
            assert!(!newest.body_dropped && newest.body.is_some());
            assert!(oldest.body_dropped && oldest.body.is_none());
        }
    }

    #[test]
    fn each_path_keeps_its_newest_attempts() {
        let log = Forwards::default();
        let path = PathId::parse("p").unwrap();
        for _ in 0..KEEP + 5 {
            log.record(&path, attempt(10));
        }
        assert_eq!(log.of(&path, None).len(), KEEP);
        assert_eq!(log.log.lock().unwrap().body_bytes, KEEP * 10);
    }
}
