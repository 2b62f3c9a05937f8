//! A path's routing document: response rules (how ingest answers, by what
//! the request says) and forward targets (where the query side re-sends
//! each capture, filtered and transformed). One JSON document per path,
//! validated as a whole (docs/RULES.md):
//!
//! ```json
//! {"rules": [{"name": "fail first", "sequence": {"first": 3},
//!             "response": {"status": 500}}],
//!  "targets": [{"name": "billing", "url": "http://127.0.0.1:9000",
//!               "when": {"json": {"pointer": "/type", "equals": "invoice.paid"}}}]}
//! ```
//!
//! Rules travel with the path in the registry, so ingest evaluates them
//! without a database round trip; their patterns and templates are
//! compiled when the document is read.

pub mod condition;
pub mod template;
pub mod transform;

use serde::{Deserialize, Serialize};

pub use condition::{Condition, JsonPointer, Subject};
pub use template::Template;
pub use transform::Transform;

use crate::paths::CustomResponse;

/// Most rules, and most targets, a path may have.
pub const MAX_RULES: usize = 100;
pub const MAX_TARGETS: usize = 20;
/// Largest document (as JSON): it travels in every registry message.
pub const MAX_DOCUMENT: usize = 512 << 10;
/// Bounds of a target's retries.
pub const MAX_ATTEMPTS: u32 = 10;
pub const MAX_BACKOFF_MS: u64 = 60_000;

/// The document `GET` / `PUT /api/paths/{path_id}/routing` exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// Evaluated in order; the first that matches answers.
    #[serde(default)]
    pub rules: Vec<ResponseRule>,
    /// Every capture is sent to each target whose filter it matches.
    #[serde(default)]
    pub targets: Vec<ForwardTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseRule {
    /// Shown with each capture it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Absent: every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Only the Nth requests (of the path, or of those this rule's `when`
    /// matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Sequence>,
    pub response: CustomResponse,
}

/// Which requests, by arrival number (1 for the first), a rule takes:
/// `first: 3` is `from: 1, to: 3`; `from: 4` alone is the fourth onwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    /// What is counted: `rule` (default), requests that reached this rule
    /// and matched its `when`; `path`, every request to the path.
    #[serde(default)]
    pub count: Counted,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    #[default]
    Rule,
    Path,
}

impl Sequence {
    pub fn contains(&self, n: u64) -> bool {
        let (from, to) = match self.first {
            Some(first) => (1, Some(first)),
            None => (self.from.unwrap_or(1), self.to),
        };
        n >= from && to.is_none_or(|to| n <= to)
    }
}

/// One forward target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardTarget {
    /// `^[A-Za-z0-9_-]{1,64}$`, unique within the path; names its attempts.
    pub name: String,
    /// A base URL; the capture's subpath and query are appended, as for
    /// replays. Must be allowed by the replay allowlist.
    pub url: String,
    /// Absent: every capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Applied to what is sent, never to the stored capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<Transform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Tries per capture, 1..=10 (default 5).
    #[serde(default = "Retry::default_attempts")]
    pub max_attempts: u32,
    /// First pause between tries, doubled each time up to 30 s (default 500).
    #[serde(default = "Retry::default_backoff")]
    pub backoff_ms: u64,
}

impl Retry {
    fn default_attempts() -> u32 {
        5
    }

    fn default_backoff() -> u64 {
        500
    }
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_attempts: Self::default_attempts(),
            backoff_ms: Self::default_backoff(),
        }
    }
}

/// What is wrong, and where: `field` is a path into the document
/// (`rules[2].when.header.regex`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

impl RuleError {
    pub fn new(field: impl Into<String>, message: &str) -> Self {
        Self {
            field: field.into(),
            message: message.to_owned(),
        }
    }
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl Routing {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.targets.is_empty()
    }

    /// Reads a document, naming the field at fault when it does not parse
    /// (an invalid regex, pointer or template is refused here).
    pub fn from_value(raw: &serde_json::Value) -> Result<Self, RuleError> {
        serde_path_to_error::deserialize(raw).map_err(|e| {
            let field = e.path().to_string();
            RuleError::new(
                if field == "." {
                    "document".into()
                } else {
                    field
                },
                &e.into_inner().to_string(),
            )
        })
    }

