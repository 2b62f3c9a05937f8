//! The match language shared by response rules and forward filters: a tree
//! of conditions over a request (method, subpath glob, query parameter,
//! header, JSON body field), combined with `all` / `any` / `not`.
//!
//! Patterns are compiled when the condition is deserialized (the API, the
//! registry, the store), so evaluating a webhook never compiles anything
//! and an invalid pattern can never reach ingest.

use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::capture::{parse_query, Capture};

/// Most nested conditions in one tree (`all`, `any`, `not` included).
pub const MAX_CONDITIONS: usize = 64;
/// Compiled size a regex may take; far beyond any sane header pattern,
/// small enough that a hostile one cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 256 << 10;

/// One condition; a JSON object with exactly one key naming its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every condition holds (an empty list always holds).
    All(Vec<Condition>),
    /// At least one holds (an empty list never holds).
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// The method is this one, or one of these (case-insensitive).
    Method(Methods),
    /// The subpath (what follows `/webhook/{path_id}`, raw, `""` when none)
    /// matches a glob: `*` within a segment, `**` across segments, `?`, `[..]`.
    Subpath(Glob),
    /// A query parameter (decoded); any of its values may match.
    Query(FieldMatch),
    /// A header (name case-insensitive); any of its values may match.
    Header(FieldMatch),
    /// A field of the JSON body, by JSON Pointer (RFC 6901).
    Json(JsonMatch),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Methods {
    One(String),
    Many(Vec<String>),
}

/// A named value (header, query parameter): present or absent, equal to a
/// string, or matching a regex. Only `name`: it is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    pub name: String,
    #[serde(default, alias = "present", skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<Regex>,
}

/// A JSON body field: it exists (or not), equals a JSON value, or (as text:
/// a string itself, anything else its JSON) matches a regex. Only
/// `pointer`: it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonMatch {
    pub pointer: JsonPointer,
    #[serde(default, alias = "present", skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<Regex>,
}

/// What a condition is judged against: the capture, with its body parsed
/// as JSON at most once, and only if some condition asks.
pub struct Subject<'a> {
    pub capture: &'a Capture,
    json: OnceLock<Option<Value>>,
}

impl<'a> Subject<'a> {
    pub fn new(capture: &'a Capture) -> Self {
        Self {
            capture,
            json: OnceLock::new(),
        }
    }

    /// The body as JSON, `None` when it is not JSON.
    pub fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(&self.capture.body).ok())
            .as_ref()
    }
}

impl Condition {
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        match self {
            Self::All(list) => list.iter().all(|c| c.matches(s)),
            Self::Any(list) => list.iter().any(|c| c.matches(s)),
            Self::Not(c) => !c.matches(s),
            Self::Method(m) => m.contains(&s.capture.method),
            Self::Subpath(glob) => glob.matches(&s.capture.subpath),
            Self::Query(f) => f.judge(
                parse_query(&s.capture.query_string)
                    .into_iter()
                    .filter(|(k, _)| *k == f.name)
                    .map(|(_, v)| v),
            ),
            Self::Header(f) => f.judge(
                s.capture
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case(&f.name))
                    .map(|h| String::from_utf8_lossy(&h.value).into_owned()),
            ),
            Self::Json(j) => j.judge(s.json().and_then(|v| v.pointer(j.pointer.as_str()))),
        }
    }

    /// Checks what serde cannot: counts, names and contradictions. The
    /// error names the field under `at` (`rules[2].when.all[0].header`).
    pub fn validate(&self, at: &str) -> Result<(), super::RuleError> {
        let mut budget = MAX_CONDITIONS;
        self.check(at, &mut budget)
    }

    /// [`Self::validate`], spending one of `budget` per condition.
    fn check(&self, at: &str, budget: &mut usize) -> Result<(), super::RuleError> {
        let err = |field: String, m: &str| Err(super::RuleError::new(field, m));
        if *budget == 0 {
            return err(
                at.to_owned(),
                &format!("a condition tree may hold at most {MAX_CONDITIONS} conditions"),
            );
        }
        *budget -= 1;
        match self {
            Self::All(list) | Self::Any(list) => {
                let kind = if matches!(self, Self::All(_)) {
                    "all"
                } else {
                    "any"
                };
                for (i, c) in list.iter().enumerate() {
                    c.check(&format!("{at}.{kind}[{i}]"), budget)?;
                }
                Ok(())
            }
            Self::Not(c) => c.check(&format!("{at}.not"), budget),
            Self::Method(m) => {
                let list = m.as_slice();
                if list.is_empty() {
                    return err(format!("{at}.method"), "name at least one method");
                }
                for name in list {
                    if http::Method::from_bytes(name.as_bytes()).is_err() {
                        return err(format!("{at}.method"), &format!("{name:?} is not a method"));
                    }
                }
                Ok(())
            }
            Self::Subpath(_) => Ok(()),
            Self::Query(f) => f.validate(&format!("{at}.query"), false),
            Self::Header(f) => f.validate(&format!("{at}.header"), true),
            Self::Json(j) => {
                let at = format!("{at}.json");
                let given = [j.exists.is_some(), j.equals.is_some(), j.regex.is_some()];
                if given.iter().filter(|g| **g).count() > 1 {
                    return err(at, "give at most one of exists, equals, regex");
                }
                Ok(())
            }
        }
    }
}