    /// Everything serde cannot check; the first problem found.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.rules.len() > MAX_RULES {
            return Err(RuleError::new(
                "rules",
                &format!("at most {MAX_RULES} rules per path"),
            ));
        }
        if self.targets.len() > MAX_TARGETS {
            return Err(RuleError::new(
                "targets",
                &format!("at most {MAX_TARGETS} targets per path"),
            ));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            rule.validate(&format!("rules[{i}]"))?;
        }
        for (i, target) in self.targets.iter().enumerate() {
            let at = format!("targets[{i}]");
            target.validate(&at)?;
            if self.targets[..i].iter().any(|t| t.name == target.name) {
                return Err(RuleError::new(
                    format!("{at}.name"),
                    &format!("{:?} names an earlier target too", target.name),
                ));
            }
        }
        let size = serde_json::to_vec(self).map_or(0, |v| v.len());
        if size > MAX_DOCUMENT {
            return Err(RuleError::new(
                "document",
                &format!("the document is {size} bytes; at most {MAX_DOCUMENT}"),
            ));
        }
        Ok(())
    }

    /// Whether any rule counts every request to the path.
    pub fn counts_path(&self) -> bool {
        self.rules.iter().any(|r| {
            r.sequence
                .as_ref()
                .is_some_and(|s| s.count == Counted::Path)
        })
    }
}

impl ResponseRule {
    fn validate(&self, at: &str) -> Result<(), RuleError> {
        if let Some(name) = &self.name {
            if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
                return Err(RuleError::new(
                    format!("{at}.name"),
                    "a rule name is 1 to 100 characters, none of them control characters",
                ));
            }
        }
        if let Some(when) = &self.when {
            when.validate(&format!("{at}.when"))?;
        }
        if let Some(seq) = &self.sequence {
            let at = format!("{at}.sequence");
            if seq.first.is_some() && (seq.from.is_some() || seq.to.is_some()) {
                return Err(RuleError::new(at, "give either first or from/to"));
            }
            if seq.first == Some(0) || seq.from == Some(0) || seq.to == Some(0) {
                return Err(RuleError::new(at, "requests are counted from 1"));
            }
            if let (Some(from), Some(to)) = (seq.from, seq.to) {
                if to < from {
                    return Err(RuleError::new(format!("{at}.to"), "must not be below from"));
                }
            }
        }
        self.response.validate().map_err(|m| {
            RuleError::new(format!("{at}.response"), m.trim_start_matches("response."))
        })
    }
}

impl ForwardTarget {
    fn validate(&self, at: &str) -> Result<(), RuleError> {
        if crate::PathId::parse(&self.name).is_err() {
            return Err(RuleError::new(
                format!("{at}.name"),
                "a target name matches ^[A-Za-z0-9_-]{1,64}$",
            ));
        }
        if let Some(when) = &self.when {
            when.validate(&format!("{at}.when"))?;
        }
        if let Some(t) = &self.transform {
            t.validate(&format!("{at}.transform"))?;
        }
        if let Some(r) = &self.retry {
            if !(1..=MAX_ATTEMPTS).contains(&r.max_attempts) {
                return Err(RuleError::new(
                    format!("{at}.retry.max_attempts"),
                    &format!("must be between 1 and {MAX_ATTEMPTS}"),
                ));
            }
            if !(1..=MAX_BACKOFF_MS).contains(&r.backoff_ms) {
                return Err(RuleError::new(
                    format!("{at}.retry.backoff_ms"),
                    &format!("must be between 1 and {MAX_BACKOFF_MS}"),
                ));
            }
        }
        Ok(())
    }
}

/// Which rule answers a request: the index of the first that matches, or
/// `None`. `count(key)` returns the next arrival number for a counter
/// (exact across ingest processes: the bus keeps it); it is asked only for
/// the counters the decision needs, in rule order, so the same requests
/// in the same order always take the same rules.
pub async fn choose<F, Fut, E>(
    routing: &Routing,
    subject: &Subject<'_>,
    mut count: F,
) -> Result<Option<usize>, E>
where
    F: FnMut(Counter) -> Fut,
    Fut: std::future::Future<Output = Result<u64, E>>,
{
    let path_n = if routing.counts_path() {
        Some(count(Counter::Path).await?)
    } else {
        None
    };
    for (i, rule) in routing.rules.iter().enumerate() {
        if !rule.when.as_ref().is_none_or(|c| c.matches(subject)) {
            continue;
        }
        if let Some(seq) = &rule.sequence {
            let n = match (seq.count, path_n) {
                (Counted::Path, Some(n)) => n,
                _ => count(Counter::Rule(i)).await?,
            };
            if !seq.contains(n) {
                continue;
            }
        }
        return Ok(Some(i));
    }
    Ok(None)
}