impl Methods {
    fn as_slice(&self) -> &[String] {
        match self {
            Self::One(m) => std::slice::from_ref(m),
            Self::Many(list) => list,
        }
    }

    fn contains(&self, method: &str) -> bool {
        self.as_slice()
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
    }
}

impl FieldMatch {
    fn judge(&self, mut values: impl Iterator<Item = String>) -> bool {
        if let Some(want) = &self.equals {
            return values.any(|v| v == *want);
        }
        if let Some(re) = &self.regex {
            return values.any(|v| re.is_match(&v));
        }
        let present = values.next().is_some();
        present == self.exists.unwrap_or(true)
    }

    fn validate(&self, at: &str, header: bool) -> Result<(), super::RuleError> {
        if header && http::HeaderName::from_bytes(self.name.as_bytes()).is_err() {
            return Err(super::RuleError::new(
                format!("{at}.name"),
                &format!("{:?} is not a header name", self.name),
            ));
        }
        if self.name.is_empty() {
            return Err(super::RuleError::new(
                format!("{at}.name"),
                "must not be empty",
            ));
        }
        let given = [
            self.exists.is_some(),
            self.equals.is_some(),
            self.regex.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(super::RuleError::new(
                at.to_owned(),
                "give at most one of exists, equals, regex",
            ));
        }
        Ok(())
    }
}

impl JsonMatch {
    fn judge(&self, value: Option<&Value>) -> bool {
        match (value, &self.equals, &self.regex) {
            (Some(v), Some(want), _) => v == want,
            (Some(Value::String(s)), None, Some(re)) => re.is_match(s),
            (Some(v), None, Some(re)) => re.is_match(&v.to_string()),
            (None, Some(_), _) | (None, None, Some(_)) => false,
            (v, None, None) => v.is_some() == self.exists.unwrap_or(true),
        }
    }
}

/// A regex, compiled once when read; compared and written as its source.
#[derive(Debug, Clone)]
pub struct Regex(regex::Regex);

impl Regex {
    pub fn new(source: &str) -> Result<Self, String> {
        regex::RegexBuilder::new(source)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Self)
            .map_err(|e| format!("invalid regex: {e}"))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Regex {}

impl Serialize for Regex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Regex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        Self::new(&source).map_err(serde::de::Error::custom)
    }
}

/// A subpath glob, compiled once when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(glob::Pattern);

impl Glob {
    pub fn matches(&self, subpath: &str) -> bool {
        const OPTIONS: glob::MatchOptions = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.0.matches_with(subpath, OPTIONS)
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        glob::Pattern::new(&source)
            .map(Self)
            .map_err(|e| serde::de::Error::custom(format!("invalid glob: {e}")))
    }
}

/// An RFC 6901 JSON Pointer: `""` (the whole document) or `/`-separated
/// tokens, with `~0` for `~` and `~1` for `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct JsonPointer(String);

impl JsonPointer {
    pub fn new(source: &str) -> Result<Self, String> {
        if !(source.is_empty() || source.starts_with('/')) {
            return Err(format!(
                "invalid JSON Pointer {source:?}: it must be empty or start with '/'"
            ));
        }
        let mut chars = source.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "invalid JSON Pointer {source:?}: '~' must be followed by 0 or 1"
                ));
            }
        }
        Ok(Self(source.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The unescaped tokens.
    pub fn tokens(&self) -> impl Iterator<Item = String> + '_ {
        self.0
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
    }
}

impl<'de> Deserialize<'de> for JsonPointer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        Self::new(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Header, HeaderOrder};
    use crate::PathId;
    use bytes::Bytes;

    fn capture(method: &str, subpath: &str, query: &str, body: &str) -> Capture {
        Capture {
            id: uuid::Uuid::now_v7(),
            path_id: PathId::parse("p").unwrap(),
            method: method.into(),
            subpath: subpath.into(),
            query_string: query.into(),
            headers: vec![Header {
                name: "X-Event".into(),
                value: Bytes::from_static(b"invoice.paid"),
            }],
            header_order: HeaderOrder::Wire,
            body: Bytes::copy_from_slice(body.as_bytes()),
            ip: "127.0.0.1".into(),
            received_at: chrono::Utc::now(),
            signature: None,
            response: None,
        }
    }

    fn cond(json: serde_json::Value) -> Condition {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn each_kind_matches_and_misses() {
        let c = capture(
            "POST",
            "/events/github",
            "a=1&a=2&b=x%20y",
            r#"{"type":"push","n":3}"#,
        );
        let s = Subject::new(&c);
        let yes = [
            serde_json::json!({"method": "post"}),
            serde_json::json!({"method": ["PUT", "POST"]}),
            serde_json::json!({"subpath": "/events/*"}),
            serde_json::json!({"subpath": "/**"}),
            serde_json::json!({"query": {"name": "a", "equals": "2"}}),
            serde_json::json!({"query": {"name": "b", "regex": "^x y$"}}),
            serde_json::json!({"query": {"name": "zzz", "exists": false}}),
            serde_json::json!({"header": {"name": "x-event"}}),
            serde_json::json!({"header": {"name": "X-EVENT", "equals": "invoice.paid"}}),
            serde_json::json!({"header": {"name": "x-event", "regex": "^invoice\\."}}),
            serde_json::json!({"header": {"name": "x-signature", "present": false}}),
            serde_json::json!({"json": {"pointer": "/type", "equals": "push"}}),
            serde_json::json!({"json": {"pointer": "/n", "equals": 3}}),
            serde_json::json!({"json": {"pointer": "/n", "regex": "^3$"}}),
            serde_json::json!({"json": {"pointer": "/type"}}),
            serde_json::json!({"json": {"pointer": "/missing", "exists": false}}),
            serde_json::json!({"all": [{"method": "POST"}, {"json": {"pointer": "/type"}}]}),
            serde_json::json!({"any": [{"method": "GET"}, {"subpath": "/events/github"}]}),
            serde_json::json!({"not": {"method": "GET"}}),
            serde_json::json!({"all": []}),
        ];
        for j in yes {
            assert!(cond(j.clone()).matches(&s), "{j} should match");
        }
        let no = [
            serde_json::json!({"method": "GET"}),
            serde_json::json!({"subpath": "/*"}),
            serde_json::json!({"query": {"name": "a", "equals": "3"}}),
            serde_json::json!({"header": {"name": "x-signature"}}),
            serde_json::json!({"json": {"pointer": "/type", "equals": "pull"}}),
            serde_json::json!({"json": {"pointer": "/n", "equals": "3"}}),
            serde_json::json!({"any": []}),
            serde_json::json!({"all": [{"method": "POST"}, {"method": "GET"}]}),
        ];
        for j in no {
            assert!(!cond(j.clone()).matches(&s), "{j} should not match");
        }
    }

    #[test]
    fn a_body_that_is_not_json_has_no_fields() {
        let c = capture("POST", "", "", "not json");
        let s = Subject::new(&c);
        assert!(!cond(serde_json::json!({"json": {"pointer": "/a"}})).matches(&s));
        assert!(cond(serde_json::json!({"json": {"pointer": "/a", "exists": false}})).matches(&s));
    }

    #[test]
    fn bad_patterns_are_refused_when_read() {
        for bad in [
            serde_json::json!({"header": {"name": "x", "regex": "("}}),
            serde_json::json!({"json": {"pointer": "a/b"}}),
            serde_json::json!({"json": {"pointer": "/a~2"}}),
            serde_json::json!({"subpath": "/a/**b"}),
            serde_json::json!({"method": "POST", "subpath": "/x"}),
            serde_json::json!({"header": {"name": "x", "unknown": 1}}),
        ] {
            assert!(
                serde_json::from_value::<Condition>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn pointer_tokens_unescape() {
        let p = JsonPointer::new("/a~1b/c~0d").unwrap();
        assert_eq!(p.tokens().collect::<Vec<_>>(), ["a/b", "c~d"]);
    }
}