/// A sequence counter of a path's current rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Path,
    Rule(usize),
}

impl Counter {
    /// The counter's key, unique to the rules' revision: a changed document
    /// starts every count again at 1.
    pub fn key(&self, path: &crate::PathId, revision: &str) -> String {
        match self {
            Self::Path => format!("{path}.{revision}.path"),
            Self::Rule(i) => format!("{path}.{revision}.rule{i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: serde_json::Value) -> Result<Routing, RuleError> {
        let d = Routing::from_value(&json)?;
        d.validate()?;
        Ok(d)
    }

    #[test]
    fn errors_name_the_rule_and_the_field() {
        let cases = [
            (
                serde_json::json!({"rules": [{"response": {"status": 200}}, {"when": {"header": {"name": "x", "regex": "("}}, "response": {"status": 200}}]}),
                "rules[1].when.header.regex",
            ),
            (
                serde_json::json!({"rules": [{"response": {"status": 700}}]}),
                "rules[0].response",
            ),
            (
                serde_json::json!({"rules": [{"response": {"status": 200, "delay_ms": 30001}}]}),
                "rules[0].response",
            ),
            (
                serde_json::json!({"rules": [{"when": {"json": {"pointer": "x"}}, "response": {"status": 200}}]}),
                "rules[0].when.json.pointer",
            ),
            (
                serde_json::json!({"rules": [{"response": {"status": 200, "body_template": "{{ x "}}]}),
                "rules[0].response.body_template",
            ),
            (
                serde_json::json!({"targets": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]}),
                "targets[1].name",
            ),
            (
                serde_json::json!({"rules": [{"sequence": {"first": 0}, "response": {"status": 200}}]}),
                "rules[0].sequence",
            ),
        ];
        for (json, field) in cases {
            let e = doc(json.clone()).unwrap_err();
            assert_eq!(e.field, field, "{json}: {e}");
        }
        let many: Vec<_> = (0..101)
            .map(|_| serde_json::json!({"response": {"status": 200}}))
            .collect();
        assert_eq!(
            doc(serde_json::json!({"rules": many})).unwrap_err().field,
            "rules"
        );
    }

    #[test]
    fn sequences_take_their_range() {
        let first: Sequence = serde_json::from_str(r#"{"first": 3}"#).unwrap();
        assert_eq!(
            (1..=5).map(|n| first.contains(n)).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
        let after: Sequence = serde_json::from_str(r#"{"from": 4}"#).unwrap();
        assert!(!after.contains(3) && after.contains(4) && after.contains(1000));
    }

    #[tokio::test]
    async fn first_match_wins_and_counters_are_asked_only_when_needed() {
        let d = doc(serde_json::json!({"rules": [
            {"when": {"method": "GET"}, "response": {"status": 405}},
            {"sequence": {"first": 2}, "response": {"status": 500}},
            {"response": {"status": 201}},
        ]}))
        .unwrap();
        let mut c = crate::Capture::sample();
        let mut n = 0;
        let mut asked = Vec::new();
        let mut answers = Vec::new();
        for method in ["GET", "POST", "POST", "POST"] {
            c.method = method.into();
            let s = Subject::new(&c);
            let hit = choose(&d, &s, |counter| {
                asked.push(counter);
                n += 1;
                let v = n;
                async move { Ok::<_, ()>(v) }
            })
            .await
            .unwrap();
            answers.push(hit);
        }
        assert_eq!(answers, [Some(0), Some(1), Some(1), Some(2)]);
        assert_eq!(asked, [Counter::Rule(1); 3]);
    }

    #[tokio::test]
    async fn a_path_count_counts_every_request_once() {
        let d = doc(serde_json::json!({"rules": [
            {"when": {"method": "GET"}, "response": {"status": 405}},
            {"sequence": {"count": "path", "from": 3}, "response": {"status": 503}},
        ]}))
        .unwrap();
        let mut c = crate::Capture::sample();
        let mut n = 0;
        let mut answers = Vec::new();
        for method in ["GET", "POST", "POST", "POST"] {
            c.method = method.into();
            let s = Subject::new(&c);
            let hit = choose(&d, &s, |counter| {
                assert_eq!(counter, Counter::Path);
                n += 1;
                let v = n;
                async move { Ok::<_, ()>(v) }
            })
            .await
            .unwrap();
            answers.push(hit);
        }
        // The GET is the first request of the path, so the second POST is
        // the third: from then on, 503.
        assert_eq!(answers, [Some(0), None, Some(1), Some(1)]);
        assert_eq!(n, 4);
    }
}
